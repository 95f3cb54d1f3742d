import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../pipelines/errors.ts';
import { Histograms } from '../pipelines/histogram.ts';
import { matrix, type Matrix } from '../pipelines/matrix.ts';
import { accumulateMoments, emptyMoments, encodeMoments } from '../pipelines/moments.ts';
import { TopSentences } from '../pipelines/topSentences.ts';
import { rankStateBytes, rankTopWordsColumns, rankTopWordsCut } from '../pipelines/topWords.ts';
import { TypeScoresBuilder, type TypeScores } from '../pipelines/typeScores.ts';
import { encodeTypeScores, TypeScoresReducer } from '../pipelines/typeScoresReduce.ts';
import { scratch, useWasmKernels } from '../pipelines/wasmKernels.ts';

afterEach(() => useWasmKernels(true));

/** `f()` with the SIMD kernels, then with the JS loops only. */
function simdAndJs<T>(f: () => T): [T, T] {
  const simd = f();
  useWasmKernels(false);
  try {
    return [simd, f()];
  } finally {
    useWasmKernels(true);
  }
}

// Widths that are and are not multiples of the SIMD width (4), several chunks of rows.
function data(rows: number, cols: number, seed: number): Matrix {
  let s = seed;
  const rnd = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
  return matrix(Float32Array.from({ length: rows * cols }, () => (rnd() - 0.3) * 100 * (1 + rnd())), rows, cols);
}

/** Each column's min and max (pass 1's bounds for histograms). */
function columnBounds(m: Matrix): { min: Float64Array; max: Float64Array } {
  const min = new Float64Array(m.cols).fill(Infinity);
  const max = new Float64Array(m.cols).fill(-Infinity);
  for (let i = 0; i < m.data.length; i++) {
    const j = i % m.cols;
    min[j] = Math.min(min[j]!, m.data[i]!);
    max[j] = Math.max(max[j]!, m.data[i]!);
  }
  return { min, max };
}

/**
 * A reduced table of `nTypes` x `B` with exact ties: many types share a mean
 * |x - mu| per neuron (0.5, 1, 1.5 or 2 times a count), the rest are random;
 * neuron 1 is all zeros (max 0), and type counts run from 1 to 9.
 */
function tiedTypeScores(nTypes: number, B: number, seed: number): TypeScores {
  let s = seed;
  const rnd = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
  const count = Float64Array.from({ length: nTypes }, () => 1 + Math.floor(rnd() * 9));
  const sumAbs = new Float64Array(nTypes * B);
  const sumX = new Float64Array(nTypes * B);
  for (let t = 0; t < nTypes; t++) {
    for (let j = 0; j < B; j++) {
      const mean = rnd() < 0.5 ? 0.5 * (1 + Math.floor(rnd() * 4)) : rnd() * 2.2;
      sumAbs[t * B + j] = j === 1 ? 0 : mean * count[t]!;
      sumX[t * B + j] = (rnd() - 0.5) * count[t]!;
    }
  }
  return {
    firstNeuron: 3, nNeurons: B, mu: new Float64Array(B), shards: Int32Array.of(0),
    tokens: Array.from({ length: nTypes }, (_, t) => `t${t}`), firstShard: new Int32Array(nTypes),
    firstOffset: Float64Array.from({ length: nTypes }, (_, t) => t), count, sumAbs, sumX,
  };
}

/** Histograms of `m` (block neurons from 0) counted by the SIMD kernel and by the JS loop: the same bytes. */
function expectHistogramsAsJs(m: Matrix, min: Float64Array, max: Float64Array, bins: number): void {
  const [simd, js] = simdAndJs(() => {
    const h = new Histograms({ firstNeuron: 0, min, max, bins });
    h.add(m);
    return h.encode();
  });
  expect(simd).toEqual(js);
}

function momentsBytes(ms: readonly Matrix[], firstNeuron: number, n: number): Uint8Array {
  const m = emptyMoments(n, firstNeuron);
  for (const x of ms) accumulateMoments(m, x);
  return encodeMoments(m);
}

function typeScoresBytes(ms: readonly Matrix[], tokens: string[][], firstNeuron: number, mu: Float64Array, direct: boolean): Uint8Array {
  const b = new TypeScoresBuilder({ shard: 0, firstNeuron, mu });
  ms.forEach((m, i) => b.add(tokens[i]!, m));
  if (!direct) return encodeTypeScores(b.finish());
  const r = new TypeScoresReducer();
  b.finishInto(r);
  return encodeTypeScores(r.finish());
}

describe('SIMD kernels (WebAssembly)', () => {
  it('are available on this Node', () => {
    expect(scratch(1024)).not.toBeNull();
  });

  const ms = [data(600, 11, 1), data(3, 11, 2), data(257, 11, 3)];
  const words = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  const tokens = ms.map((m, i) => Array.from({ length: m.rows }, (_, r) => words[(r * 7 + i) % words.length]!));

  it('give pass 1 the same bits as the JS loop (whole rows and column blocks)', () => {
    for (const [first, n] of [[0, 11], [2, 8], [3, 5], [10, 1]] as const) {
      const [simd, js] = simdAndJs(() => momentsBytes(ms, first, n));
      expect(simd).toEqual(js);
    }
  });

  it('give pass 2 the same bits as the JS loop (finish and finishInto, one chunk and many)', () => {
    for (const [first, n] of [[0, 11], [1, 8], [4, 7]] as const) {
      const mu = Float64Array.from({ length: n }, (_, j) => j * 3.3 - 7);
      for (const direct of [false, true]) {
        for (const chunks of [ms, [ms[0]!]]) {
          const tk = chunks === ms ? tokens : [tokens[0]!];
          const [simd, js] = simdAndJs(() => typeScoresBytes(chunks, tk, first, mu, direct));
          expect(simd).toEqual(js);
        }
      }
    }
  });

  it('give pass 1 the same min and max as the JS loop for zeros of both signs', () => {
    // JS keeps the first of equal values (x < min, x > max): +0 then -0 stays +0, -0 then +0 stays -0
    const cols = 9;
    const m = data(300, cols, 5);
    for (let r = 0; r < m.rows; r++) {
      m.data[r * cols] = r % 2 ? -0 : 0;
      m.data[r * cols + 5] = r % 2 ? 0 : -0;
      m.data[r * cols + 8] = r % 3 ? -0 : 0;
    }
    const [simd, js] = simdAndJs(() => momentsBytes([m], 0, cols));
    expect(simd).toEqual(js);
    const view = (b: Uint8Array): Float64Array => new Float64Array(b.slice().buffer);
    expect(view(simd)).toEqual(view(js));
  });

  it('give pass 2 into a reducer the same bits in place and when a type is split over kernel batches (wide blocks, two shards)', () => {
    // 1 MiB batches hold 12 rows of 20,001 float32 neurons: 'the' (49 rows after 'x') spans five
    // batches, starting in the middle of the first, so its first split falls inside a group of 4
    const cols = 20_001;
    const shards = [data(90, cols, 21), data(37, cols, 22)];
    const word = (r: number, s: number): string => (r === 0 ? 'x' : r % 9 < 5 ? 'the' : `w${(r * 5 + s) % 11}`);
    const words = shards.map((m, s) => Array.from({ length: m.rows }, (_, r) => word(r, s)));
    // means with all 53 bits: x - mu rounds, so the sums depend on the order of the adds
    // (float32 values alone add exactly in float64)
    const mu = Float64Array.from({ length: cols - 3 }, (_, j) => (j % 17) - 8 + 1 / 3 + j * 1e-7);
    // inPlaceBytes 0: rows gathered by type into batches; the default: each shard's block summed in place
    const bytes = (inPlaceBytes?: number) => (): Uint8Array => {
      const r = new TypeScoresReducer({ expectedTypes: 4, ...(inPlaceBytes === undefined ? {} : { inPlaceBytes }) });
      shards.forEach((m, s) => {
        const b = new TypeScoresBuilder({ shard: s, firstNeuron: 2, mu });
        b.add(words[s]!, m);
        b.finishInto(r);
      });
      return encodeTypeScores(r.finish());
    };
    const [gathered, js] = simdAndJs(bytes(0));
    const inPlace = bytes()();
    expect(gathered.length).toBeGreaterThan(16 * 12 * (cols - 3));
    // (toEqual on megabytes is slow) the first byte that differs, or -1
    for (const simd of [gathered, inPlace]) {
      expect(js.length).toBe(simd.length);
      expect(simd.findIndex((v, i) => v !== js[i])).toBe(-1);
    }
  });

  it('name the first non-finite activation from the kernels that add into a reducer (in place and gathered), as the JS loop does', () => {
    const m = data(40, 6, 31);
    m.data[17 * 6 + 4] = Number.NaN;
    const tokens = Array.from({ length: 40 }, (_, r) => `t${r % 3}`);
    const run = (inPlaceBytes?: number) => (): unknown => {
      const b = new TypeScoresBuilder({ shard: 0, firstNeuron: 0, mu: new Float64Array(6) });
      b.add(tokens, m, { label: 'shard 3' });
      try {
        b.finishInto(new TypeScoresReducer(inPlaceBytes === undefined ? {} : { inPlaceBytes }));
        return null;
      } catch (e) {
        return e;
      }
    };
    const [inPlace, js] = simdAndJs(run());
    expect(inPlace).toEqual(new InputError('shard 3, token 17, neuron 4: activation NaN is not finite'));
    expect(js).toEqual(inPlace);
    expect(run(0)()).toEqual(inPlace); // rows gathered into batches
  });

  it('give top sentences the same bits as the JS loop (ties, NaN, -0, widths 11 and 8)', () => {
    for (const cols of [11, 8]) {
      const m = data(860, cols, 7 + cols);
      // ties between tokens of one sentence and between sentences, a sentence all NaN for neuron 0, zeros of both signs
      for (let r = 0; r < 20; r++) m.data[r * cols] = Number.NaN;
      m.data[40 * cols + 1] = 250;
      m.data[41 * cols + 1] = -250;
      m.data[90 * cols + 1] = 250;
      for (let r = 100; r < 140; r++) m.data[r * cols + 2] = r % 2 ? -0 : 0;
      m.data[500 * cols + 3] = Number.POSITIVE_INFINITY;
      m.data[501 * cols + 3] = Number.NEGATIVE_INFINITY;
      const lengths = [20, 0, 40, 1, 39, 60, 100, 200, 400];
      const bytes = (): Uint8Array => {
        const t = new TopSentences(cols, 4, 3);
        t.addRows(m, lengths, 5);
        return t.encode();
      };
      const [simd, js] = simdAndJs(bytes);
      expect(simd).toEqual(js);
    }
  });

  it('give histograms the same counts as the JS loop (edges, NaN, out of range, constant and unbounded neurons)', () => {
    const cols = 7;
    const m = data(900, cols, 11);
    const { min, max } = columnBounds(m);
    const h0 = new Histograms({ firstNeuron: 2, min, max, bins: 9 });
    // values on every bin edge of neuron 0 (as float32, so some land a hair off), NaN, beyond the bounds
    for (let b = 0; b <= 9; b++) m.data[b * cols] = h0.edge(0, b);
    m.data[20 * cols + 1] = Number.NaN;
    m.data[21 * cols + 1] = Number.NEGATIVE_INFINITY;
    m.data[22 * cols + 1] = max[1]! * 2;
    // neuron 5: edges exact in float32, values exactly on each
    min[5] = -4.5;
    max[5] = 4.5;
    for (let b = 0; b <= 9; b++) m.data[(30 + b) * cols + 5] = -4.5 + b;
    for (let r = 0; r < m.rows; r++) m.data[r * cols + 2] = 3; // constant neuron
    min[2] = max[2] = 3;
    min[3] = Number.NEGATIVE_INFINITY; // unbounded neuron: one bin
    min[4] = Infinity; // no value seen in pass 1
    max[4] = -Infinity;
    const bytes = (): Uint8Array => {
      const h = new Histograms({ firstNeuron: 2, min, max, bins: 9 });
      h.add(m);
      h.add(matrix(m.data.subarray(0, 5 * cols), 5, cols));
      return h.encode();
    };
    const [simd, js] = simdAndJs(bytes);
    expect(simd).toEqual(js);
  });

  it('give histograms the same counts as the JS loop with 10,000 bins (float32 rounding of r against the bin width) and bounds float32 cannot hold', () => {
    const cols = 8;
    const bins = 10_000;
    const m = data(70_007, cols, 77);
    const { min, max } = columnBounds(m);
    // neuron 5: a narrow range whose min is not a float32 (its values go the exact way;
    // in another SIMD group than neuron 0, whose values near edges send its group the exact way)
    min[5] = 1000.0001;
    max[5] = Math.fround(1000.01);
    const h0 = new Histograms({ firstNeuron: 0, min, max, bins });
    const ulps = (x: number, k: number): number => {
      const f = new Float32Array([x]);
      new Int32Array(f.buffer)[0]! += k;
      return f[0]!;
    };
    // neurons 0 and 5: values on and up to 3 float32 steps beside every edge
    let r = 0;
    for (let b = 0; b <= bins; b++) {
      for (let k = -3; k <= 3; k++, r++) {
        for (const j of [0, 5]) m.data[r * cols + j] = Math.min(max[j]!, Math.max(min[j]!, ulps(Math.fround(h0.edge(j, b)), k)));
      }
    }
    expectHistogramsAsJs(m, min, max, bins);
  });

  it('give histograms the same counts as the JS loop for values on and next to every edge of every neuron (SIMD lanes)', () => {
    const cols = 8;
    const bins = 16;
    const m = data(1200, cols, 41);
    const { min, max } = columnBounds(m);
    // neuron 6: a narrow range far from 0 (edges round the most against the bin width)
    min[6] = Math.fround(1000);
    max[6] = Math.fround(1000.01);
    const h0 = new Histograms({ firstNeuron: 0, min, max, bins });
    const below = (x: number): number => {
      const f = new Float32Array([x]);
      new Int32Array(f.buffer)[0]! += x > 0 ? -1 : 1;
      return f[0]!;
    };
    let r = 0;
    for (let j = 0; j < cols; j++) {
      for (let b = 0; b <= bins; b++) {
        const e = h0.edge(j, b);
        for (const v of [Math.fround(e), below(Math.fround(e)), -below(-Math.fround(e))]) {
          m.data[(r++ % m.rows) * cols + j] = Math.min(max[j]!, Math.max(min[j]!, v));
        }
      }
    }
    for (let i = 6; i < m.data.length; i += cols) if (m.data[i]! < 1000 || m.data[i]! > 1000.01) m.data[i] = Math.fround(1000.005);
    expectHistogramsAsJs(m, min, max, bins);
  });

  it('rank top words as the JS loops do: the same types, order and score bits (ties, zero neuron, cuts, widths 4, 11 and 16)', () => {
    let ties = 0;
    for (const [nTypes, B] of [[300, 11], [500, 16], [40, 4]] as const) {
      const ts = tiedTypeScores(nTypes, B, nTypes + B);
      for (const [topK, minThreshold] of [[5, 0.1], [1, 0], [20, 0.5], [50, -1], [nTypes + 3, 0.1], [0, 0.3]] as const) {
        const [simd, js] = simdAndJs(() => rankTopWordsCut(ts, topK, minThreshold));
        expect(simd).toEqual(js);
        expect(simd.flat().length).toBeGreaterThan(0);
        for (const list of simd) for (let i = 1; i < list.length; i++) if (list[i]!.score === list[i - 1]!.score) ties++;
      }
    }
    // the order of tied types is part of what is compared
    expect(ties).toBeGreaterThan(100);
  });

  it('rank top words as columns (type and score rows per neuron) that hold the lists, row for row', () => {
    const ts = tiedTypeScores(300, 11, 311);
    for (const [topK, minThreshold] of [[5, 0.1], [0, 0.3], [400, 0]] as const) {
      const { offsets, type, score } = rankTopWordsColumns(ts, topK, minThreshold);
      const lists = rankTopWordsCut(ts, topK, minThreshold);
      expect(offsets.length).toBe(12);
      lists.forEach((list, j) => {
        expect(offsets[j + 1]! - offsets[j]!, `neuron ${j}`).toBe(list.length);
        list.forEach((w, i) => {
          expect(ts.tokens[type[offsets[j]! + i]!]).toBe(w.token);
          expect(score[offsets[j]! + i]).toBe(w.score);
        });
      });
    }
    expect(() => rankTopWordsColumns(ts, -1, 0)).toThrow('topK -1 is not a non-negative integer');
  });

  it('rank a reducer\'s table where it lives (its kernel memory, no copy) as the JS loops do, whatever lies past the table', () => {
    for (const [nTypes, B] of [[300, 11], [40, 4]] as const) {
      const ts = tiedTypeScores(nTypes, B, 7 * nTypes + B);
      for (const [topK, minThreshold] of [[5, 0.1], [nTypes + 3, 0], [0, 0.3]] as const) {
        const r = new TypeScoresReducer();
        r.add(ts);
        const home = r.finish({ scratchBytes: rankStateBytes(nTypes, B, topK) });
        expect(home.kernelHome, 'the table stays in the reducer\'s memory').toBeDefined();
        // junk where the ranking's state goes: it must set up all it reads
        home.kernelHome!.scratch.u8.fill(0xa5, home.kernelHome!.freeOff);
        const there = rankTopWordsCut(home, topK, minThreshold);
        useWasmKernels(false);
        try {
          expect(there).toEqual(rankTopWordsCut(ts, topK, minThreshold));
        } finally {
          useWasmKernels(true);
        }
      }
    }
  });

  it('give histograms the same counts as the JS loop for one-bin neurons inside SIMD groups (NaN, infinities, zeros of both signs)', () => {
    const cols = 12;
    const bins = 5;
    const m = data(700, cols, 51);
    const { min, max } = columnBounds(m);
    for (let r = 0; r < m.rows; r++) {
      m.data[r * cols + 1] = 2; // constant
      m.data[r * cols + 6] = r % 3 === 0 ? -0 : r % 3 === 1 ? 0 : m.data[r * cols + 6]!;
    }
    min[1] = max[1] = 2;
    min[5] = Number.NEGATIVE_INFINITY; // unbounded: one bin, infinite values too
    m.data[10 * cols + 5] = Number.POSITIVE_INFINITY;
    m.data[11 * cols + 5] = Number.NEGATIVE_INFINITY;
    m.data[12 * cols + 5] = Number.NaN;
    m.data[13 * cols + 1] = Number.NaN;
    m.data[14 * cols + 9] = Number.NaN;
    max[10] = Number.POSITIVE_INFINITY;
    m.data[15 * cols + 10] = Number.POSITIVE_INFINITY;
    min[6] = Math.min(min[6]!, 0);
    m.data[16 * cols + 6] = max[6]!; // the max: the last bin
    const bytes = (): Uint8Array => {
      const h = new Histograms({ firstNeuron: 0, min, max, bins });
      h.add(m);
      h.add(m);
      return h.encode();
    };
    const [simd, js] = simdAndJs(bytes);
    expect(simd).toEqual(js);
    const h = Histograms.decode(js);
    expect(h.nan[5]).toBe(2);
    expect(h.histogram(5)).toEqual([{ lo: -Infinity, hi: max[5], count: 2 * (m.rows - 1) }]);
    expect(h.histogram(1)[0]!.count).toBe(2 * (m.rows - 1));
  });
});
