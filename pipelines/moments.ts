/**
 * Pass 1 of top words (and the `neuron_stats` statistics): per-neuron count,
 * mean, M2 (sum of squared deviations from the mean), min and max, in
 * float64, for a block of neurons `[firstNeuron, firstNeuron + nNeurons)`.
 *
 * Accumulation works on `[nTokens x cols]` token-major matrices (a sentence,
 * a shard, or a column block of either), a chunk of 256 rows at a time: sums
 * of x - K and (x - K)^2 with K the running mean (the first chunk takes two
 * passes to find its own), in the SIMD kernel where available (wasmKernels.ts),
 * then Chan's parallel merge into the running totals. Merging partials from shards is the same
 * merge, so partial moments can be combined in any grouping; floating-point
 * results depend on the order at the last bit, so reducers merge in shard
 * order (`mergeMoments`).
 */
import { InputError } from './errors.ts';
import type { Matrix } from './matrix.ts';
import { LayoutReader, LayoutWriter } from './partialBytes.ts';
import { scratch } from './wasmKernels.ts';

/** Moments of neurons `[firstNeuron, firstNeuron + nNeurons)`; every array is `[nNeurons]`. */
export interface Moments {
  readonly firstNeuron: number;
  readonly nNeurons: number;
  readonly count: Float64Array;
  readonly mean: Float64Array;
  /** Sum of squared deviations from the mean: population variance = m2 / count. */
  readonly m2: Float64Array;
  /** +Infinity while count is 0. */
  readonly min: Float64Array;
  /** -Infinity while count is 0. */
  readonly max: Float64Array;
}

export interface BlockOptions {
  /**
   * Global neuron index of the matrix's column 0 (default 0). A matrix holding
   * only a neuron block uses `columnOffset = firstNeuron`.
   */
  readonly columnOffset?: number;
  /** Names the rows in errors, e.g. `sentence 17` or `shard 3` (default `rows`). */
  readonly label?: string;
}

// Fixed in rows (not bytes) so that a neuron gets bit-identical moments
// whatever block width it is computed in.
const CHUNK_ROWS = 256;

export function emptyMoments(nNeurons: number, firstNeuron = 0): Moments {
  if (!Number.isInteger(nNeurons) || nNeurons < 0) throw new InputError(`moments: bad neuron count ${nNeurons}`);
  if (!Number.isInteger(firstNeuron) || firstNeuron < 0) throw new InputError(`moments: bad first neuron ${firstNeuron}`);
  return {
    firstNeuron,
    nNeurons,
    count: new Float64Array(nNeurons),
    mean: new Float64Array(nNeurons),
    m2: new Float64Array(nNeurons),
    min: new Float64Array(nNeurons).fill(Infinity),
    max: new Float64Array(nNeurons).fill(-Infinity),
  };
}

/**
 * Where `[firstNeuron, firstNeuron + nNeurons)` sits in `m`'s columns; throws
 * InputError naming both ranges when the matrix does not cover the block.
 */
export function blockColumn(m: Matrix, firstNeuron: number, nNeurons: number, options: BlockOptions | undefined): number {
  const offset = options?.columnOffset ?? 0;
  const col = firstNeuron - offset;
  if (col < 0 || col + nNeurons > m.cols) {
    throw new InputError(
      `${options?.label ?? 'rows'}: columns cover neurons [${offset}, ${offset + m.cols - 1}], ` +
        `block needs [${firstNeuron}, ${firstNeuron + nNeurons - 1}]`,
    );
  }
  return col;
}

/** Throws InputError naming the first NaN or infinite value of column block `[col, col + width)`. */
export function throwFirstNonFinite(m: Matrix, col: number, width: number, columnOffset: number, label: string): void {
  const { data, cols } = m;
  for (let r = 0; r < m.rows; r++) {
    for (let j = 0; j < width; j++) {
      const x = data[r * cols + col + j]!;
      if (!Number.isFinite(x)) {
        throw new InputError(`${label}, token ${r}, neuron ${columnOffset + col + j}: activation ${x} is not finite`);
      }
    }
  }
}

/**
 * Adds every row of `m` to `acc` (mutates `acc`). NaN or infinite activations
 * throw InputError naming label, token (row) and neuron: NeuroX would turn
 * them into NaN scores and a silently empty result.
 */
export function accumulateMoments(acc: Moments, m: Matrix, options?: BlockOptions): void {
  const B = acc.nNeurons;
  const col = blockColumn(m, acc.firstNeuron, B, options);
  const { data, cols } = m;
  const s1 = new Float64Array(B);
  const s2 = new Float64Array(B);
  const mn = new Float64Array(B);
  const mx = new Float64Array(B);
  for (let r0 = 0; r0 < m.rows; r0 += CHUNK_ROWS) {
    const r1 = Math.min(m.rows, r0 + CHUNK_ROWS);
    const nb = r1 - r0;
    // One pass with sums shifted by the running mean (well conditioned: the
    // shift is already close to the chunk's mean); the very first chunk has
    // no running mean and takes two passes instead.
    const shifted = acc.count.every((c) => c > 0);
    const shift = shifted ? acc.mean : new Float64Array(B);
    shiftedSums(data, cols, col, B, r0, r1, shift, s1, s2, mn, mx);
    for (let j = 0; j < B; j++) {
      if (!Number.isFinite(s1[j]!) || !Number.isFinite(s2[j]!)) {
        throwFirstNonFinite(m, col, B, options?.columnOffset ?? 0, options?.label ?? 'rows');
      }
    }
    if (!shifted) {
      for (let j = 0; j < B; j++) shift[j] = s1[j]! / nb;
      shiftedSums(data, cols, col, B, r0, r1, shift, s1, s2, mn, mx);
    }
    for (let j = 0; j < B; j++) {
      const d = s1[j]! / nb;
      // Chunk mean and M2 from sums about the shift K: mean = K + S1/n, M2 = S2 - S1^2/n.
      s1[j] = shift[j]! + d;
      s2[j] = Math.max(0, s2[j]! - d * d * nb);
    }
    mergeChunk(acc, nb, s1, s2, mn, mx);
  }
}

// One pass over a chunk: sums of (x - K) and (x - K)^2, min, max. The SIMD
// kernel (wasmKernels.ts, 2.5x) when available, else the JS loop; both add
// each neuron's values in row order, so they give the same bits.
function shiftedSums(
  data: Float32Array, cols: number, col: number, B: number, r0: number, r1: number, shift: Float64Array,
  s1: Float64Array, s2: Float64Array, mn: Float64Array, mx: Float64Array,
): void {
  const nb = r1 - r0;
  // Scratch layout (bytes): shift, s1, s2 f64 [B]; mn, mx f32 [B]; the chunk's f32 [nb x B].
  const dataOff = Math.ceil((32 * B) / 16) * 16;
  const sc = scratch(dataOff + nb * B * 4);
  if (sc === null) {
    shiftedSumsJs(data, cols, col, B, r0, r1, shift, s1, s2, mn, mx);
    return;
  }
  const { f32, f64, kernels } = sc;
  f64.set(shift, 0);
  f64.fill(0, B, 3 * B);
  f32.fill(Infinity, 6 * B, 7 * B);
  f32.fill(-Infinity, 7 * B, 8 * B);
  if (col === 0 && cols === B) {
    f32.set(data.subarray(r0 * cols, r1 * cols), dataOff / 4);
  } else {
    for (let r = r0; r < r1; r++) f32.set(data.subarray(r * cols + col, r * cols + col + B), dataOff / 4 + (r - r0) * B);
  }
  kernels.momentSums(dataOff, nb, B, 0, 8 * B, 16 * B, 24 * B, 28 * B);
  s1.set(f64.subarray(B, 2 * B));
  s2.set(f64.subarray(2 * B, 3 * B));
  for (let j = 0; j < B; j++) {
    mn[j] = f32[6 * B + j]!;
    mx[j] = f32[7 * B + j]!;
  }
}

function shiftedSumsJs(
  data: Float32Array, cols: number, col: number, B: number, r0: number, r1: number, shift: Float64Array,
  s1: Float64Array, s2: Float64Array, mn: Float64Array, mx: Float64Array,
): void {
  s1.fill(0);
  s2.fill(0);
  mn.fill(Infinity);
  mx.fill(-Infinity);
  for (let r = r0; r < r1; r++) {
    const base = r * cols + col;
    for (let j = 0; j < B; j++) {
      const x = data[base + j]!;
      const d = x - shift[j]!;
      s1[j] = s1[j]! + d;
      s2[j] = s2[j]! + d * d;
      if (x < mn[j]!) mn[j] = x;
      if (x > mx[j]!) mx[j] = x;
    }
  }
}

// Chan et al.'s pairwise update with a chunk of nb rows.
function mergeChunk(acc: Moments, nb: number, mean: Float64Array, m2: Float64Array, mn: Float64Array, mx: Float64Array): void {
  const { count, mean: am, m2: am2, min, max } = acc;
  for (let j = 0; j < acc.nNeurons; j++) {
    const na = count[j]!;
    if (na === 0) {
      // Copy rather than merge: mean * nb / nb need not round back to mean.
      am[j] = mean[j]!;
      am2[j] = m2[j]!;
    } else {
      const n = na + nb;
      const delta = mean[j]! - am[j]!;
      am[j] = am[j]! + (delta * nb) / n;
      am2[j] = am2[j]! + m2[j]! + (delta * delta * na * nb) / n;
    }
    count[j] = na + nb;
    if (mn[j]! < min[j]!) min[j] = mn[j]!;
    if (mx[j]! > max[j]!) max[j] = mx[j]!;
  }
}

/** Merges `other` into `acc` (mutates `acc`); both must cover the same neuron block. */
export function mergeMomentsInto(acc: Moments, other: Moments): void {
  if (acc.firstNeuron !== other.firstNeuron || acc.nNeurons !== other.nNeurons) {
    throw new InputError(
      `moments: cannot merge neurons [${other.firstNeuron}, ${other.firstNeuron + other.nNeurons - 1}] ` +
        `into [${acc.firstNeuron}, ${acc.firstNeuron + acc.nNeurons - 1}]`,
    );
  }
  const { count, mean, m2, min, max } = acc;
  for (let j = 0; j < acc.nNeurons; j++) {
    const na = count[j]!;
    const nb = other.count[j]!;
    if (nb === 0) continue;
    if (na === 0) {
      mean[j] = other.mean[j]!;
      m2[j] = other.m2[j]!;
    } else {
      const n = na + nb;
      const delta = other.mean[j]! - mean[j]!;
      mean[j] = mean[j]! + (delta * nb) / n;
      m2[j] = m2[j]! + other.m2[j]! + (delta * delta * na * nb) / n;
    }
    count[j] = na + nb;
    if (other.min[j]! < min[j]!) min[j] = other.min[j]!;
    if (other.max[j]! > max[j]!) max[j] = other.max[j]!;
  }
}

/**
 * Merges partials left to right in the order given (pass them in shard
 * order: the result is then the same bytes on every run). Throws InputError
 * for an empty list.
 */
export function mergeMoments(parts: readonly Moments[]): Moments {
  const first = parts[0];
  if (!first) throw new InputError('moments: nothing to merge');
  const acc = emptyMoments(first.nNeurons, first.firstNeuron);
  for (const p of parts) mergeMomentsInto(acc, p);
  return acc;
}

/** Population variance (divide by count, as NeuroX's np.std); NaN where count is 0. */
export function variance(m: Moments): Float64Array {
  const out = new Float64Array(m.nNeurons);
  for (let j = 0; j < m.nNeurons; j++) {
    const n = m.count[j]!;
    // M2 is a sum of squares, but merging can round it a hair below zero.
    out[j] = n === 0 ? NaN : Math.max(0, m.m2[j]!) / n;
  }
  return out;
}

/** Population standard deviation; NaN where count is 0. */
export function std(m: Moments): Float64Array {
  const v = variance(m);
  for (let j = 0; j < v.length; j++) v[j] = Math.sqrt(v[j]!);
  return v;
}

// ------------------------------------------------------------------ bytes

const MAGIC = 'NXMO';
const VERSION = 1;

/**
 * Layout v1 (little-endian): 'NXMO', u32 version, u32 firstNeuron,
 * u32 nNeurons, then float64 sections count, mean, m2, min, max, each
 * `[nNeurons]`: 16 + 40 * nNeurons bytes.
 */
export function encodeMoments(m: Moments): Uint8Array {
  const w = new LayoutWriter(16 + 40 * m.nNeurons, MAGIC, VERSION);
  w.u32(m.firstNeuron);
  w.u32(m.nNeurons);
  for (const s of [m.count, m.mean, m.m2, m.min, m.max]) w.section(s);
  return w.finish();
}

/** Inverse of `encodeMoments`; InputError naming the problem for anything malformed. */
export function decodeMoments(bytes: Uint8Array): Moments {
  const r = new LayoutReader(bytes, 'moments', MAGIC, VERSION);
  const firstNeuron = r.u32('firstNeuron');
  const nNeurons = r.u32('nNeurons');
  const expected = 16 + 40 * nNeurons;
  if (bytes.length !== expected) {
    throw new InputError(`moments: ${bytes.length} bytes, expected ${expected} for ${nNeurons} neurons`);
  }
  const m: Moments = {
    firstNeuron,
    nNeurons,
    count: r.f64(nNeurons, 'count'),
    mean: r.f64(nNeurons, 'mean'),
    m2: r.f64(nNeurons, 'm2'),
    min: r.f64(nNeurons, 'min'),
    max: r.f64(nNeurons, 'max'),
  };
  r.end();
  for (let j = 0; j < nNeurons; j++) {
    const n = m.count[j]!;
    const at = `moments: neuron ${firstNeuron + j}`;
    if (!Number.isInteger(n) || n < 0) throw new InputError(`${at}: count ${n} is not a non-negative integer`);
    if (!Number.isFinite(m.mean[j]!) || !Number.isFinite(m.m2[j]!)) throw new InputError(`${at}: mean ${m.mean[j]} or m2 ${m.m2[j]} is not finite`);
    // Rounding can put a merged mean a hair outside [min, max]; more is corruption.
    const tol = 1e-9 * Math.max(Math.abs(m.min[j]!), Math.abs(m.max[j]!));
    if (n > 0 && !(m.min[j]! - tol <= m.mean[j]! && m.mean[j]! <= m.max[j]! + tol)) {
      throw new InputError(`${at}: mean ${m.mean[j]} is outside [min ${m.min[j]}, max ${m.max[j]}]`);
    }
  }
  return m;
}
