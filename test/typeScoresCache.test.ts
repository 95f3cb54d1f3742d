/**
 * Pass 2 reads each shard's header and tokens once per process and run
 * (workers/stages/typeScores.ts): a later block reads only its group of each
 * shard and writes the same bytes; a rewritten shard is read again.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runKeys } from '../pipelines/keys.ts';
import { topWordsTable } from '../schemas/parquet.ts';
import { readTable } from '../workers/parquet.ts';
import type { ObjectStore } from '../pipelines/ports.ts';
import { runEmbedded } from '../workers/runner/embedded.ts';
import { defaultContext } from '../workers/stages/context.ts';
import { runStage, typeScoresJobs } from '../workers/stages/index.ts';
import { readManifest } from '../workers/stages/manifest.ts';
import { openStore } from '../workers/store/index.ts';
import { corpusText } from './pipelineHelpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'neurox-ts-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `store` with every head and ranged read of a shard recorded as `head <key>` / `range <key>`. */
function recording(store: ObjectStore, calls: string[]): ObjectStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'head' && prop !== 'getRange') return typeof value === 'function' ? value.bind(target) : value;
      return (key: string, ...rest: unknown[]) => {
        calls.push(`${prop === 'head' ? 'head' : 'range'} ${key}`);
        return (value as (...a: unknown[]) => unknown).call(target, key, ...rest);
      };
    },
  });
}

describe('pass 2 shard cache', () => {
  it('a later block reads one group per shard, writes the same part, and a rewritten shard is read again', async () => {
    const corpus = join(dir, 'corpus.txt');
    writeFileSync(corpus, corpusText(24));
    const out = join(dir, 'out');
    const request = { version: 1, corpus, model: 'test-hash:2x8', output: out, options: { shardSentences: 8, blockNeurons: 4, topK: 5, render: 'none' } } as const;
    const result = await runEmbedded(request, { jobs: 1 }); // pass 2 ran here: the cache holds this run's shards
    const local = openStore(out);
    const { plan } = await readManifest(local, result.runId);
    const shardKeys = plan.shards.map((s) => s.cache.activations);
    expect(shardKeys.length).toBe(3);
    const calls: string[] = [];
    const ctx = defaultContext({ store: () => recording(local, calls) });
    const jobs = typeScoresJobs(plan, out);
    const part = runKeys(plan.runId).topWordsBlock(1);
    const before = await local.get(part);

    await runStage(ctx, 'type-scores', jobs[1]!.data);
    const reads = (key: string): string[] => calls.filter((c) => c.endsWith(` ${key}`));
    for (const key of shardKeys) expect(reads(key), key).toEqual([`head ${key}`, `range ${key}`]);
    expect(Buffer.from(await local.get(part)).equals(Buffer.from(before))).toBe(true);

    // the same bytes with a new modification time: another version of the object
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(out, shardKeys[0]!), later, later);
    calls.length = 0;
    await runStage(ctx, 'type-scores', jobs[1]!.data);
    expect(reads(shardKeys[0]!).filter((c) => c.startsWith('range')).length).toBe(4); // preamble, header, tokens, group
    expect(reads(shardKeys[1]!)).toEqual([`head ${shardKeys[1]!}`, `range ${shardKeys[1]!}`]);
    expect(Buffer.from(await local.get(part)).equals(Buffer.from(before))).toBe(true);
  }, 60_000);
});

describe('pass 2 over the grouped corpus', () => {
  // float16 shards are widened into the kernel's memory instead of read into it
  for (const dtype of ['float32', 'float16'] as const) {
    it(`gives the top words of the shard-by-shard path (kernels off) for ${dtype} shards, in segments of several shards`, async () => {
      const corpus = join(dir, `corpus-${dtype}.txt`);
      writeFileSync(corpus, corpusText(40));
      const out = join(dir, `out-${dtype}`);
      const request = { version: 1, corpus, model: 'test-hash:2x8', output: out, options: { shardSentences: 8, blockNeurons: 4, topK: 5, minThreshold: 0, render: 'none', dtype } } as const;
      const result = await runEmbedded(request, { jobs: 1 });
      const local = openStore(out);
      const { plan } = await readManifest(local, result.runId);
      expect(plan.shards.length).toBe(5);
      const parts = plan.blocks.map((b) => runKeys(plan.runId).topWordsBlock(b.index));
      const grouped = await Promise.all(parts.map(async (k) => await readTable(topWordsTable, await local.get(k))));
      // fresh modules: this process's pass-2 state (the kept reducer and its kernel memory) goes
      vi.resetModules();
      const kernels = await import('../pipelines/wasmKernels.ts');
      const stages = await import('../workers/stages/index.ts');
      kernels.useWasmKernels(false);
      try {
        const ctx = defaultContext({ store: () => local });
        for (const job of typeScoresJobs(plan, out)) await stages.runStage(ctx, 'type-scores', job.data);
      } finally {
        kernels.useWasmKernels(true);
      }
      for (const [i, k] of parts.entries()) {
        const byShard = await readTable(topWordsTable, await local.get(k));
        expect(byShard.token, k).toEqual(grouped[i]!.token);
        expect(Array.from(byShard.globalNeuron)).toEqual(Array.from(grouped[i]!.globalNeuron));
        expect(Array.from(byShard.count)).toEqual(Array.from(grouped[i]!.count));
        byShard.score.forEach((v, r) => expect(Math.abs(v - grouped[i]!.score[r]!), `${k} row ${r}`).toBeLessThanOrEqual(1e-12));
        byShard.mean.forEach((v, r) => expect(Math.abs(v - grouped[i]!.mean[r]!), `${k} row ${r}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(v))));
      }
    }, 60_000);
  }
});
