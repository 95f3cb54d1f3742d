import { describe, expect, it } from 'vitest';
import { Histograms } from '../pipelines/histogram.ts';
import { matrix, type Matrix } from '../pipelines/matrix.ts';
import { TypeScoresBuilder } from '../pipelines/typeScores.ts';
import { TypeScoresReducer } from '../pipelines/typeScoresReduce.ts';

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

/** A shard's block: `[rows x nNeurons]` float32 values, continuous and on bin edges. */
function shard(r: () => number, rows: number, nNeurons: number): Matrix {
  const data = new Float32Array(rows * nNeurons);
  for (let i = 0; i < data.length; i++) data[i] = r() < 0.3 ? Math.floor(r() * 9) - 4 : (r() - 0.5) * 7.3;
  return matrix(data, rows, nNeurons);
}

function bounds(shards: Matrix[], nNeurons: number): { min: Float64Array; max: Float64Array } {
  const min = new Float64Array(nNeurons).fill(Infinity);
  const max = new Float64Array(nNeurons).fill(-Infinity);
  for (const m of shards) for (let r = 0; r < m.rows; r++) for (let c = 0; c < nNeurons; c++) {
    const v = m.data[r * nNeurons + c]!;
    min[c] = Math.min(min[c]!, v);
    max[c] = Math.max(max[c]!, v);
  }
  return { min, max };
}

describe('per-neuron histograms', () => {
  it('puts every value in the bin whose reported edges hold it, the max in the last bin', () => {
    const r = rng(3);
    const nNeurons = 5;
    const bins = 7;
    const m = shard(r, 200, nNeurons);
    const { min, max } = bounds([m], nNeurons);
    const h = new Histograms({ firstNeuron: 10, min, max, bins });
    h.add(m);
    for (let c = 0; c < nNeurons; c++) {
      const hist = h.histogram(c);
      expect(hist).toHaveLength(bins);
      expect(hist[0]!.lo).toBe(min[c]);
      expect(hist[bins - 1]!.hi).toBe(max[c]);
      const expected = new Array<number>(bins).fill(0);
      for (let t = 0; t < m.rows; t++) {
        const v = m.data[t * nNeurons + c]!;
        const b = hist.findIndex((bin, i) => v >= bin.lo && (v < bin.hi || (i === bins - 1 && v === bin.hi)));
        expect(b, `value ${v} of neuron ${c} has a bin`).toBeGreaterThanOrEqual(0);
        expected[b]!++;
      }
      expect(hist.map((b) => b.count)).toEqual(expected);
      expect(hist.reduce((s, b) => s + b.count, 0)).toBe(200);
    }
  });

  it('agrees with its reported edges for values at the float32 roundings of every edge', () => {
    // (v - min) * bins / (max - min) alone puts some of these one bin off
    const r = rng(9);
    let checked = 0;
    for (let trial = 0; trial < 200; trial++) {
      const lo = Math.fround(r() * 4 - 2);
      const hi = Math.fround(lo + r() * 3 + 1e-3);
      const bins = 2 + Math.floor(r() * 30);
      const h = new Histograms({ firstNeuron: 0, min: [lo], max: [hi], bins });
      const values = new Float32Array(bins + 1);
      for (let b = 0; b <= bins; b++) values[b] = h.edge(0, b);
      h.add(matrix(values, values.length, 1));
      const hist = h.histogram(0);
      for (const v of values) {
        const b = hist.findIndex((bin, i) => v >= bin.lo && (v < bin.hi || (i === bins - 1 && v === bin.hi)));
        expect(b).toBeGreaterThanOrEqual(0);
      }
      const expected = new Array<number>(bins).fill(0);
      for (const v of values) expected[hist.findIndex((bin, i) => v >= bin.lo && (v < bin.hi || (i === bins - 1 && v === bin.hi)))]!++;
      expect(hist.map((b) => b.count)).toEqual(expected);
      checked++;
    }
    expect(checked).toBe(200);
  });

  it('merges shard splits in any order into exactly the counts of one pass', () => {
    const r = rng(5);
    const nNeurons = 6;
    const shards = Array.from({ length: 8 }, () => shard(r, 1 + Math.floor(r() * 30), nNeurons));
    const { min, max } = bounds(shards, nNeurons);
    const whole = new Histograms({ firstNeuron: 0, min, max, bins: 11 });
    for (const m of shards) whole.add(m);
    const expected = whole.encode();
    for (let trial = 0; trial < 10; trial++) {
      const order = shards.map((_, i) => i).sort(() => r() - 0.5);
      const merged = new Histograms({ firstNeuron: 0, min, max, bins: 11 });
      for (const i of order) {
        const part = new Histograms({ firstNeuron: 0, min, max, bins: 11 });
        part.add(shards[i]!);
        merged.merge(Histograms.decode(part.encode()));
      }
      expect(merged.encode()).toEqual(expected);
    }
  });

  it('gives a constant neuron one bin [v, v] holding all its values', () => {
    const h = new Histograms({ firstNeuron: 0, min: [2.5, 0], max: [2.5, 1], bins: 4 });
    h.add(matrix(new Float32Array([2.5, 0, 2.5, 1, 2.5, 0.5]), 3, 2));
    expect(h.histogram(0)).toEqual([{ lo: 2.5, hi: 2.5, count: 3 }]);
    expect(h.histogram(1).map((b) => b.count)).toEqual([1, 0, 1, 1]);
    const cols = h.toColumns(1);
    expect(Array.from(cols.globalNeuron)).toEqual([0, 1, 1, 1, 1]);
  });

  it('puts values a float16 cache rounded past the pass-1 extremes into the extreme bins', () => {
    const h = new Histograms({ firstNeuron: 0, min: [-0.99999], max: [0.99999], bins: 2 });
    h.add(matrix(new Float32Array([-1, 1, 0]), 3, 1));
    expect(h.histogram(0).map((b) => b.count)).toEqual([1, 2]);
  });

  it('counts NaN apart and never bins it', () => {
    const h = new Histograms({ firstNeuron: 0, min: [0], max: [1], bins: 2 });
    h.add(matrix(new Float32Array([NaN, 0, 1, NaN]), 4, 1));
    expect(h.histogram(0).map((b) => b.count)).toEqual([1, 1]);
    expect(h.nan[0]).toBe(2);
  });

  it('writes no rows for a neuron that saw no value, and layer/neuron from the global index', () => {
    const h = new Histograms({ firstNeuron: 767, min: [Infinity, 0], max: [-Infinity, 2], bins: 2 });
    const cols = h.toColumns(768);
    expect(Array.from(cols.layer)).toEqual([1, 1]);
    expect(Array.from(h.toColumns(768, [4, 9]).layer)).toEqual([9, 9]);
    expect(Array.from(cols.neuron)).toEqual([0, 0]);
    expect(Array.from(cols.binLo)).toEqual([0, 1]);
    expect(Array.from(cols.binHi)).toEqual([1, 2]);
  });

  it('refuses parts with other bounds, bins or neurons, naming them', () => {
    const a = new Histograms({ firstNeuron: 0, min: [0, 0], max: [1, 1], bins: 2 });
    expect(() => a.merge(new Histograms({ firstNeuron: 0, min: [0, 0], max: [1, 2], bins: 2 }))).toThrow('neuron 1 has bounds [0, 2]');
    expect(() => a.merge(new Histograms({ firstNeuron: 0, min: [0, 0], max: [1, 1], bins: 3 }))).toThrow('x 3 bins');
    expect(() => a.add(matrix(new Float32Array(3), 1, 3))).toThrow('matrix has 3 neurons');
    expect(() => new Histograms({ firstNeuron: 0, min: [1], max: [0] })).toThrow('neuron 0 has bounds [1, 0]');
    expect(() => new Histograms({ firstNeuron: 0, min: [0], max: [1], bins: 0 })).toThrow('bins 0');
    const bytes = a.encode();
    expect(() => Histograms.decode(bytes.subarray(0, 30))).toThrow('expected');
    const bad = bytes.slice();
    bad[4] = 2;
    expect(() => Histograms.decode(bad)).toThrow('version 2 is not supported');
  });
});

describe('histograms counted on pass 2\'s copy of the rows', () => {
  it('count what `add` counts, from the reducer\'s WebAssembly copy, and leave the type sums as they were', () => {
    const r = rng(11);
    const B = 24;
    const shards = [shard(r, 300, B), shard(r, 170, B), shard(r, 45, B)];
    const min = new Float64Array(B).fill(Infinity);
    const max = new Float64Array(B).fill(-Infinity);
    for (const m of shards) for (let i = 0; i < m.data.length; i++) {
      const j = i % B;
      min[j] = Math.min(min[j]!, m.data[i]!);
      max[j] = Math.max(max[j]!, m.data[i]!);
    }
    const mu = new Float64Array(B).fill(0.25);
    const direct = new Histograms({ firstNeuron: 0, min, max });
    const visited = new Histograms({ firstNeuron: 0, min, max });
    const plain = new TypeScoresReducer();
    const withVisitor = new TypeScoresReducer();
    const types = Array.from({ length: 40 }, (_, t) => `w${t}`);
    shards.forEach((m, s) => {
      const ids = Int32Array.from({ length: m.rows }, () => Math.floor(r() * r() * types.length));
      direct.add(m);
      const a = new TypeScoresBuilder({ shard: s, firstNeuron: 0, mu });
      a.addIds(types, ids, m);
      expect(a.finishInto(plain)).toBe(false);
      const b = new TypeScoresBuilder({ shard: s, firstNeuron: 0, mu });
      b.addIds(types, ids, m);
      expect(b.finishInto(withVisitor, { bytes: visited.stateBytes, visit: (sc, dataOff, rows, at) => visited.addAt(sc, dataOff, rows, at) }), `shard ${s}`).toBe(true);
    });
    expect(visited.counts).toEqual(direct.counts);
    expect([...visited.counts].reduce((x, y) => x + y, 0)).toBe(515 * B);
    const p = plain.finish();
    const v = withVisitor.finish();
    expect(v.sumAbs).toEqual(p.sumAbs);
    expect(v.sumX).toEqual(p.sumX);
  });

  it('are not shown the rows when the reducer sums them in batches (too big to copy whole): the caller counts them itself', () => {
    const r = rng(5);
    const m = shard(r, 64, 8);
    const h = new Histograms({ firstNeuron: 0, min: new Float64Array(8).fill(-8), max: new Float64Array(8).fill(8) });
    const b = new TypeScoresBuilder({ shard: 0, firstNeuron: 0, mu: new Float64Array(8) });
    b.addIds(['a', 'b'], Int32Array.from({ length: 64 }, (_, i) => i % 2), m);
    let calls = 0;
    expect(b.finishInto(new TypeScoresReducer({ inPlaceBytes: 16 }), { bytes: h.stateBytes, visit: () => calls++ })).toBe(false);
    expect(calls).toBe(0);
  });
});
