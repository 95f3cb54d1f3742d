import { describe, expect, it } from 'vitest';
import { InputError } from '../pipelines/errors.ts';
import { matrix } from '../pipelines/matrix.ts';
import { cutSegments, groupCorpusTypes, type CorpusGrouping, type ShardTypes } from '../pipelines/typeGrouping.ts';
import { TypeScoresBuilder, type TypeScores } from '../pipelines/typeScores.ts';
import { encodeTypeScores, TypeScoresReducer } from '../pipelines/typeScoresReduce.ts';
import { KernelMemory } from '../pipelines/wasmKernels.ts';
import { ReusableMemory } from '../pipelines/bytes.ts';

/** Shards of random tokens (a few frequent, many rare, some shared across shards) and their activations. */
function shards(sizes: readonly number[], B: number, seed: number): Array<ShardTypes & { typeIds: Uint32Array; values: Float32Array }> {
  let s = seed;
  const rnd = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
  const vocab = ['the', 'a', 'é', 'e\u0301', '日本', '👍🏽', 'x\uD800', '__proto__', ...Array.from({ length: 40 }, (_, i) => `w${i}`)];
  return sizes.map((n, shard) => {
    const types: string[] = [];
    const local = new Map<string, number>();
    const typeIds = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const t = vocab[Math.floor(rnd() ** 2 * vocab.length)]!;
      if (!local.has(t)) {
        local.set(t, types.length);
        types.push(t);
      }
      typeIds[i] = local.get(t)!;
    }
    return { shard: shard * 2 + 1, types, typeIds, values: Float32Array.from({ length: n * B }, () => rnd() * 6 - 3) };
  });
}

/** The block over a grouped corpus, as pass 2 runs it (with reducer `r`: a fresh one by default). */
function sumGrouped(g: CorpusGrouping, data: ReadonlyArray<{ values: Float32Array }>, firstNeuron: number, mu: Float64Array, r = new TypeScoresReducer()): TypeScores {
  expect(r.beginCorpus(g, { firstNeuron, mu })).toBe(true);
  g.segments.forEach((seg, si) => {
    const rows = r.segmentRows(si);
    expect(rows.length).toBe(seg.rows * mu.length);
    for (let i = seg.first; i < seg.end; i++) rows.set(data[i]!.values, seg.rowStart[i - seg.first]! * mu.length);
    r.sumSegment(si, () => {
      throw new InputError('non-finite');
    });
  });
  return r.finish();
}

/** The same block shard by shard through builders (the per-shard path). */
function sumByShard(corpus: ReadonlyArray<ShardTypes & { values: Float32Array }>, firstNeuron: number, mu: Float64Array): TypeScores {
  const r = new TypeScoresReducer();
  for (const s of corpus) {
    const b = new TypeScoresBuilder({ shard: s.shard, firstNeuron, mu });
    b.addIds(s.types, s.typeIds, matrix(s.values, s.typeIds.length, mu.length), { columnOffset: firstNeuron });
    b.finishInto(r);
  }
  return r.finish();
}

const B = 6;
const mu = Float64Array.of(0.1, -0.2, 0.3, 0, 0.05, -0.01);
const corpus = shards([37, 1, 52, 20, 64], B, 11);

describe('corpus grouping for pass 2', () => {
  it('numbers the types in global first-occurrence order with their counts, and groups each segment stably', () => {
    const g = groupCorpusTypes(corpus, B, 60 * 4 * B);
    const seen = new Map<string, { shard: number; offset: number; count: number }>();
    for (const s of corpus) {
      s.typeIds.forEach((t, i) => {
        const e = seen.get(s.types[t]!);
        if (e) e.count++;
        else seen.set(s.types[t]!, { shard: s.shard, offset: i, count: 1 });
      });
    }
    expect(g.tokens).toEqual([...seen.keys()]);
    expect(Array.from(g.firstShard)).toEqual([...seen.values()].map((e) => e.shard));
    expect(Array.from(g.firstOffset)).toEqual([...seen.values()].map((e) => e.offset));
    expect(Array.from(g.count)).toEqual([...seen.values()].map((e) => e.count));
    // 60 rows at most, one shard at least: [37, 1], [52], [20], [64]
    expect(g.segments.map((s) => [s.first, s.end, s.rows])).toEqual([[0, 2, 38], [2, 3, 52], [3, 4, 20], [4, 5, 64]]);
    expect(g.maxRows).toBe(64);
    const ids = new Map(g.tokens.map((t, i) => [t, i]));
    const newIn = new Map<number, number>();
    for (const [si, seg] of g.segments.entries()) {
      // the segment's rows, by global type
      const rowType: number[] = [];
      for (let i = seg.first; i < seg.end; i++) {
        expect(seg.rowStart[i - seg.first]).toBe(rowType.length);
        for (const t of corpus[i]!.typeIds) rowType.push(ids.get(corpus[i]!.types[t]!)!);
      }
      expect(seg.start[seg.nTypes]).toBe(seg.rows);
      expect([...seg.order].sort((a, b) => a - b)).toEqual(rowType.map((_, r) => r));
      for (let t = 0; t < seg.nTypes; t++) {
        const rows = Array.from(seg.order.subarray(seg.start[t]!, seg.start[t + 1]!));
        const gType = seg.rowOf[t]! >> 1;
        expect(rows.length).toBeGreaterThan(0);
        expect(rows).toEqual([...rows].sort((a, b) => a - b)); // stable: corpus order within a type
        for (const r of rows) expect(rowType[r]).toBe(gType);
        if (seg.rowOf[t]! & 1) {
          expect(newIn.has(gType), `type ${gType} new twice`).toBe(false);
          newIn.set(gType, si);
        } else expect(newIn.get(gType)).toBeLessThan(si);
      }
    }
    expect(newIn.size).toBe(g.tokens.length);
  });

  it('cuts segments within the budget, one shard at least', () => {
    expect(cutSegments([5, 5, 5, 20, 1], 2, 10 * 8)).toEqual([[0, 2], [2, 3], [3, 4], [4, 5]]);
    expect(cutSegments([5, 5, 5], 2, 1)).toEqual([[0, 1], [1, 2], [2, 3]]);
    expect(cutSegments([5, 5, 5], 2, 1e9)).toEqual([[0, 3]]);
    expect(cutSegments([], 2, 1)).toEqual([]);
  });

  it('refuses shards out of order and type ids past the shard\'s types, naming them', () => {
    expect(() => groupCorpusTypes([corpus[1]!, corpus[0]!], B, 1e6)).toThrow('shard 1 after shard 3: shards must ascend');
    expect(() => groupCorpusTypes([{ shard: 0, types: ['a'], typeIds: [0, 1] }], B, 1e6)).toThrow('shard 0, token 1 has type 1 of 1');
  });
});

describe('a block summed over a grouped corpus', () => {
  it('with one shard per segment, gives the bytes of the shard-by-shard path', () => {
    const g = groupCorpusTypes(corpus, B, 1);
    expect(g.segments.length).toBe(corpus.length);
    expect(encodeTypeScores(sumGrouped(g, corpus, 3, mu))).toEqual(encodeTypeScores(sumByShard(corpus, 3, mu)));
  });

  it("with the next segment's rows put in before one is summed (pass 2 reads ahead into the other area), gives the same bytes", () => {
    const g = groupCorpusTypes(corpus, B, 1);
    expect(g.segments.length).toBeGreaterThan(2);
    const r = new TypeScoresReducer();
    expect(r.beginCorpus(g, { firstNeuron: 3, mu })).toBe(true);
    const fill = (si: number): void => {
      const seg = g.segments[si]!;
      const rows = r.segmentRows(si);
      for (let i = seg.first; i < seg.end; i++) rows.set(corpus[i]!.values, seg.rowStart[i - seg.first]! * mu.length);
    };
    fill(0);
    g.segments.forEach((_, si) => {
      if (si + 1 < g.segments.length) fill(si + 1);
      r.sumSegment(si, () => {
        throw new InputError('non-finite');
      });
    });
    expect(r.segmentRows(1).byteOffset).not.toBe(r.segmentRows(0).byteOffset);
    expect(encodeTypeScores(r.finish())).toEqual(encodeTypeScores(sumByShard(corpus, 3, mu)));
  });

  it('in one segment, gives the same types, counts and order, and sums to 1e-12', () => {
    const g = groupCorpusTypes(corpus, B, 1e9);
    expect(g.segments.length).toBe(1);
    const one = sumGrouped(g, corpus, 3, mu);
    const ref = sumByShard(corpus, 3, mu);
    expect(one.tokens).toEqual(ref.tokens);
    expect(Array.from(one.count)).toEqual(Array.from(ref.count));
    expect(Array.from(one.firstOffset)).toEqual(Array.from(ref.firstOffset));
    expect(Array.from(one.shards)).toEqual(Array.from(ref.shards));
    one.sumAbs.forEach((v, i) => expect(Math.abs(v - ref.sumAbs[i]!)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(v))));
    one.sumX.forEach((v, i) => expect(Math.abs(v - ref.sumX[i]!)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(v))));
  });

  it('reused for another block after a reset, gives the bytes of a fresh reducer', () => {
    const g = groupCorpusTypes(corpus, B, 40 * 4 * B);
    const r = new TypeScoresReducer();
    expect(r.beginCorpus(g, { firstNeuron: 0, mu: mu.map((m) => m + 1) })).toBe(true);
    r.segmentRows(0).fill(7);
    r.sumSegment(0, () => {
      throw new Error('non-finite');
    });
    // the next block begins without finishing this one; a fresh reducer is the reference
    expect(encodeTypeScores(sumGrouped(g, corpus, 3, mu, r))).toEqual(encodeTypeScores(sumGrouped(g, corpus, 3, mu)));
  });

  it('in memory another user scribbled over and grew after it was prepared (pass 1 lends its pages to pass 2), gives the bytes of a fresh reducer', () => {
    const g = groupCorpusTypes(corpus, B, 40 * 4 * B);
    const memory = KernelMemory.create();
    expect(memory).not.toBeNull();
    const r = new TypeScoresReducer({ expectedTypes: g.tokens.length, memory });
    r.prepare(B, g.maxRows);
    // what the shard encoder does with the same memory between the warm-up and the first block
    const lent = new ReusableMemory((bytes) => memory!.buffer(bytes));
    const before = lent.reserve(16).byteLength;
    const scribbled = new Float32Array(lent.reserve(before + 65536), 0, (before + 65536) / 4);
    expect(lent.reserve(0).byteLength).toBeGreaterThanOrEqual(before + 65536); // grown: the reducer's views are detached
    for (let i = 0; i < scribbled.length; i++) scribbled[i] = i % 3 === 0 ? Number.NaN : (i % 7) - 3.5;
    expect(encodeTypeScores(sumGrouped(g, corpus, 2, mu, r))).toEqual(encodeTypeScores(sumGrouped(g, corpus, 2, mu)));
  });

  it('calls back on a NaN activation with nothing of its type added, and refuses what does not fit', () => {
    const g = groupCorpusTypes(corpus, B, 1e9);
    const r = new TypeScoresReducer();
    expect(r.beginCorpus(g, { firstNeuron: 0, mu })).toBe(true);
    const rows = r.segmentRows(0);
    for (let i = 0; i < corpus.length; i++) rows.set(corpus[i]!.values, g.segments[0]!.rowStart[i]! * B);
    rows[40 * B + 2] = Number.NaN;
    expect(() => r.sumSegment(0, () => {
      throw new InputError('shard 3, token 3, neuron 2: activation NaN is not finite');
    })).toThrow('activation NaN is not finite');
    expect(() => new TypeScoresReducer().beginCorpus(g, { firstNeuron: 0, mu: new Float64Array(B + 1) })).toThrow('a block of 7 neurons, the corpus was grouped for 6');
    const begun = new TypeScoresReducer();
    begun.beginCorpus(g, { firstNeuron: 0, mu });
    expect(() => begun.beginShard({ firstNeuron: 0, nNeurons: B, mu, shards: Int32Array.of(0) })).toThrow('cannot be added to a block begun over a grouped corpus');
    expect(() => new TypeScoresReducer().segmentRows(0)).toThrow('without beginCorpus');
  });
});
