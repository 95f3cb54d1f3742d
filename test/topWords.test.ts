import { describe, expect, it } from 'vitest';
import { globalNeuronOf, type Matrix } from '../pipelines/matrix.ts';
import { accumulateMoments, decodeMoments, emptyMoments, encodeMoments, mergeMoments } from '../pipelines/moments.ts';
import { getTopWords, rankTopWords, topWordsAllNeurons, type TopWord, type TopWordsOptions } from '../pipelines/topWords.ts';
import { TypeScoresBuilder, type TypeScores } from '../pipelines/typeScores.ts';
import { decodeTypeScores, encodeTypeScores, reduceTypeScores } from '../pipelines/typeScoresReduce.ts';
import { loadFixtures } from './topWordsFixtures.ts';

const fixtures = loadFixtures();

function expectMatches(actual: readonly TopWord[], expected: readonly TopWord[], scoreTol: number): void {
  expect(actual.map((w) => w.token)).toEqual(expected.map((w) => w.token));
  actual.forEach((w, i) => {
    const e = expected[i]!;
    expect(w.count).toBe(e.count);
    expect(Math.abs(w.score - e.score)).toBeLessThanOrEqual(scoreTol * Math.max(1, Math.abs(e.score)));
    expect(Math.abs(w.mean - e.mean)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(e.mean)));
  });
}

/**
 * The distributed composition: contiguous shards of sentences; per shard
 * moments and type scores per neuron block, each through its byte layout;
 * moments merged in shard order, type scores reduced from a scrambled list.
 */
function shardedTopWords(sentences: string[][], acts: Matrix[], nShards: number, blockSize: number, options: TopWordsOptions): TopWord[][] {
  const nNeurons = acts[0]!.cols;
  const per = Math.ceil(sentences.length / nShards);
  const shards = Array.from({ length: nShards }, (_, s) => ({ first: s * per, last: Math.min(sentences.length, (s + 1) * per) }));
  const moments = mergeMoments(shards.map(({ first, last }) => {
    const m = emptyMoments(nNeurons);
    for (let i = first; i < last; i++) accumulateMoments(m, acts[i]!, { label: `sentence ${i}` });
    return decodeMoments(encodeMoments(m));
  }));
  const out: TopWord[][] = [];
  for (let b = 0; b < nNeurons; b += blockSize) {
    const mu = moments.mean.subarray(b, Math.min(nNeurons, b + blockSize));
    const partials: TypeScores[] = shards.map(({ first, last }, s) => {
      const builder = new TypeScoresBuilder({ shard: s, firstNeuron: b, mu });
      for (let i = first; i < last; i++) builder.add(sentences[i]!, acts[i]!, { label: `sentence ${i}` });
      return decodeTypeScores(encodeTypeScores(builder.finish()));
    });
    const scrambled = partials.map((p, i) => ({ p, k: (i * 7 + 3) % partials.length })).sort((x, y) => x.k - y.k).map((x) => x.p);
    out.push(...rankTopWords(reduceTypeScores(scrambled), options));
  }
  return out;
}

describe('top words match NeuroX get_top_words (fixtures from tools/fixtures/make_topwords_fixtures.py)', () => {
  it('has the fixture cases the parity claims rest on', () => {
    expect(fixtures.map((f) => f.name)).toEqual(expect.arrayContaining(['basic', 'layers', 'num_tokens', 'random', 'thresholds', 'ties', 'unicode']));
  });

  for (const f of fixtures) {
    describe(f.name, () => {
      f.queries.forEach((q, qi) => {
        const label = `query ${qi} ${JSON.stringify(q.options)}`;
        it(`${label}: every neuron at once gives NeuroX's tokens, order and scores (1e-6)`, () => {
          const all = topWordsAllNeurons(f.sentences, f.activations, q.options);
          expect(all).toHaveLength(f.activations[0]!.cols);
          for (const e of q.neurons) expectMatches(all[e.neuron]!, e.topWords, 1e-6);
        });
        it(`${label}: one neuron at a time gives NeuroX's result, identical to the all-neuron path`, () => {
          const all = topWordsAllNeurons(f.sentences, f.activations, q.options);
          for (const e of q.neurons) {
            const one = getTopWords(f.sentences, f.activations, e.neuron, q.options);
            expectMatches(one, e.topWords, 1e-6);
            expect(one).toEqual(all[e.neuron]);
          }
        });
        it(`${label}: sharded, blocked and serialised, the reduce gives the same top words`, () => {
          const all = topWordsAllNeurons(f.sentences, f.activations, q.options);
          for (const [nShards, block] of [[2, 1], [3, 5], [f.sentences.length, 64]] as const) {
            const sharded = shardedTopWords(f.sentences, f.activations, nShards, block, q.options);
            for (const e of q.neurons) {
              expectMatches(sharded[e.neuron]!, e.topWords, 1e-6);
              expectMatches(sharded[e.neuron]!, all[e.neuron]!, 1e-12);
            }
          }
        });
      });
      if (f.nLayers !== undefined && f.dModel !== undefined) {
        it('indexes neurons globally over concatenated layers (layer * dModel + neuron)', () => {
          for (const e of f.queries[0]!.neurons) {
            expect(globalNeuronOf(e.layer!, e.neuronInLayer!, f.nLayers!, f.dModel!)).toBe(e.neuron);
          }
        });
      }
    });
  }
});

describe('top words options (NeuroX semantics)', () => {
  const sentences = [['a', 'b', 'c', 'd']];
  // mu = 0: scores a 1, b 1, c 0.025, d 0.025
  const acts = [{ data: Float32Array.of(4, -4, 0.1, -0.1), rows: 4, cols: 1 }];
  it('refuses numTokens together with minThreshold, as NeuroX does', () => {
    expect(() => getTopWords(sentences, acts, 0, { numTokens: 2, minThreshold: 0.2 })).toThrow('cannot give both numTokens (2) and minThreshold (0.2)');
  });
  it('keeps the default 0.1 threshold when only numTokens is given', () => {
    expect(getTopWords(sentences, acts, 0, { numTokens: 4 }).map((w) => w.token)).toEqual(['a', 'b']);
    expect(getTopWords(sentences, acts, 0, { minThreshold: 0 }).map((w) => w.token)).toEqual(['a', 'b', 'c', 'd']);
  });
});
