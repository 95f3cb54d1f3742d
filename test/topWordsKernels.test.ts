import { afterEach, describe, expect, it } from 'vitest';
import { matrix, type Matrix } from '../pipelines/matrix.ts';
import { accumulateMoments, emptyMoments, encodeMoments } from '../pipelines/moments.ts';
import { TopSentences } from '../pipelines/topSentences.ts';
import { TypeScoresBuilder } from '../pipelines/typeScores.ts';
import { encodeTypeScores, TypeScoresReducer } from '../pipelines/typeScoresReduce.ts';
import { scratch, useWasmKernels } from '../pipelines/wasmKernels.ts';

afterEach(() => useWasmKernels(true));

// Widths that are and are not multiples of the SIMD width (4), several chunks of rows.
function data(rows: number, cols: number, seed: number): Matrix {
  let s = seed;
  const rnd = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
  return matrix(Float32Array.from({ length: rows * cols }, () => (rnd() - 0.3) * 100 * (1 + rnd())), rows, cols);
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
      const simd = momentsBytes(ms, first, n);
      useWasmKernels(false);
      const js = momentsBytes(ms, first, n);
      useWasmKernels(true);
      expect(simd).toEqual(js);
    }
  });

  it('give pass 2 the same bits as the JS loop (finish and finishInto, one chunk and many)', () => {
    for (const [first, n] of [[0, 11], [1, 8], [4, 7]] as const) {
      const mu = Float64Array.from({ length: n }, (_, j) => j * 3.3 - 7);
      for (const direct of [false, true]) {
        for (const chunks of [ms, [ms[0]!]]) {
          const tk = chunks === ms ? tokens : [tokens[0]!];
          const simd = typeScoresBytes(chunks, tk, first, mu, direct);
          useWasmKernels(false);
          const js = typeScoresBytes(chunks, tk, first, mu, direct);
          useWasmKernels(true);
          expect(simd).toEqual(js);
        }
      }
    }
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
      const simd = bytes();
      useWasmKernels(false);
      const js = bytes();
      useWasmKernels(true);
      expect(simd).toEqual(js);
    }
  });
});
