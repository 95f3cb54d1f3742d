import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { runNeurox, type CliRun } from './helpers/cli.ts';
import { visualizeActivations, type RenderOptions } from '../pipelines/render/svg.ts';
import { openActivationFile } from '../workers/neuroxFiles/index.ts';

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'neurox-files');
const TOKENS = join(FIXTURES, 'tokens.txt');
const HDF5 = join(FIXTURES, 'sentences.hdf5');
const JSONL = join(FIXTURES, 'sentences.json');

function neurox(...args: string[]): Promise<CliRun> {
  return runNeurox(args);
}

/** What visualize_activations draws for sentence i and global neuron g, computed in-process. */
async function expectedSvg(path: string, i: number, g: number, options: RenderOptions = {}): Promise<string> {
  const file = await openActivationFile(path, TOKENS);
  try {
    for await (const s of file.sentences()) {
      if (s.index !== i) continue;
      const { data, nTokens, nLayers, dModel } = s.activations;
      const layer = Math.floor(g / dModel);
      expect(layer).toBeLessThan(nLayers);
      const values = Array.from({ length: nTokens }, (_, t) => data[(layer * nTokens + t) * dModel + (g % dModel)]!);
      return visualizeActivations(s.tokens, values, options);
    }
  } finally {
    await file.close();
  }
  throw new Error(`no sentence ${i}`);
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cli-render-'));
});

describe('neurox render', () => {
  it('writes visualize_activations\' SVG for sentence I (0-based) and global neuron G, captioned with its layer and neuron, which resvg renders', async () => {
    const out = join(tmp, 's4.svg');
    const run = await neurox('render', '--activations', HDF5, '--tokens', TOKENS, '--sentence', '4', '--neuron', '6', '--out', out);
    expect([run.code, run.stderr, run.stdout]).toEqual([0, '', '']);
    const svg = await readFile(out, 'utf8');
    expect(svg).toBe(await expectedSvg(HDF5, 4, 6, { caption: 'layer 1 · neuron 2' }));
    expect(svg).toContain('back\\slash');
    expect(svg).toContain('&lt;tag&gt;');
    const png = new Resvg(svg).render();
    expect(png.width).toBeGreaterThan(0);
  });

  it('--layer L --neuron N is neuron L*dModel+N, and every rendering option reaches the renderer', async () => {
    const out = join(tmp, 'options.svg');
    const run = await neurox(
      'render', '--activations', JSONL, '--tokens', TOKENS, '--sentence', '1', '--layer', '2', '--neuron', '1',
      '--darken', '3', '--colors', 'purple,#0a0', '--text-direction', 'RTL', '--char-limit', '12', '--font-size', '14',
      '--filter', 'top_tokens', '--vmin', '-1.5', '--vmax', '2', '--caption', 'layer 2 · neuron 1', '--legend', '--no-titles', '--out', out,
    );
    expect([run.code, run.stderr]).toEqual([0, '']);
    const options: RenderOptions = {
      darken: 3, colors: ['purple', '#0a0'], textDirection: 'RTL' as 'rtl', charLimit: 12, fontSize: 14,
      filterFn: 'top_tokens', vmin: -1.5, vmax: 2, caption: 'layer 2 · neuron 1', legend: true, titles: false,
    };
    expect(await readFile(out, 'utf8')).toBe(await expectedSvg(JSONL, 1, 9, options));
  });

  it('--out - writes the SVG to stdout; --no-caption gives NeuroX\'s canvas with no label', async () => {
    const run = await neurox('render', '--activations', HDF5, '--tokens', TOKENS, '--sentence', '0', '--neuron', '0', '--no-caption', '--out', '-');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${await expectedSvg(HDF5, 0, 0)}\n`);
  });

  it('errors exit 1 with one line that names the bad value', async () => {
    const base = ['render', '--activations', HDF5, '--tokens', TOKENS, '--out', join(tmp, 'x.svg')];
    const cases: Array<[string[], RegExp]> = [
      [[...base, '--sentence', '7', '--neuron', '0'], /^neurox: sentence 7 is out of range \[0, 6\]\n$/],
      [['render', '--activations', JSONL, '--tokens', TOKENS, '--out', join(tmp, 'x.svg'), '--sentence', '9', '--neuron', '0'], /^neurox: sentence 9 is out of range \[0, 6\]\n$/],
      [[...base, '--sentence', '0', '--neuron', '12'], /^neurox: neuron 12 is out of range \[0, 11\]\n$/],
      [[...base, '--sentence', '-1', '--neuron', '0'], /^neurox: --sentence: must be >= 0, got -1\n$/],
      [[...base, '--sentence', '0', '--neuron', '0', '--colors', 'red'], /^neurox: --colors: expected two colours 'negative,positive', got 'red'\n$/],
      [[...base, '--sentence', '0', '--neuron', '0', '--text-direction', 'up'], /^neurox: textDirection "up" must be one of \['ltr', 'rtl'\]\n$/],
      [[...base, '--sentence', '0', '--neuron', '0', '--filter', 'top'], /^neurox: --filter: the only filter is top_tokens, got 'top'\n$/],
    ];
    const runs = await Promise.all(cases.map(([args]) => neurox(...args)));
    runs.forEach((run, i) => expect([cases[i]![0].slice(-4).join(' '), run.code, run.stderr]).toEqual([cases[i]![0].slice(-4).join(' '), 1, expect.stringMatching(cases[i]![1])]));
  });

  it('--help shows the options and exits 0', async () => {
    const run = await neurox('render', '--help');
    expect(run.code).toBe(0);
    for (const option of ['--activations', '--tokens', '--sentence', '--neuron', '--layer', '--darken', '--colors', '--text-direction', '--char-limit', '--font-size', '--filter', '--vmin', '--vmax', '--out']) {
      expect(run.stdout).toContain(option);
    }
  });

  it('neurox visualize --help lists the very rendering options of neurox render --help (one definition, one validation)', async () => {
    const [render, visualize] = await Promise.all([neurox('render', '--help'), neurox('visualize', '--help')]);
    expect([render.code, visualize.code]).toEqual([0, 0]);
    // each option's help entry (wrapped lines joined, padding collapsed), by flag
    const entries = (help: string): Map<string, string> => {
      const out = new Map<string, string>();
      let flag = '';
      for (const line of help.slice(help.indexOf('Options:')).split('\n').slice(1)) {
        if (/^ {2}-/.test(line)) out.set((flag = line.trim().split(/[\s,]/)[0]!), line.trim().replace(/\s+/g, ' '));
        else if (/^ {3,}\S/.test(line) && flag) out.set(flag, `${out.get(flag)!} ${line.trim()}`);
        else flag = '';
      }
      return out;
    };
    const inRender = entries(render.stdout);
    const inVisualize = entries(visualize.stdout);
    const renderFlags = [...inRender.keys()].filter((f) => !['--activations', '--tokens', '--sentence', '--neuron', '--layer', '--out', '-h'].includes(f));
    expect(renderFlags).toEqual(['--darken', '--colors', '--text-direction', '--char-limit', '--font-size', '--filter', '--vmin', '--vmax', '--caption', '--no-caption', '--legend', '--no-titles']);
    for (const flag of renderFlags) expect(inVisualize.get(flag), flag).toBe(inRender.get(flag));
    // and the same validation: a bad rendering flag fails before the model loads, with render's message
    const bad = await neurox('visualize', '--layer', '0', '--neuron', '0', '--colors', 'red', '--out', '-', 'a b');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--colors: expected two colours 'negative,positive', got 'red'");
  });
});
