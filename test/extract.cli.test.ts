/**
 * `neurox extract` and `neurox visualize` as a user runs them (the real CLI in
 * a child process), and the progress display they share; `neurox analyze`
 * with an ONNX model.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runNeurox, type CliRun } from './helpers/cli.ts';
import { createProgress, formatDuration, progressLine } from '../cli/progress.ts';
import { openActivationFile } from '../workers/neuroxFiles/index.ts';
import { loadReference, maxAbsDiff, modelDir } from './fixtures/models/reference.ts';

const dir = mkdtempSync(join(tmpdir(), 'neurox-cli-extract-'));
const cacheDir = join(dir, 'cache');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function neurox(...args: string[]): Promise<CliRun> {
  return runNeurox(args, { env: { ...process.env, NEUROX_CACHE_DIR: cacheDir } });
}

const ref = loadReference('bert');
// reference sentences: plain, truncated, with a dropped word
const picked = [0, 2, 4];
const lines = picked.map((i) => ref.sentences[i]?.text as string);

describe('neurox extract', () => {
  it('writes the PyTorch activations to a NeuroX file; empty lines are skipped and counted, so sentence i is the i-th non-empty line', async () => {
    const corpus = join(dir, 'corpus.txt');
    // the last line is one word of more pieces than the model takes: nothing of it fits
    writeFileSync(corpus, `${lines[0]}\n\n  \t \n${lines[1]}\r\n${lines[2]}\n${'qzjx'.repeat(20)}\n`);
    const out = join(dir, 'acts.json');
    const tokens = join(dir, 'tokens.txt');
    const r = await neurox('extract', corpus, '--model', modelDir('bert'), '--out', out, '--tokens-out', tokens, '--batch-size', '2');
    expect(r.stderr).toContain('skipped 2 empty lines (lines 2, 3)');
    expect(r.stderr).toContain("skipped 1 lines whose first word alone exceeds the model's maximum (line 6)");
    expect(r.stderr).toContain('1 sentences truncated at 16 pieces (1 words dropped)');
    expect(r.stderr).toContain('line 5: word 3 was dropped by the tokenizer');
    expect(r.code).toBe(0);
    const file = await openActivationFile(out, tokens);
    try {
      expect(file.info).toMatchObject({ nLayers: ref.nLayers, dModel: ref.dModel, format: 'json', dtype: 'float32' });
      let i = 0;
      for await (const s of file.sentences()) {
        const c = ref.sentences[picked[i] as number]?.cases['last:words'];
        expect(s.tokens).toEqual(c?.tokens);
        expect(maxAbsDiff(s.activations.data, ref.values(c!))).toBeLessThan(1e-4);
        i++;
      }
      expect(i).toBe(3);
    } finally {
      await file.close();
    }
  });

  it('hdf5, float16, chosen layers and special tokens', async () => {
    const corpus = join(dir, 'corpus16.txt');
    writeFileSync(corpus, `${lines.join('\n')}\n`);
    const out = join(dir, 'acts.hdf5');
    const tokens = join(dir, 'tokens16.txt');
    const r = await neurox('extract', corpus, '--model', modelDir('bert'), '--out', out, '--tokens-out', tokens, '--dtype', 'float16', '--layers', '3,1', '--include-special-tokens', '--aggregation', 'average', '--no-progress');
    expect(r.code, r.stderr).toBe(0);
    const file = await openActivationFile(out, tokens);
    try {
      expect(file.info).toMatchObject({ nLayers: 2, format: 'hdf5', dtype: 'float16' });
      let i = 0;
      for await (const s of file.sentences()) {
        const c = ref.sentences[picked[i] as number]?.cases['average:special'];
        expect(s.tokens).toEqual(c?.tokens);
        const [, nTokens = 0, dModel = 0] = c!.shape;
        const all = ref.values(c!);
        const want = new Float32Array(2 * nTokens * dModel);
        want.set(all.subarray(3 * nTokens * dModel, 4 * nTokens * dModel), 0);
        want.set(all.subarray(nTokens * dModel, 2 * nTokens * dModel), nTokens * dModel);
        expect(maxAbsDiff(s.activations.data, want)).toBeLessThan(5e-3); // float16 keeps ~3 decimal digits
        i++;
      }
      expect(i).toBe(3);
    } finally {
      await file.close();
    }
  });

  it('invalid UTF-8 fails naming the line, and leaves no partial output', async () => {
    const corpus = join(dir, 'bad.txt');
    writeFileSync(corpus, Buffer.concat([Buffer.from(`${lines[0]}\nfine line\n`), Buffer.from([0x61, 0x20, 0xff, 0xfe, 0x0a])]));
    const out = join(dir, 'bad.json');
    const r = await neurox('extract', corpus, '--model', modelDir('bert'), '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`neurox: ${corpus} line 3: invalid UTF-8`);
    expect(existsSync(out)).toBe(false);
  });

  it('bad input exits 1 with a one-line message naming the bad value', async () => {
    const corpus = join(dir, 'ok.txt');
    writeFileSync(corpus, 'a b\n');
    const missing = await neurox('extract', corpus, '--model', join(dir, 'nope'), '--out', join(dir, 'x.json'));
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.stderr).toMatch(/neurox: model folder not found: .*nope/);
    const both = await neurox('extract', corpus, '--model', modelDir('bert'), '--out', join(dir, 'x.json'), '--layers', '1,2', '--ignore-embeddings');
    expect(both.stderr).toContain('--layers and --ignore-embeddings cannot be used together');
    const range = await neurox('extract', corpus, '--model', modelDir('bert'), '--out', join(dir, 'x.json'), '--layers', '0,7');
    expect(range.stderr).toContain('layer 7 is out of range [0, 3]');
    const format = await neurox('extract', corpus, '--model', modelDir('bert'), '--out', join(dir, 'x.txt'));
    expect(format.stderr).toContain('unknown activation file format');
    expect(existsSync(join(dir, 'x.json'))).toBe(false);
  });
});

describe('neurox analyze with an ONNX model', () => {
  it('--ignore-embeddings analyses layers 1.. (planner and extraction jobs share one layer rule; they used to disagree and fail)', async () => {
    const corpus = join(dir, 'analyze.txt');
    writeFileSync(corpus, `${lines[0]}\n${lines[2]}\n`);
    const out = join(dir, 'analyze-out');
    const r = await neurox('analyze', corpus, '--model', modelDir('distilbert'), '--ignore-embeddings', '--out', out, '--render', 'none', '--no-progress', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { manifest: string; nNeurons: number };
    const manifest = JSON.parse(readFileSync(join(out, result.manifest), 'utf8')) as { plan: { layers: number[]; model: { nLayers: number; dModel: number } } };
    const { nLayers, dModel } = manifest.plan.model;
    expect(manifest.plan.layers).toEqual([...Array(nLayers).keys()].slice(1));
    expect(result.nNeurons).toBe((nLayers - 1) * dModel);
  });
});

describe('neurox visualize', () => {
  it("writes the SVG of a neuron's activations, labelled with layer and neuron", async () => {
    const out = join(dir, 'v.svg');
    const r = await neurox('visualize', '--model', modelDir('bert'), '--layer', '2', '--neuron', '5', '--out', out, lines[0] as string);
    expect(r.code, r.stderr).toBe(0);
    const svg = readFileSync(out, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('layer 2 · neuron 5');
    expect(svg).toContain('>fox<');
  });

  it('a neuron out of range names the range', async () => {
    const r = await neurox('visualize', '--model', modelDir('bert'), '--layer', '1', '--neuron', '16', '--out', join(dir, 'w.svg'), 'a b');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('neuron 16 is out of range [0, 15]');
  });
});

describe('progress', () => {
  it('plain lines when not on a terminal: count, percentage, rate and ETA, at most one per interval', () => {
    let t = 0;
    const written: string[] = [];
    const stream = { write: (s: string) => written.push(s) } as unknown as NodeJS.WritableStream;
    const p = createProgress({ label: 'extract', unit: 'sentences', total: 100, stream, tty: false, intervalMs: 1000, now: () => t });
    t = 500;
    p.update(10); // within the interval: silent
    t = 2000;
    p.update(40);
    t = 2500;
    p.increment(10);
    t = 4000;
    p.update(100);
    p.stop();
    expect(written).toEqual([
      'extract: 40/100 sentences (40%), 20.0 sentences/s, ETA 3s\n',
      'extract: 100/100 sentences (100%), 25.0 sentences/s, elapsed 4s\n',
      'extract: 100/100 sentences (100%), 25.0 sentences/s, elapsed 4s\n',
    ]);
  });
  it('relabel changes what later lines say (top-words learns its number of passes at the end of pass 1)', () => {
    let t = 0;
    const written: string[] = [];
    const stream = { write: (s: string) => written.push(s) } as unknown as NodeJS.WritableStream;
    const p = createProgress({ label: 'top-words: pass 1 (moments)', unit: 'sentences', stream, tty: false, intervalMs: 1000, now: () => t });
    t = 1000;
    p.update(7);
    p.relabel('top-words: pass 1/5 (moments)');
    p.stop();
    expect(written).toEqual(['top-words: pass 1 (moments): 7 sentences, 7.0 sentences/s, elapsed 1s\n', 'top-words: pass 1/5 (moments): 7 sentences, 7.0 sentences/s, elapsed 1s\n']);
  });
  it('formats durations and unknown totals', () => {
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(progressLine('x', 'lines', 5, undefined, 2000)).toBe('x: 5 lines, 2.5 lines/s, elapsed 2s');
  });
});
