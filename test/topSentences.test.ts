import { describe, expect, it } from 'vitest';
import { matrix, toTokenMajor, type Matrix } from '../pipelines/matrix.ts';
import { TopSentences } from '../pipelines/topSentences.ts';

/** mulberry32: small seeded PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Sentences of random length; values drawn from a small set so ties happen often. */
function corpus(seed: number, nSentences: number, nNeurons: number): Matrix[] {
  const r = rng(seed);
  const out: Matrix[] = [];
  for (let s = 0; s < nSentences; s++) {
    const nTokens = 1 + Math.floor(r() * 6);
    const data = new Float32Array(nTokens * nNeurons);
    for (let i = 0; i < data.length; i++) data[i] = (Math.floor(r() * 21) - 10) / 4;
    out.push(matrix(data, nTokens, nNeurons));
  }
  return out;
}

/** Brute force: per neuron, every sentence's best token, sorted by the documented order. */
function reference(sentences: Matrix[], nNeurons: number, k: number) {
  const res = [];
  for (let c = 0; c < nNeurons; c++) {
    const entries = sentences.map((m, s) => {
      let best = -1;
      let val = 0;
      let tok = 0;
      for (let t = 0; t < m.rows; t++) {
        const v = m.data[t * nNeurons + c]!;
        if (Math.abs(v) > best) { best = Math.abs(v); val = v; tok = t; }
      }
      return { sentenceIndex: s, maxActivation: val, tokenIndex: tok };
    });
    entries.sort((a, b) => Math.abs(b.maxActivation) - Math.abs(a.maxActivation) || a.sentenceIndex - b.sentenceIndex);
    let max = -Infinity;
    let min = Infinity;
    for (const m of sentences) for (let t = 0; t < m.rows; t++) { max = Math.max(max, m.data[t * nNeurons + c]!); min = Math.min(min, m.data[t * nNeurons + c]!); }
    res.push({ top: entries.slice(0, k), max, min });
  }
  return res;
}

function shuffle<T>(xs: T[], r: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); [a[i], a[j]] = [a[j]!, a[i]!]; }
  return a;
}

describe('top sentences per neuron', () => {
  it('keeps the k sentences with the largest |activation|, signed, with their token, like a brute-force sort', () => {
    for (const seed of [1, 2, 3]) {
      const nNeurons = 7;
      const k = 4;
      const sentences = corpus(seed, 40, nNeurons);
      const acc = new TopSentences(nNeurons, k);
      sentences.forEach((m, s) => acc.add(s, m));
      const ref = reference(sentences, nNeurons, k);
      for (let c = 0; c < nNeurons; c++) {
        expect(acc.top(c)).toEqual(ref[c]!.top);
        expect(acc.max[c]).toBe(ref[c]!.max);
        expect(acc.min[c]).toBe(ref[c]!.min);
      }
      expect(acc.sentences).toBe(40);
    }
  });

  it('merges shard splits in any order into exactly the result of one pass', () => {
    const nNeurons = 9;
    const k = 5;
    const sentences = corpus(42, 60, nNeurons);
    const whole = new TopSentences(nNeurons, k);
    sentences.forEach((m, s) => whole.add(s, m));
    const expected = whole.encode();
    const r = rng(7);
    for (let trial = 0; trial < 20; trial++) {
      // random cut points, then the shards merged in a random order
      const cuts = [0, ...Array.from({ length: 1 + Math.floor(r() * 5) }, () => Math.floor(r() * 61)), 60].sort((a, b) => a - b);
      const shards: TopSentences[] = [];
      for (let i = 0; i + 1 < cuts.length; i++) {
        const acc = new TopSentences(nNeurons, k);
        for (let s = cuts[i]!; s < cuts[i + 1]!; s++) acc.add(s, sentences[s]!);
        shards.push(acc);
      }
      const merged = new TopSentences(nNeurons, k);
      for (const sh of shuffle(shards, r)) merged.merge(TopSentences.decode(sh.encode()));
      expect(merged.encode()).toEqual(expected);
    }
  });

  it('gives the same result from shard-local sentence indices shifted by each shard\'s first sentence', () => {
    const nNeurons = 4;
    const sentences = corpus(5, 30, nNeurons);
    const whole = new TopSentences(nNeurons, 3);
    sentences.forEach((m, s) => whole.add(s, m));
    const merged = new TopSentences(nNeurons, 3);
    for (const [first, end] of [[20, 30], [0, 7], [7, 20]] as const) {
      const local = new TopSentences(nNeurons, 3);
      for (let s = first; s < end; s++) local.add(s - first, sentences[s]!);
      merged.merge(TopSentences.decode(local.encode()).shift(first));
    }
    expect(merged.encode()).toEqual(whole.encode());
  });

  it('gives the same result from a shard\'s neuron groups as stored (rows of consecutive sentences) placed side by side', () => {
    const nNeurons = 7;
    const sentences = corpus(8, 12, nNeurons);
    const whole = new TopSentences(nNeurons, 3);
    sentences.forEach((m, s) => whole.add(s + 40, m));
    const lengths = sentences.map((m) => m.rows);
    const all = new TopSentences(nNeurons, 3);
    for (const [start, end] of [[0, 3], [3, 6], [6, 7]] as const) {
      // the group's columns [start, end) of every sentence, rows stacked
      const rows = lengths.reduce((a, b) => a + b, 0);
      const data = new Float32Array(rows * (end - start));
      let r = 0;
      for (const m of sentences) for (let t = 0; t < m.rows; t++, r++) for (let c = start; c < end; c++) data[r * (end - start) + c - start] = m.data[t * nNeurons + c]!;
      const part = new TopSentences(end - start, 3, start);
      part.addRows(matrix(data, rows, end - start), lengths, 40);
      all.place(part);
    }
    expect(all.encode()).toEqual(whole.encode());
    expect(() => new TopSentences(2, 3).addRows(matrix(new Float32Array(4), 2, 2), [1])).toThrow('1 sentences have 1 tokens but the block has 2 rows');
  });

  it('slices a block out that equals the block accumulated on its own', () => {
    const sentences = corpus(21, 15, 6);
    const whole = new TopSentences(6, 2);
    sentences.forEach((m, s) => whole.add(s, m));
    const alone = whole.slice(2, 5);
    expect(alone.top(0)).toEqual(whole.top(2));
    expect([alone.firstNeuron, alone.nNeurons, alone.max[2], alone.min[2]]).toEqual([2, 3, whole.max[4], whole.min[4]]);
    expect(() => whole.slice(4, 7)).toThrow('cannot slice neurons [4, 7) out of [0, 6)');
  });

  it('names model layers in its rows when the run keeps a subset of layers', () => {
    const acc = new TopSentences(4, 1);
    acc.add(0, matrix(new Float32Array([1, 2, 3, 4]), 1, 4));
    expect(acc.rows(2, [3, 7]).map((r) => [r.layer, r.neuron, r.globalNeuron])).toEqual([[3, 0, 0], [3, 1, 1], [7, 0, 2], [7, 1, 3]]);
  });

  it('breaks equal |activation| by the lower sentence index, whatever the sign or arrival order', () => {
    const acc = new TopSentences(1, 2);
    acc.add(5, matrix(new Float32Array([2]), 1, 1));
    acc.add(9, matrix(new Float32Array([-2]), 1, 1));
    acc.add(3, matrix(new Float32Array([-2]), 1, 1));
    expect(acc.top(0)).toEqual([
      { sentenceIndex: 3, maxActivation: -2, tokenIndex: 0 },
      { sentenceIndex: 5, maxActivation: 2, tokenIndex: 0 },
    ]);
  });

  it('takes the first token when two tokens of a sentence tie on |activation|', () => {
    const acc = new TopSentences(1, 1);
    acc.add(0, matrix(new Float32Array([1, -3, 3, 2]), 4, 1));
    expect(acc.top(0)).toEqual([{ sentenceIndex: 0, maxActivation: -3, tokenIndex: 1 }]);
  });

  it('reads layer-major sentences without transposing, identically to token-major', () => {
    const r = rng(11);
    const a = new TopSentences(2 * 3, 3);
    const b = new TopSentences(2 * 3, 3);
    for (let s = 0; s < 25; s++) {
      const nTokens = 1 + Math.floor(r() * 4);
      const data = Float32Array.from({ length: 2 * nTokens * 3 }, () => Math.round((r() - 0.5) * 8));
      const sent = { tokens: Array.from({ length: nTokens }, (_, i) => `w${i}`), data, nLayers: 2, nTokens, dModel: 3 };
      a.addSentence(s, sent);
      b.add(s, toTokenMajor(sent));
    }
    expect(a.encode()).toEqual(b.encode());
  });

  it('ignores NaN activations for both the top list and max/min', () => {
    const acc = new TopSentences(2, 3);
    acc.add(0, matrix(new Float32Array([NaN, NaN, NaN, 1]), 2, 2));
    acc.add(1, matrix(new Float32Array([0.5, -4]), 1, 2));
    expect(acc.top(0)).toEqual([{ sentenceIndex: 1, maxActivation: 0.5, tokenIndex: 0 }]);
    expect(acc.top(1).map((e) => e.sentenceIndex)).toEqual([1, 0]);
    expect([acc.max[0], acc.min[0], acc.max[1], acc.min[1]]).toEqual([0.5, 0.5, 1, -4]);
  });

  it('writes Parquet rows with layer and neuron split from the global neuron, rank 0 first', () => {
    const acc = new TopSentences(4, 2, 4); // global neurons 4..7, dModel 3
    acc.add(0, matrix(new Float32Array([1, 2, 3, 4]), 1, 4));
    acc.add(1, matrix(new Float32Array([-5, 0, 0, 0]), 1, 4));
    const rows = acc.rows(3);
    expect(rows[0]).toEqual({ layer: 1, neuron: 1, globalNeuron: 4, rank: 0, sentenceIndex: 1, maxActivation: -5, tokenIndex: 0 });
    expect(rows[1]).toEqual({ layer: 1, neuron: 1, globalNeuron: 4, rank: 1, sentenceIndex: 0, maxActivation: 1, tokenIndex: 0 });
    expect(rows.map((r) => [r.layer, r.neuron])).toEqual([[1, 1], [1, 1], [1, 2], [1, 2], [2, 0], [2, 0], [2, 1], [2, 1]]);
  });

  it('refuses bad input with a message that names the value', () => {
    const acc = new TopSentences(3, 2);
    expect(() => acc.add(0, matrix(new Float32Array(4), 1, 4))).toThrow('sentence 0 has 4 neurons, expected 3');
    expect(() => acc.add(-1, matrix(new Float32Array(3), 1, 3))).toThrow('sentence index -1');
    expect(() => acc.top(3)).toThrow('neuron 3 is out of range [0, 2]');
    expect(() => acc.merge(new TopSentences(3, 3))).toThrow('k=3');
    const bytes = acc.encode();
    expect(() => TopSentences.decode(bytes.subarray(0, bytes.length - 1))).toThrow('expected');
    const bad = bytes.slice();
    bad[4] = 9;
    expect(() => TopSentences.decode(bad)).toThrow('version 9 is not supported');
    bad[0] = 0;
    expect(() => TopSentences.decode(bad)).toThrow('bad magic');
  });

  it('refuses to merge a shard twice when it shows up in both parts', () => {
    const a = new TopSentences(1, 2);
    a.add(4, matrix(new Float32Array([1]), 1, 1));
    const b = TopSentences.decode(a.encode());
    expect(() => a.merge(b)).toThrow('sentence 4 was counted in both merged parts');
  });

  it('decodes from a byte view at an unaligned offset', () => {
    const acc = new TopSentences(3, 2);
    acc.add(0, matrix(new Float32Array([1, 2, 3]), 1, 3));
    const bytes = acc.encode();
    const padded = new Uint8Array(bytes.length + 1);
    padded.set(bytes, 1);
    expect(TopSentences.decode(padded.subarray(1)).encode()).toEqual(bytes);
  });
});
