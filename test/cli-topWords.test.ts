import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { beforeAll, describe, expect, it } from 'vitest';
import { runNeurox, type CliRun } from './helpers/cli.ts';
import { openActivationFile } from '../workers/neuroxFiles/index.ts';
import { fileTopWords } from '../workers/neuroxFiles/topWords.ts';
import { hasPython, runPython } from './helpers/python.ts';

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'neurox-files');
const TOKENS = join(FIXTURES, 'tokens.txt');
const HDF5 = join(FIXTURES, 'sentences.hdf5');
const JSONL = join(FIXTURES, 'sentences.json');

function neurox(...args: string[]): Promise<CliRun> {
  return runNeurox(args);
}

/** NeuroX's get_top_words (neurox/analysis/corpus.py) restated, on what NeuroX's hdf5 loader reads. */
const NEUROX_TOP_WORDS = `
import h5py, json, sys, numpy as np
from collections import defaultdict
path, tokens_path, neuron, num_tokens = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
min_threshold = None if sys.argv[5] == "-" else float(sys.argv[5])
f = h5py.File(path, "r")
acts = []
for _, name in json.loads(f["sentence_to_index"][0]).items():
    a = np.asarray(f[name], dtype=np.float32)
    acts.append(np.swapaxes(a, 0, 1).reshape(a.shape[1], -1))
tokens = [line.rstrip("\\n").split(" ") for line in open(tokens_path, encoding="utf-8")]
if min_threshold is None:
    min_threshold = 0.1
x = np.concatenate([a[:, neuron] for a in acts])
flat = [t for s in tokens for t in s]
z = np.abs((x - np.mean(x)) / np.std(x))
agg = defaultdict(lambda: (0, 0))
for i, t in enumerate(flat):
    s, c = agg[t]
    agg[t] = (s + z[i], c + 1)
scores = [(k, v[0] / v[1]) for k, v in agg.items()]
best = max(s for _, s in scores)
ranked = [(k, float(v)) for k, v in sorted([(k, v / best) for k, v in scores], key=lambda p: -p[1]) if v > min_threshold]
if num_tokens > 0:
    ranked = ranked[:num_tokens]
print(json.dumps(ranked))
`;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cli-top-words-'));
});

type Word = { token: string; score: number; count: number; mean: number };

describe('neurox top-words', () => {
  it.skipIf(!hasPython)('--format json prints NeuroX\'s get_top_words for a global neuron, in rank order, with count and mean', async () => {
    const cases: Array<[string[], [number, number, string]]> = [
      [['--neuron', '5'], [5, 0, '-']],
      [['--layer', '2', '--neuron', '3', '--num-tokens', '4'], [11, 4, '-']],
      [['--neuron', '0', '--min-threshold', '0.5'], [0, 0, '0.5']],
    ];
    const runs = await Promise.all(cases.map(([args]) => neurox('top-words', '--activations', HDF5, '--tokens', TOKENS, '--format', 'json', ...args)));
    cases.forEach(([args, [g, k, t]], i) => {
      const run = runs[i]!;
      expect([args, run.code, run.stderr]).toEqual([args, 0, '']);
      const ours = JSON.parse(run.stdout) as Word[];
      const theirs = JSON.parse(runPython(NEUROX_TOP_WORDS, [HDF5, TOKENS, String(g), String(k), t])) as Array<[string, number]>;
      expect(ours.map((w) => w.token)).toEqual(theirs.map(([token]) => token));
      ours.forEach((w, j) => expect(Math.abs(w.score - theirs[j]![1])).toBeLessThan(1e-5)); // NeuroX works in float32
      for (const w of ours) expect(Object.keys(w)).toEqual(['token', 'score', 'count', 'mean']);
    });
    const the = (JSON.parse(runs[0]!.stdout) as Word[]).find((w) => w.token === 'the')!;
    expect(the.count).toBe(3);
  });

  it('--format table (the default) lists rank, token, score, count and mean, one line per type', async () => {
    const run = await neurox('top-words', '--activations', JSONL, '--tokens', TOKENS, '--neuron', '5', '--num-tokens', '3');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]!.split(/\s+/).filter(Boolean)).toEqual(['rank', 'token', 'score', 'count', 'mean']);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^\s*0\s+"tab\\there"\s+1\.0000\s+1\s+-2\.61/);
  });

  it('errors exit 1 with one line that names the bad value', async () => {
    const base = ['top-words', '--activations', HDF5, '--tokens', TOKENS];
    const cases: Array<[string[], RegExp]> = [
      [[...base, '--neuron', '12'], /^neurox: neuron 12 is out of range \[0, 11\]\n$/],
      [[...base, '--layer', '3', '--neuron', '0'], /^neurox: layer 3 is out of range \[0, 2\]\n$/],
      [[...base, '--neuron', '1', '--num-tokens', '5', '--min-threshold', '0.2'], /^neurox: --num-tokens 5 and --min-threshold 0\.2 cannot be combined/],
      [[...base, '--neuron', '1', '--format', 'csv'], /^neurox: --format: expected json or table, got 'csv'\n$/],
      [['top-words', '--activations', join(FIXTURES, 'sentences.f16.json'), '--tokens', TOKENS, '--neuron', '6'], /^neurox: sentence 0, token 0, neuron 6: activation Infinity is not finite\n$/],
      [['top-words', '--activations', join(tmp, 'missing.hdf5'), '--tokens', TOKENS, '--neuron', '1'], /^neurox: activations file not found: .*missing\.hdf5\n$/],
    ];
    const runs = await Promise.all(cases.map(([args]) => neurox(...args)));
    runs.forEach((run, i) => expect([cases[i]![0].slice(3).join(' '), run.code, run.stderr]).toEqual([cases[i]![0].slice(3).join(' '), 1, expect.stringMatching(cases[i]![1])]));
  });

  it('--help shows the options and exits 0', async () => {
    const run = await neurox('top-words', '--help');
    expect(run.code).toBe(0);
    for (const option of ['--activations', '--tokens', '--neuron', '--layer', '--num-tokens', '--min-threshold', '--format', '--all', '--out', '--top-k']) {
      expect(run.stdout).toContain(option);
    }
  });

  it('--all writes every neuron\'s top words to Parquet in neuron blocks, the same rows at any memory budget, equal to the one-neuron results', async () => {
    const small = join(tmp, 'blocks.parquet');
    const big = join(tmp, 'one-block.parquet');
    const [a, b] = await Promise.all([
      neurox('top-words', '--activations', HDF5, '--tokens', TOKENS, '--all', '--out', small, '--top-k', '3', '--memory-mb', '1'),
      neurox('top-words', '--activations', HDF5, '--tokens', TOKENS, '--all', '--out', big, '--top-k', '3'),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    // progress on stderr: pass 1 (moments), then one pass per block
    expect(a.stderr).toMatch(/pass 1\/5 \(moments\): 7\/7 sentences/);
    expect(a.stderr).toMatch(/pass 5\/5 \(neurons 9-11\)/);
    expect(b.stderr).toMatch(/blocks of 12, 2 passes/);
    const rowsOf = async (path: string) => {
      const bytes = await readFile(path);
      const file = { byteLength: bytes.byteLength, slice: (s: number, e?: number) => bytes.buffer.slice(bytes.byteOffset + s, bytes.byteOffset + (e ?? bytes.byteLength)) };
      return (await parquetReadObjects({ file })) as Array<{ layer: number; neuron: number; global_neuron: number; rank: number; token: string; score: number; count: bigint | number; mean: number }>;
    };
    const rows = await rowsOf(small);
    expect(await rowsOf(big)).toEqual(rows);
    const file = await openActivationFile(HDF5, TOKENS);
    try {
      const expected: Array<Record<string, unknown>> = [];
      for (let g = 0; g < 12; g++) {
        const words = await fileTopWords(file, g, { numTokens: 3 });
        words.forEach((w, rank) => expected.push({ layer: Math.floor(g / 4), neuron: g % 4, global_neuron: g, rank, token: w.token, score: w.score, count: BigInt(w.count), mean: w.mean }));
      }
      expect(rows).toEqual(expected);
    } finally {
      await file.close();
    }
  });

  it.skipIf(!hasPython)('--all with --min-threshold and --top-k (a cut after the threshold, which NeuroX forbids) writes Parquet that pyarrow reads with the top_words columns', async () => {
    const out = join(tmp, 'pyarrow.parquet');
    const run = await neurox('top-words', '--activations', JSONL, '--tokens', TOKENS, '--all', '--out', out, '--min-threshold', '0.5', '--top-k', '2');
    expect(run.code).toBe(0);
    const read = JSON.parse(runPython(`
import json, sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
print(json.dumps({"schema": [f"{f.name}:{f.type}" for f in t.schema], "rows": t.num_rows, "first": t.slice(0, 1).to_pylist()[0], "max_rank": max(t.column("rank").to_pylist()), "min_score": min(t.column("score").to_pylist())}))
`, [out])) as { schema: string[]; rows: number; first: Record<string, unknown>; max_rank: number; min_score: number };
    expect(read.schema).toEqual(['layer:int32', 'neuron:int32', 'global_neuron:int32', 'rank:int32', 'token:string', 'score:double', 'count:int64', 'mean:double']);
    expect(read.max_rank).toBe(1);
    expect(read.min_score).toBeGreaterThan(0.5);
    expect(read.first).toMatchObject({ layer: 0, neuron: 0, global_neuron: 0, rank: 0, score: 1 });
  });
});
