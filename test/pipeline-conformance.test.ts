/**
 * One suite, two runners: the embedded runner (local folder) and the BullMQ
 * runner (real Redis, S3 on moto, sandboxed workers, a plain-bullmq
 * producer) must compute the same results, equal to an in-memory
 * computation over the very activations the run stored.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../workers/store/index.ts';
import { runEmbedded } from '../workers/runner/embedded.ts';
import { freshBucket, s3TestEnv } from './helpers/s3.ts';
import { hasPython, runPython } from './helpers/python.ts';
import {
  activationsOf, corpusText, readOutputs, referenceStats, referenceTopWords, relClose, runWith, type RunOutputs, type Runner,
} from './pipelineHelpers.ts';

const saved = { ...process.env };
let dir: string;
let corpusPath: string;
let bucket: string;
const outputs = new Map<Runner, RunOutputs>();

beforeAll(async () => {
  Object.assign(process.env, s3TestEnv()); // the sandboxed children inherit it
  dir = mkdtempSync(join(tmpdir(), 'neurox-conformance-'));
  corpusPath = join(dir, 'corpus.txt');
  writeFileSync(corpusPath, corpusText(40));
  bucket = await freshBucket('conformance');
});

afterAll(() => {
  process.env = saved;
});

function request(runner: Runner): { version: 1; corpus: string; model: string; output: string; options: Record<string, number | string> } {
  return {
    version: 1,
    corpus: corpusPath,
    model: 'test-hash:3x10',
    output: runner === 'embedded' ? join(dir, 'out') : `s3://${bucket}/prefix`,
    // 40 sentences in shards of 8: 5 shards; 30 neurons in blocks of 8: 4 blocks (the last one short)
    options: { shardSentences: 8, blockNeurons: 8, topK: 6, minThreshold: 0.1 },
  };
}

describe.each<Runner>(['embedded', 'bullmq'])('%s runner', (runner) => {
  it('writes neuron_stats equal to a single-pass float64 computation (1e-9 relative)', async () => {
    const result = await runWith(runner, request(runner));
    expect(result.nShards).toBe(5);
    const store = openStore(result.output);
    const out = await readOutputs(store, result.runId);
    outputs.set(runner, out);
    expect(out.manifest.status).toBe('completed');
    const { activations } = await activationsOf(store, out.manifest);
    const ref = referenceStats(activations);
    const n = ref.mean.length;
    expect(out.stats.globalNeuron).toEqual(Int32Array.from({ length: n }, (_, g) => g));
    expect(Array.from(out.stats.layer.slice(0, 11))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    for (let g = 0; g < n; g++) {
      const scale = Math.max(Math.abs(ref.min[g]!), Math.abs(ref.max[g]!));
      expect(out.stats.count[g]).toBe(ref.count);
      expect(Math.abs(out.stats.mean[g]! - ref.mean[g]!)).toBeLessThanOrEqual(1e-9 * scale);
      expect(relClose(out.stats.variance[g]!, ref.variance[g]!, 1e-9)).toBe(true);
      expect(relClose(out.stats.std[g]!, Math.sqrt(ref.variance[g]!), 1e-9)).toBe(true);
      expect(out.stats.min[g]).toBe(ref.min[g]);
      expect(out.stats.max[g]).toBe(ref.max[g]);
    }
  }, 300_000);

  it('writes the top words of get_top_words over the whole corpus, per neuron, cut by threshold and top-k', async () => {
    const out = outputs.get(runner);
    if (!out) throw new Error('the previous test did not produce outputs');
    const store = openStore(out.manifest.request.output);
    const { tokens, activations } = await activationsOf(store, out.manifest);
    const ref = referenceTopWords(tokens, activations, 0.1, 6);
    let row = 0;
    ref.forEach((list, g) => {
      list.forEach((w, rank) => {
        expect([out.top.globalNeuron[row], out.top.rank[row], out.top.token[row]]).toEqual([g, rank, w.token]);
        expect(relClose(out.top.score[row]!, w.score, 1e-9)).toBe(true);
        expect(out.top.count[row]).toBe(w.count);
        expect(relClose(out.top.mean[row]!, w.mean, 1e-9) || Math.abs(out.top.mean[row]! - w.mean) < 1e-12).toBe(true);
        row++;
      });
    });
    expect(out.top.token.length).toBe(row);
  });
});

describe('both runners', () => {
  it('write byte-identical Parquet files for the same plan', () => {
    const a = outputs.get('embedded');
    const b = outputs.get('bullmq');
    if (!a || !b) throw new Error('the runner suites did not produce outputs');
    expect(a.manifest.runId).toBe(b.manifest.runId);
    expect(Buffer.from(b.neuronStatsBytes).equals(Buffer.from(a.neuronStatsBytes))).toBe(true);
    expect(Buffer.from(b.topWordsBytes).equals(Buffer.from(a.topWordsBytes))).toBe(true);
  });

  it.skipIf(!hasPython)('write Parquet that pyarrow and duckdb read with the documented columns', () => {
    const a = outputs.get('embedded');
    if (!a) throw new Error('the runner suites did not produce outputs');
    writeFileSync(join(dir, 'ns.parquet'), a.neuronStatsBytes);
    writeFileSync(join(dir, 'tw.parquet'), a.topWordsBytes);
    const out = runPython(
      'import sys, json, pyarrow.parquet as pq, duckdb\n' +
        'ns, tw = pq.read_table(sys.argv[1]), pq.read_table(sys.argv[2])\n' +
        'best = duckdb.sql(f"SELECT token FROM \'{sys.argv[2]}\' WHERE global_neuron = 3 AND rank = 0").fetchall()\n' +
        'print(json.dumps({"ns": [f"{f.name}:{f.type}" for f in ns.schema], "tw": [f"{f.name}:{f.type}" for f in tw.schema], "rows": [ns.num_rows, tw.num_rows], "best": best[0][0]}))',
      [join(dir, 'ns.parquet'), join(dir, 'tw.parquet')],
    );
    const r = JSON.parse(out) as { ns: string[]; tw: string[]; rows: number[]; best: string };
    expect(r.ns).toEqual(['layer:int32', 'neuron:int32', 'global_neuron:int32', 'count:int64', 'mean:double', 'variance:double', 'std:double', 'min:double', 'max:double']);
    expect(r.tw).toEqual(['layer:int32', 'neuron:int32', 'global_neuron:int32', 'rank:int32', 'token:string', 'score:double', 'count:int64', 'mean:double']);
    expect(r.rows).toEqual([a.stats.globalNeuron.length, a.top.token.length]);
    const first = a.top.globalNeuron.indexOf(3);
    expect(r.best).toBe(a.top.token[first]);
  });
});

describe('embedded runner on awkward corpora', () => {
  it('skips blank lines and reports over-long sentences as truncated, as extraction does', async () => {
    const long = Array.from({ length: 100 }, (_, i) => `w${i % 7}`).join(' ');
    const path = join(dir, 'awkward.txt');
    writeFileSync(path, `the cat sat\n\n   \n${long}\n  a dog ran  \n`);
    // the test model keeps at most 64 words of a sentence
    const r = await runEmbedded({ version: 1, corpus: path, model: 'test-hash:2x4', output: join(dir, 'awkward'), options: { shardSentences: 2, blockNeurons: 4, topK: 3 } });
    expect(r.nSentences).toBe(3);
    expect(r.nWords).toBe(3 + 100 + 3);
    expect(r.truncatedSentences).toBe(1);
    expect(r.nTokens).toBe(3 + 64 + 3);
    const m = (await readOutputs(openStore(r.output), r.runId)).manifest;
    expect(m.plan.corpus.blankLines).toBe(2);
    expect(m.summary?.truncatedSentences).toBe(1);
  });
});
