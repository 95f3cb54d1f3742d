import { describe, expect, it } from 'vitest';
import { InputError } from '../pipelines/errors.ts';
import { matrix, type Matrix } from '../pipelines/matrix.ts';
import { rankTopWords } from '../pipelines/topWords.ts';
import { TypeScoresBuilder, type TypeScores } from '../pipelines/typeScores.ts';
import { decodeTypeScores, encodeTypeScores, reduceTypeScores, TypeScoresReducer } from '../pipelines/typeScoresReduce.ts';
import { Vocab } from '../pipelines/vocab.ts';

function corpus(nSentences: number, cols: number, seed: number): { sentences: string[][]; acts: Matrix[] } {
  let s = seed;
  const rnd = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
  const words = ['the', 'a', 'cat', 'dog', 'é', 'e\u0301', '日本', '👍🏽', 'x\uD800', 'of', 'and'];
  const sentences: string[][] = [];
  const acts: Matrix[] = [];
  for (let i = 0; i < nSentences; i++) {
    const n = 1 + Math.floor(rnd() * 9);
    sentences.push(Array.from({ length: n }, () => words[Math.floor(rnd() ** 2 * words.length)]!));
    acts.push(matrix(Float32Array.from({ length: n * cols }, () => rnd() * 6 - 3), n, cols));
  }
  return { sentences, acts };
}

function build(sentences: string[][], acts: Matrix[], shard: number, firstNeuron: number, mu: Float64Array, from = 0, to = sentences.length): TypeScores {
  const b = new TypeScoresBuilder({ shard, firstNeuron, mu });
  for (let i = from; i < to; i++) b.add(sentences[i]!, acts[i]!);
  return decodeTypeScores(encodeTypeScores(b.finish()));
}

const { sentences, acts } = corpus(40, 6, 7);
const mu = Float64Array.of(0.1, -0.2, 0.3, 0, 0.05, -0.01);

describe('token vocabulary', () => {
  it('numbers types in first-occurrence order, by exact code points (no normalisation)', () => {
    const v = new Vocab();
    expect(['\u00e9', 'e\u0301', '\u00e9', '\u2126', '\u03a9', '👍', '👍🏽'].map((t) => v.intern(t))).toEqual([0, 1, 0, 2, 3, 4, 5]);
    expect(v.tokens).toEqual(['\u00e9', 'e\u0301', '\u2126', '\u03a9', '👍', '👍🏽']);
    expect(v.id('e\u0301')).toBe(1);
    expect(v.id('nope')).toBeUndefined();
    expect(() => v.token(6)).toThrow('type id 6 is out of range [0, 5]');
  });
});

describe('type scores across shards', () => {
  const whole = build(sentences, acts, 0, 0, mu);

  it('reduced from shards equal one pass over the corpus (same types, order, counts; sums to 1e-12)', () => {
    const parts = [build(sentences, acts, 0, 0, mu, 0, 13), build(sentences, acts, 1, 0, mu, 13, 14), build(sentences, acts, 2, 0, mu, 14, 40)];
    const r = reduceTypeScores(parts);
    expect(r.tokens).toEqual(whole.tokens);
    expect(Array.from(r.count)).toEqual(Array.from(whole.count));
    expect(Array.from(r.shards)).toEqual([0, 1, 2]);
    r.sumAbs.forEach((v, i) => expect(Math.abs(v - whole.sumAbs[i]!)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(v))));
    r.sumX.forEach((v, i) => expect(Math.abs(v - whole.sumX[i]!)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(v))));
    expect(rankTopWords(r).map((l) => l.map((w) => w.token))).toEqual(rankTopWords(whole).map((l) => l.map((w) => w.token)));
  });

  it('reduce to the same bytes whatever order the partials come in', () => {
    const parts = [0, 1, 2, 3].map((s) => build(sentences, acts, s, 0, mu, s * 10, s * 10 + 10));
    const bytes = encodeTypeScores(reduceTypeScores(parts));
    expect(encodeTypeScores(reduceTypeScores([parts[2]!, parts[0]!, parts[3]!, parts[1]!]))).toEqual(bytes);
    // A reducer fed out of shard order still orders types by first occurrence.
    const r = new TypeScoresReducer();
    for (const p of [parts[3]!, parts[1]!, parts[0]!, parts[2]!]) r.add(p);
    expect(r.finish().tokens).toEqual(whole.tokens);
  });

  it('added straight from builders (finishInto) equal the reduce of their partials, bit for bit', () => {
    const viaPartials = new TypeScoresReducer();
    const direct = new TypeScoresReducer({ expectedTypes: 4 });
    const b = new TypeScoresBuilder({ shard: 0, firstNeuron: 1, mu: mu.subarray(1, 5) });
    for (const s of [0, 1, 2]) {
      b.reset({ shard: s, firstNeuron: 1, mu: mu.subarray(1, 5) });
      for (let i = s * 13; i < s * 13 + 13; i++) b.add(sentences[i]!, acts[i]!);
      viaPartials.add(b.finish());
      b.finishInto(direct);
    }
    expect(encodeTypeScores(direct.finish())).toEqual(encodeTypeScores(viaPartials.finish()));
  });

  it('added into a prepared reducer (sized and touched up front, used and reset before) give the same bytes as into a fresh one', () => {
    const fresh = new TypeScoresReducer();
    const prepared = new TypeScoresReducer({ expectedTypes: 64 });
    prepared.prepare(4, 40);
    const b = new TypeScoresBuilder({ shard: 0, firstNeuron: 1, mu: mu.subarray(1, 5) });
    // a block's worth of other sums first, then a reset: prepare must not clear rows in use, reset must not keep them
    b.add(sentences[0]!, acts[0]!);
    b.finishInto(prepared);
    prepared.reset();
    prepared.prepare(4, 40);
    for (const s of [0, 1, 2]) {
      b.reset({ shard: s, firstNeuron: 1, mu: mu.subarray(1, 5) });
      for (let i = s * 13; i < s * 13 + 13; i++) b.add(sentences[i]!, acts[i]!);
      b.finishInto(fresh);
      b.finishInto(prepared);
      prepared.prepare(4, 40); // between shards: the rows already summed stay
    }
    expect(encodeTypeScores(prepared.finish())).toEqual(encodeTypeScores(fresh.finish()));
  });

  it('refuse to prepare for a shape that is not one, naming it', () => {
    const r = new TypeScoresReducer();
    expect(() => r.prepare(0, 10)).toThrow(new InputError('type scores: cannot prepare for 10 rows of 0 neurons'));
    expect(() => r.prepare(4, 1.5)).toThrow(InputError);
  });

  it('refuse a shard added twice (it would be counted twice)', () => {
    const p = build(sentences, acts, 5, 0, mu, 0, 3);
    expect(() => reduceTypeScores([p, p])).toThrow(new InputError('type scores: shard 5 was already added: it would be counted twice'));
  });

  it('refuse partials computed around a different mean or for another block', () => {
    const p = build(sentences, acts, 0, 0, mu, 0, 3);
    const other = Float64Array.from(mu);
    other[4] = 0.0500001;
    const q = build(sentences, acts, 1, 0, other, 3, 6);
    expect(() => reduceTypeScores([p, q])).toThrow('type scores: shard 1 used mean 0.0500001 for neuron 4, other shards 0.05: recompute it from the reduced moments');
    const r = build(sentences, acts, 1, 1, mu.subarray(0, 5), 3, 6);
    expect(() => reduceTypeScores([p, r])).toThrow('type scores: shard 1 covers neurons [1, 5], expected [0, 5]');
    expect(() => reduceTypeScores([])).toThrow('type scores: nothing to reduce');
  });

  it('of a neuron block equal the same neurons computed at full width, bit for bit', () => {
    const block = build(sentences, acts, 0, 2, mu.subarray(2, 5));
    for (let t = 0; t < whole.tokens.length; t++) {
      for (let j = 0; j < 3; j++) {
        expect(block.sumAbs[t * 3 + j]).toBe(whole.sumAbs[t * 6 + 2 + j]);
        expect(block.sumX[t * 3 + j]).toBe(whole.sumX[t * 6 + 2 + j]);
      }
    }
  });

  it('from a reused builder (reset, setBlock) equal those of a fresh one', () => {
    const b = new TypeScoresBuilder({ shard: 9, firstNeuron: 0, mu });
    for (let i = 0; i < 40; i++) b.add(sentences[i]!, acts[i]!);
    const big = encodeTypeScores(b.finish());
    b.setBlock({ firstNeuron: 3, mu: mu.subarray(3, 6) });
    expect(encodeTypeScores(b.finish())).toEqual(encodeTypeScores(build(sentences, acts, 9, 3, mu.subarray(3, 6))));
    // A smaller shard after a bigger one: no sums left over from the last one.
    b.reset({ shard: 2, firstNeuron: 1, mu: mu.subarray(1, 4) });
    for (let i = 30; i < 33; i++) b.add(sentences[i]!, acts[i]!);
    expect(encodeTypeScores(b.finish())).toEqual(encodeTypeScores(build(sentences, acts, 2, 1, mu.subarray(1, 4), 30, 33)));
    expect(big.length).toBeGreaterThan(0);
  });

  it('from token ids (addIds, as a shard stores them) equal those from the token strings, bit for bit', () => {
    const byStrings = new TypeScoresBuilder({ shard: 4, firstNeuron: 0, mu });
    const byIds = new TypeScoresBuilder({ shard: 4, firstNeuron: 0, mu });
    // sentences 0-9 as strings in both, then 10-39 as one chunk of ids whose
    // types list is not in first-occurrence order and repeats a type
    for (let i = 0; i < 10; i++) {
      byStrings.add(sentences[i]!, acts[i]!);
      byIds.add(sentences[i]!, acts[i]!);
    }
    const words = sentences.slice(10).flat();
    const types = [...new Set(words)].reverse();
    types.push(types[0]!); // a duplicate: the same type as id 0
    const ids = words.map((w, i) => (w === types[0] && i % 2 === 1 ? types.length - 1 : types.indexOf(w)));
    const rows = acts.slice(10);
    const data = new Float32Array(rows.reduce((n, m) => n + m.data.length, 0));
    let at = 0;
    for (const m of rows) { data.set(m.data, at); at += m.data.length; }
    byStrings.add(words, matrix(data, words.length, 6));
    byIds.addIds(types, Uint32Array.from(ids), matrix(data, words.length, 6), { label: 'shard 4' });
    expect(encodeTypeScores(byIds.finish())).toEqual(encodeTypeScores(byStrings.finish()));
    expect(() => byIds.addIds(['a'], Uint32Array.of(0, 1), matrix(new Float32Array(12), 2, 6), { label: 'shard 5' })).toThrow(new InputError('shard 5: token 1 has type 1 of 1'));
  });

  it('name the sentence when rows and tokens differ, and the ranges when the block is not covered', () => {
    const b = new TypeScoresBuilder({ shard: 0, firstNeuron: 4, mu: mu.subarray(0, 2) });
    expect(() => b.add(['a', 'b'], matrix(new Float32Array(18), 3, 6), { label: 'sentence 12' })).toThrow(new InputError('sentence 12: 2 tokens but 3 activation rows'));
    expect(() => b.add(['a'], matrix(new Float32Array(5), 1, 5), { label: 'sentence 13' })).toThrow('sentence 13: columns cover neurons [0, 4], block needs [4, 5]');
    b.add(['a'], matrix(new Float32Array(2), 1, 2), { columnOffset: 4 });
    expect(() => b.setBlock({ firstNeuron: 3, mu: mu.subarray(0, 2) })).toThrow('sentence 0: columns cover neurons [4, 5], block needs [3, 4]');
    expect(() => new TypeScoresBuilder({ shard: 0, firstNeuron: 0, mu: Float64Array.of(NaN) })).toThrow('type scores: mean of neuron 0 is NaN');
  });

  it('refuse NaN activations, naming sentence, token and neuron', () => {
    const b = new TypeScoresBuilder({ shard: 0, firstNeuron: 1, mu: Float64Array.of(0, 0) });
    b.add(['a', 'b'], matrix(Float32Array.of(0, 1, 2, 3, 4, 5), 2, 3));
    b.add(['c', 'd'], matrix(Float32Array.of(0, 1, 2, 3, 4, NaN), 2, 3), { label: 'sentence 7' });
    expect(() => b.finish()).toThrow(new InputError('sentence 7, token 1, neuron 2: activation NaN is not finite'));
  });
});

describe('ranking', () => {
  it('keeps the first numTokens of the full ranking (bounded heap), ties in first-occurrence order', () => {
    // Values on a coarse grid so that many types tie exactly.
    let seed = 11;
    const rnd = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const words = Array.from({ length: 300 }, (_, i) => `t${i}`);
    const sents = Array.from({ length: 200 }, () => Array.from({ length: 5 }, () => words[Math.floor(rnd() * words.length)]!));
    const ms = sents.map((s) => matrix(Float32Array.from({ length: s.length * 4 }, () => Math.floor(rnd() * 4) - 1.5), s.length, 4));
    const ts = build(sents, ms, 0, 0, new Float64Array(4));
    const full = rankTopWords(ts);
    for (const k of [1, 2, 7, 50, 1000]) {
      const top = rankTopWords(ts, { numTokens: k });
      top.forEach((list, j) => expect(list).toEqual(full[j]!.slice(0, k)));
    }
    expect(full[0]!.filter((w) => w.score === full[0]![0]!.score).length).toBeGreaterThan(5);
  });
});

describe('type scores bytes (layout v1)', () => {
  const p = build(sentences, acts, 3, 1, mu.subarray(1, 4));
  const bytes = encodeTypeScores(p);

  it('round-trip bit for bit, tokens exact (combining marks, emoji, lone surrogates)', () => {
    expect(bytes.length % 8).toBe(0);
    const back = decodeTypeScores(bytes);
    expect(back.tokens).toEqual(p.tokens);
    expect(back.tokens).toContain('x\uD800');
    expect(encodeTypeScores(back)).toEqual(bytes);
    const big = new Uint8Array(bytes.length + 5);
    big.set(bytes, 5);
    expect(encodeTypeScores(decodeTypeScores(big.subarray(5)))).toEqual(bytes);
  });

  it('name what is wrong with a corrupt partial (InputError, never retried)', () => {
    const bad = (f: (b: Uint8Array) => Uint8Array): (() => TypeScores) => () => decodeTypeScores(f(bytes.slice()));
    expect(bad((b) => { b[3] = 0x41; return b; })).toThrow(new InputError('type scores: bad magic "NXTA", expected "NXTS"'));
    expect(bad((b) => { b[4] = 9; return b; })).toThrow('type scores: version 9 is not supported (this build reads version 1)');
    expect(bad((b) => b.subarray(0, 100))).toThrow(/type scores: truncated: section 'count' needs \d+ bytes at offset 56, 44 left/);
    const longer = new Uint8Array(bytes.length + 8);
    longer.set(bytes);
    expect(() => decodeTypeScores(longer)).toThrow(/type scores: 8 unexpected trailing bytes/);
    // Second type's first offset moved before the first's: out of order.
    const nTypes = p.tokens.length;
    const offsets = 32 + 8 * (3 + nTypes);
    expect(bad((b) => { new DataView(b.buffer).setFloat64(offsets + 8, 0, true); return b; })).toThrow(/type scores: type 1 \(".*"\) is out of first-occurrence order/);
    const counts = 32 + 8 * 3;
    expect(bad((b) => { new DataView(b.buffer).setFloat64(counts, 0, true); return b; })).toThrow(/type scores: type 0 \(".*"\): count 0 is not a positive integer/);
  });
});
