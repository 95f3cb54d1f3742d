/**
 * Incremental re-analysis: a run over a grown (or edited) corpus reuses the
 * activation cache of every shard whose text, model and options did not
 * change, so only the new or changed shards go through the model, and its
 * results are byte-identical to a run from scratch.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ExtractedSentence, ObjectStore, Extractor } from '../pipelines/ports.ts';
import { renderKeys } from '../pipelines/renderKeys.ts';
import type { AnalysisResult } from '../schemas/analysis.ts';
import { runEmbedded } from '../workers/runner/embedded.ts';
import { loadModel } from '../workers/stages/models.ts';
import { openStore } from '../workers/store/index.ts';
import { corpusText } from './pipelineHelpers.ts';

const MODEL = 'test-hash:3x10';
let dir = '';

/** The model, handing each sentence it extracts to `see` (numbered over the whole run) before yielding it. */
function watchedModel(see: (s: ExtractedSentence, n: number) => void): (spec: string) => Promise<Extractor> {
  let n = 0;
  return async (spec) => {
    const inner = await loadModel(spec);
    return {
      info: inner.info,
      close: () => inner.close(),
      async *extract(sentences, options) {
        for await (const s of inner.extract(sentences, options)) {
          see(s, n++);
          yield s;
        }
      },
    };
  };
}

/** The model, counting the sentences it is asked to extract. */
function countingModel(counter: { sentences: number }): (spec: string) => Promise<Extractor> {
  return watchedModel(() => counter.sentences++);
}

async function analyse(corpus: string, output: string, counter: { sentences: number }, topSentences = 3): Promise<AnalysisResult> {
  const path = join(dir, `corpus-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(path, corpus);
  return await runEmbedded(
    {
      version: 1, corpus: path, model: MODEL, output,
      // 4 sentences per shard: the 40-sentence corpus is 10 shards
      options: { shardSentences: 4, blockNeurons: 8, topK: 5, topSentences, histogramBins: 6, render: { topVariance: 4 } },
    },
    { context: { model: countingModel(counter) } },
  );
}

/** Every output object of a run that does not carry a timestamp: Parquet tables, renders, per-layer index. */
async function outputs(store: ObjectStore, r: AnalysisResult): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const key of [r.neuronStats, r.topWords, r.topSentences, r.histograms]) out.set(key, Buffer.from(await store.get(key)));
  const rk = renderKeys(r.runId);
  for (const sub of ['renders/', 'index/']) for await (const o of store.list(rk.of(sub))) out.set(o.key, Buffer.from(await store.get(o.key)));
  return out;
}

function expectSame(a: Map<string, Buffer>, b: Map<string, Buffer>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [k, v] of a) expect(v.equals(b.get(k)!), k).toBe(true);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'neurox-incremental-'));
});

describe('incremental re-analysis', () => {
  it('after appending 10% new sentences extracts only the new shard, and equals a run from scratch', async () => {
    const output = join(dir, 'grown');
    const first = { sentences: 0 };
    const before = await analyse(corpusText(40), output, first);
    expect(first.sentences).toBe(40);
    expect(before.cachedShards).toBe(0);

    const again = { sentences: 0 };
    const grown = await analyse(corpusText(44), output, again);
    expect(again.sentences).toBe(4); // the one new shard, nothing else
    expect(grown.nShards).toBe(11);
    expect(grown.cachedShards).toBe(10);
    expect(grown.runId).not.toBe(before.runId);

    const scratch = { sentences: 0 };
    const fresh = await analyse(corpusText(44), join(dir, 'scratch'), scratch);
    expect(scratch.sentences).toBe(44);
    expect(fresh.runId).toBe(grown.runId);
    expectSame(await outputs(openStore(output), grown), await outputs(openStore(fresh.output), fresh));
  }, 300_000);

  it('after editing one sentence extracts only that sentence\'s shard, and equals a run from scratch', async () => {
    const output = join(dir, 'edited');
    await analyse(corpusText(40), output, { sentences: 0 });
    const lines = corpusText(40).split('\n');
    lines[13] = 'a brand new sentence replaces the old one';
    const edited = lines.join('\n');
    const again = { sentences: 0 };
    const result = await analyse(edited, output, again);
    expect(again.sentences).toBe(4); // shard 3 (sentences 12-15)
    expect(result.cachedShards).toBe(9);
    const fresh = await analyse(edited, join(dir, 'edited-scratch'), { sentences: 0 });
    expectSame(await outputs(openStore(output), result), await outputs(openStore(fresh.output), fresh));
  }, 300_000);

  it('with another number of top sentences runs no model at all: the cached shards are re-ranked from their stored activations', async () => {
    const output = join(dir, 'rek');
    await analyse(corpusText(40), output, { sentences: 0 }, 3);
    const again = { sentences: 0 };
    const result = await analyse(corpusText(40), output, again, 5);
    expect(again.sentences).toBe(0);
    expect(result.cachedShards).toBe(10);
    const fresh = await analyse(corpusText(40), join(dir, 'rek-scratch'), { sentences: 0 }, 5);
    expectSame(await outputs(openStore(output), result), await outputs(openStore(fresh.output), fresh));
  }, 300_000);

  // jobs 2: the shard is stored on a stage thread while the model runs over the next one
  it.each([1, 2])('a NaN activation fails the run naming shard, token and neuron, and leaves that shard no cache entry: a fixed model then extracts it again (jobs %i)', async (jobs) => {
    const output = join(dir, `nan-${jobs}`);
    const path = join(dir, `corpus-nan-${jobs}.txt`);
    writeFileSync(path, corpusText(40));
    const request = { version: 1 as const, corpus: path, model: MODEL, output, options: { shardSentences: 4, blockNeurons: 8, topK: 5, histogramBins: 6, render: 'none' as const } };
    // sentence 21 (shard 5) gives NaN for its second word, neuron 7 of the first layer
    const nanModel = watchedModel((s, n) => {
      if (n === 21) s.data[1 * s.dModel + 7] = NaN;
    });
    const row = corpusText(40).split('\n')[20]!.split(' ').length + 1; // the shard's rows: sentence 20's tokens, then 21's
    await expect(runEmbedded(request, { context: { model: nanModel }, jobs })).rejects.toThrow(`shard 5 (sentences 20-23), token ${row}, neuron 7: activation NaN is not finite`);
    const store = openStore(output);
    const entries: string[] = [];
    for await (const o of store.list('cache/')) entries.push(o.key);
    expect(entries.some((k) => k.endsWith('activations.nxs'))).toBe(true); // the shards before it are cached
    expect(entries.filter((k) => k.endsWith('activations.nxs'))).toHaveLength(entries.filter((k) => k.endsWith('meta.json')).length); // no orphan activations
    const again = { sentences: 0 };
    const result = await analyse(corpusText(40), output, again);
    expect(again.sentences).toBe(40 - 4 * 5); // shards 0-4 came from the cache
    expect(result.cachedShards).toBe(5);
  }, 300_000);
});
