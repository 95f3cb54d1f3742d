/**
 * Compiled entry points (workers/runner/compiled.ts): a TypeScript module
 * graph bundled once into JavaScript, reused while its sources are
 * unchanged, rebuilt when one changes; each module keeps its own
 * import.meta; dynamic imports stay lazy; an unusable cache folder is an
 * error the caller can fall back from. And the Node options the threads and
 * children start with, without the TypeScript loader.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BUNDLE, freshBundle } from '../bin/bundles.mjs';
import { compiledEntry, defaultCacheDir, withoutTypeScriptLoader, type Compiled } from '../workers/runner/compiled.ts';
import { STAGE_THREAD_BUNDLE, threadEntry } from '../workers/runner/threads.ts';
import { sandboxEntry } from '../workers/runner/workers.ts';

let dir: string;
let src: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'neurox-compiled-'));
  src = join(dir, 'src');
  mkdirSync(join(src, 'deep'), { recursive: true });
  writeFileSync(join(src, 'main.ts'), "import { where, label } from './deep/b.ts';\nexport { jsWhere } from './deep/d.mjs';\nexport const b = where;\nexport const text: string = label;\nexport const lazy = () => import('./c.ts');\n");
  writeFileSync(join(src, 'deep', 'b.ts'), "export const where = { url: import.meta.url, dirname: import.meta.dirname, filename: import.meta.filename };\nexport const label: string = 'one';\n");
  writeFileSync(join(src, 'deep', 'd.mjs'), 'export const jsWhere = import.meta.dirname;\n');
  writeFileSync(join(src, 'c.ts'), "(globalThis as Record<string, unknown>).neuroxLazyLoaded = true;\nexport const c = 3;\n");
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function url(c: Compiled): URL {
  if ('error' in c) throw new Error(c.error);
  return c.url;
}

describe('compiledEntry', () => {
  it('bundles a module graph, keeps each module its own import.meta, and leaves dynamic imports lazy', async () => {
    const cacheDir = join(dir, 'cache-a');
    const first = await compiledEntry(join(src, 'main.ts'), 'entry', { cacheDir });
    expect(first).toMatchObject({ built: true });
    expect(fileURLToPath(url(first)).startsWith(cacheDir)).toBe(true);
    const mod = (await import(url(first).href)) as { b: Record<string, string>; jsWhere: string; text: string; lazy: () => Promise<{ c: number }> };
    const b = join(src, 'deep', 'b.ts');
    expect(mod.b).toEqual({ url: pathToFileURL(b).href, dirname: join(src, 'deep'), filename: b });
    expect(mod.jsWhere).toBe(join(src, 'deep')); // a JavaScript module of the project's too
    expect(mod.text).toBe('one');
    expect((globalThis as Record<string, unknown>).neuroxLazyLoaded).toBeUndefined();
    expect((await mod.lazy()).c).toBe(3);
    expect((globalThis as Record<string, unknown>).neuroxLazyLoaded).toBe(true);

    // unchanged sources: the same bundle, not built again
    const again = await compiledEntry(join(src, 'main.ts'), 'entry', { cacheDir });
    expect(again).toEqual({ url: url(first), built: false });
  });

  it('builds again when a source changes, even at the same size', async () => {
    const cacheDir = join(dir, 'cache-b');
    const b = join(src, 'deep', 'b.ts');
    const before = await compiledEntry(join(src, 'main.ts'), 'entry', { cacheDir });
    writeFileSync(b, "export const where = { url: import.meta.url, dirname: import.meta.dirname, filename: import.meta.filename };\nexport const label: string = 'two';\n");
    utimesSync(b, new Date(), new Date(Date.now() + 5_000)); // a distinct mtime even on a coarse clock
    const after = await compiledEntry(join(src, 'main.ts'), 'entry', { cacheDir });
    expect(after).toMatchObject({ built: true });
    expect(url(after).href).not.toBe(url(before).href);
    expect(((await import(url(after).href)) as { text: string }).text).toBe('two');
    // the older bundle stays (a running process may still import from it) until it is a day old
    expect(readdirSync(cacheDir).filter((d) => d.startsWith('entry-'))).toHaveLength(2);
  });

  it('builds once when two callers race on an empty cache', async () => {
    const cacheDir = join(dir, 'cache-c');
    const [a, b] = await Promise.all([compiledEntry(join(src, 'main.ts'), 'entry', { cacheDir }), compiledEntry(join(src, 'main.ts'), 'entry', { cacheDir })]);
    expect(url(a).href).toBe(url(b).href);
    // no temporary folders left behind
    expect(readdirSync(cacheDir).filter((d) => d.startsWith('.'))).toEqual([]);
  });

  it('reports a cache folder it cannot use, naming it', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const cacheDir = join(file, 'cache');
    const c = await compiledEntry(join(src, 'main.ts'), 'entry', { cacheDir });
    expect('error' in c && c.error).toContain(cacheDir);
  });

  it('reports a module that does not compile, naming the entry', async () => {
    writeFileSync(join(src, 'broken.ts'), 'export const = ;\n');
    const c = await compiledEntry(join(src, 'broken.ts'), 'broken', { cacheDir: join(dir, 'cache-d') });
    expect('error' in c && c.error).toContain('broken.ts');
  });
});

describe('the project entry points', () => {
  it('start the stage threads and the queue workers\' children from bundles in the project\'s cache, without tsx', async () => {
    for (const entry of [await threadEntry(), await sandboxEntry()]) {
      expect(fileURLToPath(entry.url).startsWith(defaultCacheDir())).toBe(true);
      expect(entry.execArgv.join(' ')).not.toMatch(/tsx/);
    }
  });
});

describe('bin/neurox.js', () => {
  const root = resolve(import.meta.dirname, '..');
  // a resolve hook that fails any import of tsx
  const hook = 'export async function resolve(s, c, next) { if (/(^|\\/)tsx(\\/|$)/.test(s)) throw new Error("tsx loaded: " + s); return next(s, c); }';
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
  const cli = (env: Record<string, string>, args: readonly string[] = ['--help']) =>
    spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, join(root, 'bin', 'neurox.js'), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

  it('starts the CLI from its bundle without tsx once the bundle is built, and through tsx with NEUROX_BUNDLE=off', async () => {
    url(await compiledEntry(CLI_BUNDLE.source, CLI_BUNDLE.name)); // what bin/neurox.js builds on its first run
    expect(freshBundle(defaultCacheDir(), CLI_BUNDLE.source, CLI_BUNDLE.name)).not.toBeNull();
    const bundled = cli({});
    expect(bundled.stderr).not.toContain('tsx loaded');
    expect(bundled.status).toBe(0);
    expect(bundled.stdout).toContain('analyze');
    // the hook does catch tsx: the loader's path imports it
    const loader = cli({ NEUROX_BUNDLE: 'off' });
    expect(loader.status).not.toBe(0);
    expect(loader.stderr).toContain('tsx loaded');
  });

  it('runs an analysis with stage threads from the bundles, tsx never loaded', async () => {
    url(await compiledEntry(CLI_BUNDLE.source, CLI_BUNDLE.name));
    url(await compiledEntry(STAGE_THREAD_BUNDLE.source, STAGE_THREAD_BUNDLE.name));
    const corpus = join(dir, 'corpus.txt');
    writeFileSync(corpus, Array.from({ length: 24 }, (_, i) => `sentence ${i} has some words and word ${i % 5}`).join('\n'));
    const out = join(dir, 'analysis');
    const r = cli({}, ['analyze', corpus, '--model', 'test-hash:2x8', '--out', out, '--jobs', '2', '--shard-sentences', '8', '--block-neurons', '4', '--render', 'none']);
    expect(r.stderr).not.toContain('tsx loaded');
    expect(r.stderr).not.toContain('TypeScript loader');
    expect(r.status).toBe(0);
    const run = readdirSync(join(out, 'runs'))[0]!;
    expect(readdirSync(join(out, 'runs', run))).toContain('top_words.parquet');
  });
});

describe('withoutTypeScriptLoader', () => {
  it("drops tsx's loader flags in every form and keeps the other options", () => {
    const tsxCli = ['--require', '/p/node_modules/tsx/dist/preflight.cjs', '--import', 'file:///p/node_modules/tsx/dist/loader.mjs'];
    expect(withoutTypeScriptLoader(tsxCli)).toEqual([]);
    expect(withoutTypeScriptLoader(['--import', 'tsx', '--max-old-space-size=4096'])).toEqual(['--max-old-space-size=4096']);
    expect(withoutTypeScriptLoader(['--import=tsx/esm', '--cpu-prof', '--require', './other.cjs'])).toEqual(['--cpu-prof', '--require', './other.cjs']);
    expect(withoutTypeScriptLoader(['--loader', 'tsx', '--import', './my-tsx-free-hook.mjs'])).toEqual(['--import', './my-tsx-free-hook.mjs']);
  });
});
