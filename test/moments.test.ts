import { describe, expect, it } from 'vitest';
import { InputError } from '../pipelines/errors.ts';
import { matrix, type Matrix } from '../pipelines/matrix.ts';
import {
  accumulateMoments, decodeMoments, emptyMoments, encodeMoments, mergeMoments, mergeMomentsInto, std, variance, type Moments,
} from '../pipelines/moments.ts';

// Seeded Park-Miller; values are float32 like real activations.
function rows(n: number, cols: number, seed: number, offset: (c: number) => number, scale: (c: number) => number): Matrix {
  let s = seed;
  const rnd = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
  const data = new Float32Array(n * cols);
  for (let r = 0; r < n; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = offset(c) + scale(c) * (rnd() - 0.5);
  return matrix(data, n, cols);
}

/** Two-pass float64 reference over the concatenated rows of one column. */
function reference(ms: readonly Matrix[], c: number): { n: number; mean: number; variance: number; min: number; max: number } {
  const xs = ms.flatMap((m) => Array.from({ length: m.rows }, (_, r) => m.data[r * m.cols + c]!));
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length;
  return { n: xs.length, mean, variance, min: Math.min(...xs), max: Math.max(...xs) };
}

function expectClose(m: Moments, ms: readonly Matrix[], rel: number): void {
  const v = variance(m);
  for (let j = 0; j < m.nNeurons; j++) {
    const ref = reference(ms, m.firstNeuron + j);
    expect(m.count[j]).toBe(ref.n);
    expect(Math.abs(m.mean[j]! - ref.mean)).toBeLessThanOrEqual(rel * Math.abs(ref.mean) + 1e-15);
    expect(Math.abs(v[j]! - ref.variance)).toBeLessThanOrEqual(rel * ref.variance);
    expect(m.min[j]).toBe(ref.min);
    expect(m.max[j]).toBe(ref.max);
  }
}

describe('per-neuron moments', () => {
  // Chunks of 256 rows: 1000 rows cross chunk boundaries and leave a remainder.
  const a = rows(1000, 7, 1, (c) => c * 10 - 30, (c) => 0.5 + c);
  const b = rows(13, 7, 2, (c) => c * 10 - 29, (c) => 1 + c);
  const c = rows(301, 7, 3, (c) => c * 10 - 31, (c) => 2);

  it('match a two-pass float64 reference (count, mean, population variance, min, max)', () => {
    const m = emptyMoments(7);
    for (const x of [a, b, c]) accumulateMoments(m, x);
    expectClose(m, [a, b, c], 1e-12);
    expect(Array.from(std(m))).toEqual(Array.from(variance(m), Math.sqrt));
  });

  it('stay accurate for a large mean with a tiny spread (no catastrophic cancellation)', () => {
    const x = rows(5000, 3, 9, () => 1000, () => 0.01);
    const m = emptyMoments(3);
    accumulateMoments(m, x);
    expectClose(m, [x], 1e-6);
  });

  it('merge with Chan\'s formula: shards merged in any grouping give the whole corpus\'s moments', () => {
    const whole = emptyMoments(7);
    for (const x of [a, b, c]) accumulateMoments(whole, x);
    const parts = [a, b, c].map((x) => {
      const m = emptyMoments(7);
      accumulateMoments(m, x);
      return m;
    });
    const left = mergeMoments([mergeMoments([parts[0]!, parts[1]!]), parts[2]!]);
    const right = mergeMoments([parts[0]!, mergeMoments([parts[1]!, parts[2]!])]);
    for (const m of [left, right]) expectClose(m, [a, b, c], 1e-12);
    expect(Array.from(left.count)).toEqual(Array.from(whole.count));
    // Merging an empty partial changes nothing, bit for bit.
    const withEmpty = mergeMoments([left, emptyMoments(7)]);
    expect(encodeMoments(withEmpty)).toEqual(encodeMoments(left));
  });

  it('are deterministic: the same partials merged in shard order give the same bytes', () => {
    const run = (): Uint8Array => {
      const parts = [a, b, c].map((x) => {
        const m = emptyMoments(7);
        accumulateMoments(m, x);
        return decodeMoments(encodeMoments(m));
      });
      return encodeMoments(mergeMoments(parts));
    };
    expect(run()).toEqual(run());
  });

  it('of a column block equal the same neurons accumulated at full width, bit for bit', () => {
    const full = emptyMoments(7);
    accumulateMoments(full, a);
    const block = emptyMoments(3, 2);
    accumulateMoments(block, a);
    const narrow = matrix(Float32Array.from({ length: a.rows * 3 }, (_, i) => a.data[Math.floor(i / 3) * 7 + 2 + (i % 3)]!), a.rows, 3);
    const blockOfBlock = emptyMoments(3, 2);
    accumulateMoments(blockOfBlock, narrow, { columnOffset: 2 });
    for (const m of [block, blockOfBlock]) {
      expect(Array.from(m.mean)).toEqual(Array.from(full.mean.subarray(2, 5)));
      expect(Array.from(m.m2)).toEqual(Array.from(full.m2.subarray(2, 5)));
    }
    expect(() => accumulateMoments(emptyMoments(3, 5), a)).toThrow(new InputError('rows: columns cover neurons [0, 6], block needs [5, 7]'));
  });

  it('of a constant neuron have its exact mean and zero variance', () => {
    const x = matrix(new Float32Array(3 * 600).fill(0.1), 600, 3);
    const m = emptyMoments(3);
    accumulateMoments(m, x);
    accumulateMoments(m, matrix(new Float32Array(3).fill(0.1), 1, 3));
    expect(Array.from(m.mean)).toEqual([Math.fround(0.1), Math.fround(0.1), Math.fround(0.1)]);
    expect(Array.from(variance(m))).toEqual([0, 0, 0]);
  });

  it('report NaN variance for neurons that saw no rows', () => {
    expect(Array.from(variance(emptyMoments(2)))).toEqual([NaN, NaN]);
  });

  it('refuse NaN and infinite activations, naming label, token and neuron', () => {
    const x = matrix(Float32Array.of(1, 2, 3, 4, -Infinity, 6), 2, 3);
    expect(() => accumulateMoments(emptyMoments(3), x, { label: 'shard 4' })).toThrow(new InputError('shard 4, token 1, neuron 1: activation -Infinity is not finite'));
    const y = matrix(Float32Array.of(1, 2, 3, 4, 5, NaN), 2, 3);
    expect(() => accumulateMoments(emptyMoments(2, 1), y, { label: 'sentence 9' })).toThrow('sentence 9, token 1, neuron 2: activation NaN is not finite');
  });

  it('refuse to merge different neuron blocks', () => {
    expect(() => mergeMomentsInto(emptyMoments(3), emptyMoments(3, 1))).toThrow('moments: cannot merge neurons [1, 3] into [0, 2]');
    expect(() => mergeMoments([])).toThrow('moments: nothing to merge');
  });
});

describe('moments bytes (layout v1)', () => {
  const m = emptyMoments(4, 768);
  accumulateMoments(m, rows(50, 4, 5, () => 1, () => 2), { columnOffset: 768 });
  const bytes = encodeMoments(m);

  it('round-trip bit for bit, 16 + 40 bytes per neuron', () => {
    expect(bytes.length).toBe(16 + 40 * 4);
    const back = decodeMoments(bytes);
    expect(back.firstNeuron).toBe(768);
    expect(encodeMoments(back)).toEqual(bytes);
    // Decoding copies: the partial does not alias the (reusable) input buffer.
    const copy = bytes.slice();
    const d = decodeMoments(copy);
    copy.fill(0);
    expect(d.mean[0]).toBe(m.mean[0]);
  });

  it('decode from a view at an unaligned offset of a larger buffer', () => {
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    expect(encodeMoments(decodeMoments(big.subarray(3)))).toEqual(bytes);
  });

  it('name what is wrong with a corrupt partial (InputError, never retried)', () => {
    const bad = (f: (b: Uint8Array) => Uint8Array): (() => Moments) => () => decodeMoments(f(bytes.slice()));
    expect(bad((b) => b.subarray(0, 5))).toThrow(new InputError('moments: 5 bytes is too short for a header (8 bytes)'));
    expect(bad((b) => { b[0] = 0x58; return b; })).toThrow('moments: bad magic "XXMO", expected "NXMO"');
    expect(bad((b) => { b[4] = 2; return b; })).toThrow('moments: version 2 is not supported (this build reads version 1)');
    expect(bad((b) => b.subarray(0, b.length - 8))).toThrow(`moments: ${bytes.length - 8} bytes, expected ${bytes.length} for 4 neurons`);
    const withCount = (v: number) => (b: Uint8Array) => { new DataView(b.buffer).setFloat64(16, v, true); return b; };
    expect(bad(withCount(-1))).toThrow('moments: neuron 768: count -1 is not a non-negative integer');
    expect(bad(withCount(2.5))).toThrow('moments: neuron 768: count 2.5 is not a non-negative integer');
    const withMean = (b: Uint8Array) => { new DataView(b.buffer).setFloat64(16 + 32, 1e9, true); return b; };
    expect(bad(withMean)).toThrow(/moments: neuron 768: mean 1000000000 is outside \[min/);
  });
});
