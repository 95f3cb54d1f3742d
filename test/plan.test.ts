import { describe, expect, it } from 'vitest';
import {
  CorpusSplitter,
  DEFAULT_RUN_OPTIONS,
  jobIds,
  planRun,
  runIdFor,
  shardSentencesOf,
  splitCorpus,
  stageTotals,
  type ExtractionOptions,
  type PlanInput,
} from '../pipelines/plan.ts';
import { InputError } from '../pipelines/errors.ts';
import { runKeys } from '../pipelines/keys.ts';

const extract: ExtractionOptions = { aggregation: 'last', includeSpecialTokens: false, ignoreEmbeddings: false, batchSize: 16, dtype: 'float32' };
const model = { id: 'test-model@1', nLayers: 3, dModel: 100, maxLength: 128 };

function corpusOf(n: number): string {
  return Array.from({ length: n }, (_, i) => `sentence number ${i} says hello`).join('\n') + '\n';
}

function input(text: string, over: Partial<PlanInput> = {}): PlanInput {
  const options = { ...DEFAULT_RUN_OPTIONS, shardSentences: 4, blockNeurons: 64 };
  return {
    corpusUrl: 'memory://t/corpus.txt',
    corpus: splitCorpus(text, options.shardSentences),
    modelSpec: 'test',
    model,
    layers: [0, 1, 2],
    extract,
    options,
    ...over,
  };
}

describe('corpus splitting', () => {
  it('cuts shards of S whole lines whose byte ranges tile the corpus', () => {
    const text = corpusOf(10);
    const bytes = new TextEncoder().encode(text);
    const c = splitCorpus(bytes, 4);
    expect(c.shards.map((s) => s.nSentences)).toEqual([4, 4, 2]);
    expect(c.shards.map((s) => s.firstSentence)).toEqual([0, 4, 8]);
    expect(c.shards[0]!.byteStart).toBe(0);
    c.shards.forEach((s, i) => {
      if (i > 0) expect(s.byteStart).toBe(c.shards[i - 1]!.byteEnd);
      const lines = shardSentencesOf(bytes.subarray(s.byteStart, s.byteEnd), s, 'k');
      expect(lines).toEqual(text.split('\n').slice(s.firstSentence, s.firstSentence + s.nSentences));
    });
    expect(c.shards[2]!.byteEnd).toBe(bytes.length);
    expect(c.nSentences).toBe(10);
    expect(c.nWords).toBe(50);
  });

  it('does not depend on how the bytes are chunked', () => {
    const text = 'héllo wörld\r\nsecond line\n\nfourth 日本語 line\nlast line without newline';
    const bytes = new TextEncoder().encode(text);
    const whole = splitCorpus(bytes, 2);
    for (const size of [1, 2, 3, 7]) {
      const s = new CorpusSplitter(2);
      for (let i = 0; i < bytes.length; i += size) s.push(bytes.slice(i, i + size));
      expect(s.end()).toEqual(whole);
    }
    expect(whole.nSentences).toBe(4);
    expect(whole.blankLines).toBe(1);
    expect(whole.shards.at(-1)!.byteEnd).toBe(bytes.length);
  });

  it('gives CRLF and LF copies of a corpus the same shard hashes', () => {
    const lf = splitCorpus('a b\nc d\ne f\n', 2);
    const crlf = splitCorpus('a b\r\nc d\r\ne f\r\n', 2);
    expect(crlf.shards.map((s) => s.hash)).toEqual(lf.shards.map((s) => s.hash));
    expect(crlf.hash).toBe(lf.hash);
  });

  it('strips lines and skips blank ones as `neurox extract` does: sentence i is the i-th non-empty line', () => {
    const text = '  padded  line \n\n\t\nnext\u00a0line\r\n';
    const c = splitCorpus(text, 10);
    expect(c.nSentences).toBe(2);
    expect(c.blankLines).toBe(2);
    const bytes = new TextEncoder().encode(text);
    expect(shardSentencesOf(bytes, c.shards[0]!, 'k')).toEqual(['padded  line', 'next\u00a0line']);
    expect(c.nWords).toBe(3 + 1);
    // blank lines and surrounding whitespace do not change what is analysed, nor its identity
    expect(splitCorpus('padded  line\nnext\u00a0line', 10).hash).toBe(c.hash);
  });

  it('refuses an empty corpus, an all-blank corpus and invalid UTF-8, naming the line', () => {
    expect(() => splitCorpus('', 4, 'c.txt')).toThrow(new InputError('c.txt is empty: no sentences to analyze'));
    expect(() => splitCorpus('\n \t\n', 4, 'c.txt')).toThrow('c.txt has no sentences: all 2 lines are blank');
    const bad = new Uint8Array([0x61, 0x0a, 0x62, 0xff, 0x0a]);
    expect(() => splitCorpus(bad, 4, 'c.txt')).toThrow('c.txt line 2: not valid UTF-8');
  });

  it('notices a shard whose text changed after planning', () => {
    const c = splitCorpus('a b\nc d\n', 2);
    const changed = new TextEncoder().encode('a b\nc e\n');
    expect(() => shardSentencesOf(changed, c.shards[0]!, 'corpus.txt')).toThrow(/corpus.txt: shard 0 changed since it was planned/);
  });
});

describe('plan', () => {
  it('reuses the cache keys of unchanged shards when the corpus grows', () => {
    const small = planRun(input(corpusOf(8)));
    const grown = planRun(input(corpusOf(11)));
    expect(grown.shards.slice(0, 2).map((s) => s.cache)).toEqual(small.shards.map((s) => s.cache));
    expect(grown.shards[2]!.cache.prefix.startsWith('cache/')).toBe(true);
    // ... while the runs themselves differ
    expect(grown.runId).not.toBe(small.runId);
  });

  it('derives the run id from corpus, model spec and options, not from the batch size', () => {
    const base = planRun(input(corpusOf(8)));
    expect(planRun(input(corpusOf(8))).runId).toBe(base.runId);
    expect(planRun(input(corpusOf(8), { extract: { ...extract, batchSize: 3 } })).runId).toBe(base.runId);
    expect(planRun(input(corpusOf(8), { extract: { ...extract, aggregation: 'first' } })).runId).not.toBe(base.runId);
    expect(planRun(input(corpusOf(8), { modelSpec: 'other' })).runId).not.toBe(base.runId);
    const o = { ...DEFAULT_RUN_OPTIONS, shardSentences: 4, blockNeurons: 64, topK: 10 };
    expect(planRun(input(corpusOf(8), { options: o })).runId).not.toBe(base.runId);
    expect(base.runId).toBe(runIdFor({ corpusHash: base.corpus.hash, modelSpec: 'test', extract, options: base.options }));
    expect(base.runId).toMatch(/^r-[0-9a-f]{20}$/);
  });

  it('takes a given run name, and refuses names that are unsafe as keys or job ids', () => {
    expect(planRun(input(corpusOf(3), { runName: 'nightly-2024.06' })).runId).toBe('nightly-2024.06');
    for (const bad of ['a/b', 'a:b', '../x', '', '123', '.hidden']) {
      expect(() => planRun(input(corpusOf(3), { runName: bad }))).toThrow(InputError);
    }
  });

  it('keys the activation cache on the model identity and the stored-bytes options', () => {
    const base = planRun(input(corpusOf(4)));
    const otherModel = planRun(input(corpusOf(4), { model: { ...model, id: 'test-model@2' } }));
    const f16 = planRun(input(corpusOf(4), { extract: { ...extract, dtype: 'float16' } }));
    const otherBlock = planRun(input(corpusOf(4), { options: { ...base.options, blockNeurons: 32 } }));
    const k = base.shards[0]!.cache.activations;
    expect(otherModel.shards[0]!.cache.activations).not.toBe(k);
    expect(f16.shards[0]!.cache.activations).not.toBe(k);
    expect(otherBlock.shards[0]!.cache.activations).not.toBe(k);
    // the model spec alone (a path) is not the identity: the same weights elsewhere share the cache
    expect(planRun(input(corpusOf(4), { modelSpec: '/elsewhere' })).shards[0]!.cache.activations).toBe(k);
  });

  it('covers every neuron of the selected layers with blocks', () => {
    const p = planRun(input(corpusOf(5), { layers: [2, 0] }));
    expect(p.nNeurons).toBe(200);
    expect(p.blocks.map((b) => [b.start, b.end])).toEqual([[0, 64], [64, 128], [128, 192], [192, 200]]);
    expect(stageTotals(p)).toEqual({ analyze: 1, extract: 2, 'reduce-moments': 1, 'type-scores': 4, render: 4, 'render-index': 1 });
    expect(() => planRun(input(corpusOf(5), { layers: [3] }))).toThrow('layer 3 is out of range [0, 2]');
  });

  it('names jobs deterministically, never with ":" nor as integers, and keys outputs under runs/<id>/', () => {
    const p = planRun(input(corpusOf(5)));
    const ids = [jobIds.extract(p.runId, 1), jobIds.reduceMoments(p.runId), jobIds.typeScores(p.runId, 2)];
    expect(ids[0]).toBe(`${p.runId}.extract.s000001`);
    for (const id of ids) {
      expect(id).not.toContain(':');
      expect(Number.isInteger(Number(id))).toBe(false);
    }
    const k = runKeys(p.runId);
    expect(k.topWordsBlock(2)).toBe(`runs/${p.runId}/top-words/b0002.parquet`);
    expect(k.neuronStats).toBe(`runs/${p.runId}/neuron_stats.parquet`);
  });
});
