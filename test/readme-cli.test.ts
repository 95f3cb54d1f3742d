/**
 * The README's CLI reference and configuration tables against the code:
 * every command has a section, every flag a section names exists on that
 * command, every flag a command has is named in its section, and the
 * environment variables the code reads are exactly those in the
 * configuration tables.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../cli/main.ts';

const root = join(import.meta.dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** `### \`neurox <name>\`` sections of the CLI reference, by command name. */
const sections = new Map<string, string>();
{
  const reference = readme.slice(readme.indexOf('## CLI reference'), readme.indexOf('\n## ', readme.indexOf('## CLI reference') + 1));
  const parts = reference.split(/\n### `neurox ([a-z-]+)`\n/);
  for (let i = 1; i < parts.length; i += 2) sections.set(parts[i]!, parts[i + 1]!);
}

function leaves(cmd: Command, path: string[] = []): Array<{ path: string[]; cmd: Command }> {
  if (cmd.commands.length === 0) return [{ path, cmd }];
  return cmd.commands.flatMap((c) => leaves(c, [...path, c.name()]));
}
const commands = leaves(buildProgram());

/** Flags a section mentions that belong to another command, each with the reason. */
const CROSS_REFERENCES: Record<string, string[]> = {
  extract: ['--tokens'], // top-words' flag that reads the tokens file
  'top-words': ['--tokens-out'], // extract's flag that writes the tokens file
};
/** Commands whose section names the shared analysis flags by reference to analyze's table. */
const ANALYSIS_FLAGS_OF_ANALYZE = new Set(['submit', 'schedule']);

function helpFlags(cmd: Command): string[] {
  return cmd.options.filter((o) => !o.hidden && o.long !== undefined).map((o) => o.long!);
}

describe('README CLI reference', () => {
  it('has a section for every command', () => {
    const names = new Set(commands.map((c) => c.path[0]!));
    expect(names.size).toBeGreaterThanOrEqual(11);
    for (const name of names) expect(sections.has(name), `no section ### \`neurox ${name}\``).toBe(true);
  });

  it.each(commands.map((c) => [c.path.join(' '), c] as const))('names only flags that `neurox %s` has, and all of them', (_name, { path, cmd }) => {
    const section = sections.get(path[0]!)!;
    const named = new Set(section.match(/--[a-z][a-z0-9-]*/g) ?? []);
    const all = new Set(commands.filter((c) => c.path[0] === path[0]).flatMap((c) => c.cmd.options.map((o) => o.long!)));
    for (const flag of named) {
      if (flag === '--help' || CROSS_REFERENCES[path[0]!]?.includes(flag)) continue;
      expect(all.has(flag), `README section neurox ${path[0]} names ${flag}, which no neurox ${path[0]} command has`).toBe(true);
    }
    const documented = ANALYSIS_FLAGS_OF_ANALYZE.has(path[0]!) ? `${section}\n${sections.get('analyze')!}` : section;
    for (const flag of helpFlags(cmd)) expect(documented.includes(flag), `neurox ${path.join(' ')} ${flag} is not in its README section`).toBe(true);
  });

  it('gives the defaults the CLI has, where its table names them', () => {
    const checked: string[] = [];
    for (const { path, cmd } of commands) {
      for (const o of cmd.options) {
        if (typeof o.defaultValue !== 'string' || !o.long) continue;
        // a row names one or more flags; its default may be "as <command>" (that command's row)
        const cellOf = (name: string): string | undefined => {
          const row = sections.get(name)?.split('\n').find((l) => l.startsWith('| `') && l.slice(2).split(' | ')[0]!.split(', ').some((f) => f.startsWith(`\`${o.long}`)));
          const cell = row?.split(' | ')[1]!.replace(/`/g, '');
          const other = cell ? /^as ([a-z-]+)$/.exec(cell)?.[1] : undefined;
          return other ? cellOf(other) : cell;
        };
        const cell = cellOf(path[0]!);
        if (cell === undefined) continue;
        expect(cell === o.defaultValue || cell.startsWith(`${o.defaultValue} `), `neurox ${path.join(' ')} ${o.long}: README default '${cell}', CLI '${o.defaultValue}'`).toBe(true);
        checked.push(`${path.join(' ')} ${o.long}`);
      }
    }
    expect(checked.length, checked.join(", ")).toBeGreaterThanOrEqual(25);
  });
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|js)$/.test(name) ? [path] : [];
  });
}

describe('README configuration', () => {
  const read = new Set<string>();
  for (const file of ['workers', 'pipelines', 'cli', 'schemas', 'bin'].flatMap((d) => sourceFiles(join(root, d)))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\benv\??\.([A-Z][A-Z0-9_]{2,})/g)) read.add(m[1]!);
    for (const m of text.matchAll(/\(env, '([A-Z][A-Z0-9_]{2,})'/g)) read.add(m[1]!);
  }
  const configuration = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
  const tabled = new Map<string, string>();
  for (const row of configuration.split('\n').filter((l) => l.startsWith('| `'))) {
    const [name, defaultCell] = row.slice(2).split(' | ');
    for (const m of name!.matchAll(/`([A-Z][A-Z0-9_]{2,})`/g)) tabled.set(m[1]!, defaultCell!.trim());
  }

  it('lists every variable the code reads, with a default', () => {
    expect(read.size).toBeGreaterThan(15);
    for (const v of read) {
      expect(tabled.has(v), `${v} is read by the code but not in the README configuration tables`).toBe(true);
      expect(tabled.get(v), `${v} has no default in its row`).not.toBe('');
    }
  });

  it('lists no variable the code does not read', () => {
    for (const v of tabled.keys()) expect(read.has(v), `${v} is in the README configuration tables but no code reads it`).toBe(true);
  });
});
