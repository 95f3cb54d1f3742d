/**
 * Per-neuron activation histograms with fixed bins, for one block of neurons.
 * The bins of a neuron span its [min, max] from pass 1 (so every shard uses
 * the same edges); pass 2 fills integer counts, which merge exactly by
 * addition in any order.
 *
 * Edge rules:
 * - `bins` equal-width bins; bin i is [edge(i), edge(i+1)), the last bin is
 *   closed: the neuron's max goes in the last bin. edge(0) = min,
 *   edge(bins) = max exactly, edge(i) = min + i * (max - min) / bins.
 *   A value's bin is found against these same edges, so the counts agree with
 *   the reported bin_lo/bin_hi.
 * - A constant neuron (min === max) has one bin [min, max] holding everything.
 * - A neuron whose min or max is not finite (an infinite activation, or no
 *   finite value seen in pass 1) also gets one bin [min, max]: equal-width
 *   bins over an infinite range mean nothing.
 * - Values below min or above max go in the first or last bin. With a
 *   float32 cache this cannot happen (min/max come from the same values);
 *   a float16 cache can round a value past the float32 extremes by half an
 *   ulp, and that value still belongs to the extreme bin.
 * - NaN values are not binned; they are counted per neuron in `nan`.
 *
 * Layout: neuron `i` of the block is global neuron `firstNeuron + i`; its
 * counts are `counts[i*bins .. i*bins + nBins(i))`.
 */
import { InputError } from './errors.ts';
import type { Matrix } from './matrix.ts';
import { layerOf } from './topSentences.ts';
import type { RowsVisitor } from './typeScores.ts';
import { scratch, type Scratch } from './wasmKernels.ts';

export const DEFAULT_HISTOGRAM_BINS = 32;

/** Columnar rows of `histograms.parquet`, ordered by global neuron then bin. */
export interface HistogramColumns {
  readonly layer: Int32Array;
  readonly neuron: Int32Array;
  readonly globalNeuron: Int32Array;
  readonly binLo: Float64Array;
  readonly binHi: Float64Array;
  readonly count: Float64Array;
}

export interface HistogramBin {
  readonly lo: number;
  readonly hi: number;
  readonly count: number;
}

export interface HistogramBlock {
  /** Global index of the block's first neuron. */
  readonly firstNeuron: number;
  /** Each neuron's min and max over the whole corpus (pass 1), `[nNeurons]`. */
  readonly min: ArrayLike<number>;
  readonly max: ArrayLike<number>;
  /** Bins per neuron (default 32). */
  readonly bins?: number;
}

const MAGIC = 0x4748584e; // "NXHG" little-endian
const VERSION = 1;
const HEADER_BYTES = 24;

export class Histograms {
  readonly firstNeuron: number;
  readonly nNeurons: number;
  readonly bins: number;
  /** `[nNeurons]`, float64 copies of the bounds. */
  readonly min: Float64Array;
  readonly max: Float64Array;
  /** `[nNeurons x bins]` integer counts (float64: exact to 2^53). */
  readonly counts: Float64Array;
  /** NaN values seen per neuron, `[nNeurons]`. */
  readonly nan: Float64Array;
  /** Per neuron: 1 for constant or non-finite ranges, else `bins`. `[nNeurons]` */
  private readonly nBinsOf: Int32Array;
  /** Per neuron: bins / (max - min), for the first guess of a value's bin. `[nNeurons]` */
  private readonly scale: Float64Array;
  /** `[nNeurons x (bins + 1)]` each neuron's `edge(i, b)` for b in [0, nBins(i)], so `add` looks edges up instead of dividing. */
  private readonly edges: Float64Array;

  constructor(block: HistogramBlock) {
    const bins = block.bins ?? DEFAULT_HISTOGRAM_BINS;
    if (!Number.isInteger(bins) || bins < 1) throw new InputError(`histograms: bins ${bins} is not a positive integer`);
    if (!Number.isInteger(block.firstNeuron) || block.firstNeuron < 0) throw new InputError(`histograms: first neuron ${block.firstNeuron} is not a non-negative integer`);
    if (block.min.length !== block.max.length) {
      throw new InputError(`histograms: ${block.min.length} minima but ${block.max.length} maxima`);
    }
    this.firstNeuron = block.firstNeuron;
    this.nNeurons = block.min.length;
    this.bins = bins;
    this.min = Float64Array.from(block.min);
    this.max = Float64Array.from(block.max);
    this.counts = new Float64Array(this.nNeurons * bins);
    this.nan = new Float64Array(this.nNeurons);
    this.nBinsOf = new Int32Array(this.nNeurons);
    this.scale = new Float64Array(this.nNeurons);
    for (let i = 0; i < this.nNeurons; i++) {
      const lo = this.min[i]!;
      const hi = this.max[i]!;
      if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) {
        // no value seen at all in pass 1 (min=+Inf, max=-Inf) or NaN bounds
        if (!(lo === Infinity && hi === -Infinity)) {
          throw new InputError(`histograms: neuron ${this.firstNeuron + i} has bounds [${lo}, ${hi}]`);
        }
      }
      const finite = Number.isFinite(lo) && Number.isFinite(hi);
      this.nBinsOf[i] = finite && hi > lo ? bins : 1;
      this.scale[i] = finite && hi > lo ? bins / (hi - lo) : 0;
    }
    this.edges = new Float64Array(this.nNeurons * (bins + 1));
    for (let i = 0; i < this.nNeurons; i++) {
      for (let b = 0; b <= this.nBinsOf[i]!; b++) this.edges[i * (bins + 1) + b] = this.edge(i, b);
    }
  }

  /** Number of bins neuron `i` of the block uses (1 or `bins`). */
  binsOf(i: number): number {
    return this.nBinsOf[i]!;
  }

  /** Lower edge of bin `b` of block neuron `i`; `edge(i, nBins)` is the max. */
  edge(i: number, b: number): number {
    const n = this.nBinsOf[i]!;
    const lo = this.min[i]!;
    const hi = this.max[i]!;
    if (b <= 0) return lo;
    if (b >= n) return hi;
    return lo + (b * (hi - lo)) / n;
  }

  /** `addAt` as a `RowsVisitor`: these histograms counted on rows another kernel user holds in its memory (pass 2's reducer). */
  get rowsVisitor(): RowsVisitor {
    return { bytes: this.stateBytes, visit: (sc, dataOff, rows, at) => this.addAt(sc, dataOff, rows, at) };
  }

  /** Bytes of kernel memory `addAt` takes for the kernel's per-neuron terms and counts. */
  get stateBytes(): number {
    return this.layout(0).end;
  }

  // addAt's layout from byte `at`: nBins i32 [B] (padded to 16 bytes); min,
  // scale f64 [B]; min32, scale32, eps, top f32 [B], cbase i32 [B] (each
  // padded to 16 bytes); edges f64 [B x (bins + 1)]; nan i32 [B] (padded);
  // counts i32 [B x bins].
  private layout(at: number) {
    const B = this.nNeurons;
    const n16 = Math.ceil(B / 4) * 16;
    const minOff = at + n16;
    const scaleOff = minOff + 8 * B;
    const min32Off = scaleOff + 8 * B;
    const scale32Off = min32Off + n16;
    const epsOff = scale32Off + n16;
    const topOff = epsOff + n16;
    const cbaseOff = topOff + n16;
    const edgesOff = cbaseOff + n16;
    const nanOff = edgesOff + 8 * this.edges.length;
    const countsOff = nanOff + n16;
    return { minOff, scaleOff, min32Off, scale32Off, epsOff, topOff, cbaseOff, edgesOff, nanOff, countsOff, end: countsOff + 4 * this.counts.length };
  }

  /**
   * `add` for `rows` rows of this block's neurons that already sit in kernel
   * memory: `[rows x nNeurons]` float32 at byte `dataOff` of `sc`, the
   * kernel's terms written at byte `at` (16-aligned; `stateBytes` long, clear
   * of the rows). The kernel counts in i32 (one increment per value; fewer
   * than 2^31 values per call), added into the float64 counts after.
   */
  addAt(sc: Scratch, dataOff: number, rows: number, at: number): void {
    const B = this.nNeurons;
    const { counts, nan, nBinsOf, scale, min, bins, edges } = this;
    const { minOff, scaleOff, min32Off, scale32Off, epsOff, topOff, cbaseOff, edgesOff, nanOff, countsOff } = this.layout(at);
    const { f64, f32, i32, kernels } = sc;
    i32.set(nBinsOf, at / 4);
    f64.set(min, minOff / 8);
    f64.set(scale, scaleOff / 8);
    // the float32 path's terms (histogramAdd in topWordsKernels.wat)
    for (let j = 0; j < B; j++) {
      const n = nBinsOf[j]!;
      const m32 = Math.fround(min[j]!);
      const s32 = Math.fround(scale[j]!);
      const exact = m32 === min[j] && (s32 === 0 || (Math.abs(s32) >= 2 ** -100 && Math.abs(s32) <= 2 ** 100));
      f32[min32Off / 4 + j] = m32;
      f32[scale32Off / 4 + j] = s32;
      f32[epsOff / 4 + j] = !exact ? Number.NaN : n > 1 ? 2 ** -13 + (n + 1) * 2 ** -20 : 0;
      f32[topOff / 4 + j] = n - 1;
      // the kernel adds 4 x the bits of (bin + 2^23) as float32: 4 * (0x4b000000 + bin)
      i32[cbaseOff / 4 + j] = (countsOff + 4 * j * bins - 4 * 0x4b000000) | 0;
    }
    f64.set(edges, edgesOff / 8);
    i32.fill(0, nanOff / 4, countsOff / 4 + counts.length);
    kernels.histogramAdd(dataOff, rows, B, bins, at, minOff, scaleOff, min32Off, scale32Off, epsOff, topOff, cbaseOff, edgesOff, nanOff, countsOff);
    for (let j = 0; j < B; j++) nan[j]! += i32[nanOff / 4 + j]!;
    for (let p = 0; p < counts.length; p++) counts[p]! += i32[countsOff / 4 + p]!;
  }

  /**
   * Adds the values of `m`, `[nTokens x nNeurons]` for this block's neurons
   * (column j = global neuron `firstNeuron + j`), from one sentence or a whole
   * shard: rows are independent.
   */
  add(m: Matrix): void {
    if (m.cols !== this.nNeurons) {
      throw new InputError(`histograms: matrix has ${m.cols} neurons, block [${this.firstNeuron}, ${this.firstNeuron + this.nNeurons}) has ${this.nNeurons}`);
    }
    const { data, rows, cols } = m;
    const { counts, nan, nBinsOf, scale, min, bins, edges } = this;
    // Every value of the block passes here once per run (pass 2): the SIMD
    // module's kernel, else the JS loop (same counts).
    const dataOff = Math.ceil(this.stateBytes / 16) * 16;
    const sc = scratch(dataOff + 4 * data.length);
    if (sc !== null) {
      sc.f32.set(data, dataOff / 4);
      this.addAt(sc, dataOff, rows, 0);
      return;
    }
    // Neuron by neuron over tiles of rows (the tile stays in cache): the neuron's
    // bounds stay in registers, and each edge test is a table lookup, no
    // call and no division per value.
    const stride = bins + 1;
    const TILE = 64;
    for (let r0 = 0; r0 < rows; r0 += TILE) {
      const end = Math.min(rows, r0 + TILE) * cols;
      for (let j = 0; j < cols; j++) {
        const n = nBinsOf[j]!;
        const lo = min[j]!;
        const sc = scale[j]!;
        const e0 = j * stride;
        const c0 = j * bins;
        for (let p = r0 * cols + j; p < end; p += cols) {
          const v = data[p]!;
          if (v !== v) {
            nan[j]!++;
            continue;
          }
          let b = 0;
          if (n > 1) {
            b = Math.floor((v - lo) * sc);
            if (!(b >= 0)) b = 0;
            if (b >= n) b = n - 1;
            // the first guess can be off by one against the reported edges
            if (b > 0 && v < edges[e0 + b]!) b--;
            else if (b + 1 < n && v >= edges[e0 + b + 1]!) b++;
          }
          counts[c0 + b]!++;
        }
      }
    }
  }

  /** Adds `other`'s counts (same block, same bins, same bounds). */
  merge(other: Histograms): this {
    if (other.firstNeuron !== this.firstNeuron || other.nNeurons !== this.nNeurons || other.bins !== this.bins) {
      throw new InputError(
        `histograms: cannot merge block [${other.firstNeuron}, ${other.firstNeuron + other.nNeurons}) x ${other.bins} bins into [${this.firstNeuron}, ${this.firstNeuron + this.nNeurons}) x ${this.bins} bins`,
      );
    }
    for (let i = 0; i < this.nNeurons; i++) {
      if (!Object.is(other.min[i], this.min[i]) || !Object.is(other.max[i], this.max[i])) {
        throw new InputError(
          `histograms: neuron ${this.firstNeuron + i} has bounds [${other.min[i]}, ${other.max[i]}] in one part and [${this.min[i]}, ${this.max[i]}] in the other`,
        );
      }
    }
    for (let p = 0; p < this.counts.length; p++) this.counts[p]! += other.counts[p]!;
    for (let i = 0; i < this.nNeurons; i++) this.nan[i]! += other.nan[i]!;
    return this;
  }

  /** The bins of block neuron `i`. */
  histogram(i: number): HistogramBin[] {
    if (!Number.isInteger(i) || i < 0 || i >= this.nNeurons) {
      throw new InputError(`neuron ${this.firstNeuron + i} is out of range [${this.firstNeuron}, ${this.firstNeuron + this.nNeurons - 1}]`);
    }
    const out: HistogramBin[] = [];
    const n = this.nBinsOf[i]!;
    for (let b = 0; b < n; b++) out.push({ lo: this.edge(i, b), hi: this.edge(i, b + 1), count: this.counts[i * this.bins + b]! });
    return out;
  }

  /**
   * Rows of `histograms.parquet` (a neuron with no values seen has no rows).
   * `layers[i]` is the model layer of the i-th stored layer; by default i.
   */
  toColumns(dModel: number, layers?: readonly number[]): HistogramColumns {
    if (!Number.isInteger(dModel) || dModel < 1) throw new InputError(`histograms: dModel ${dModel} is not a positive integer`);
    let rows = 0;
    for (let i = 0; i < this.nNeurons; i++) if (this.hasRange(i)) rows += this.nBinsOf[i]!;
    const cols: HistogramColumns = {
      layer: new Int32Array(rows),
      neuron: new Int32Array(rows),
      globalNeuron: new Int32Array(rows),
      binLo: new Float64Array(rows),
      binHi: new Float64Array(rows),
      count: new Float64Array(rows),
    };
    let r = 0;
    for (let i = 0; i < this.nNeurons; i++) {
      if (!this.hasRange(i)) continue;
      const g = this.firstNeuron + i;
      for (let b = 0; b < this.nBinsOf[i]!; b++, r++) {
        cols.layer[r] = layerOf(g, dModel, layers);
        cols.neuron[r] = g % dModel;
        cols.globalNeuron[r] = g;
        cols.binLo[r] = this.edge(i, b);
        cols.binHi[r] = this.edge(i, b + 1);
        cols.count[r] = this.counts[i * this.bins + b]!;
      }
    }
    return cols;
  }

  private hasRange(i: number): boolean {
    return this.min[i]! <= this.max[i]!;
  }

  /**
   * Versioned little-endian bytes: a 24-byte header ("NXHG", version,
   * firstNeuron, nNeurons, bins, reserved), then min, max `[nNeurons]`,
   * counts `[nNeurons x bins]`, nan `[nNeurons]`, all float64.
   */
  encode(): Uint8Array {
    const n = this.nNeurons;
    const buf = new ArrayBuffer(HEADER_BYTES + 8 * (3 * n + n * this.bins));
    const dv = new DataView(buf);
    dv.setUint32(0, MAGIC, true);
    dv.setUint32(4, VERSION, true);
    dv.setUint32(8, this.firstNeuron, true);
    dv.setUint32(12, n, true);
    dv.setUint32(16, this.bins, true);
    let off = HEADER_BYTES;
    for (const arr of [this.min, this.max, this.counts, this.nan]) {
      new Uint8Array(buf, off, arr.byteLength).set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
      off += arr.byteLength;
    }
    return new Uint8Array(buf);
  }

  static decode(bytes: Uint8Array, what = 'histograms'): Histograms {
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('histograms: big-endian hosts are not supported');
    if (bytes.byteLength < HEADER_BYTES) throw new InputError(`${what}: ${bytes.byteLength} bytes is shorter than the header`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (dv.getUint32(0, true) !== MAGIC) throw new InputError(`${what}: not a histograms file (bad magic)`);
    const version = dv.getUint32(4, true);
    if (version !== VERSION) throw new InputError(`${what}: version ${version} is not supported (expected ${VERSION})`);
    const first = dv.getUint32(8, true);
    const n = dv.getUint32(12, true);
    const bins = dv.getUint32(16, true);
    const expected = HEADER_BYTES + 8 * (3 * n + n * bins);
    if (bytes.byteLength !== expected) throw new InputError(`${what}: ${bytes.byteLength} bytes, expected ${expected} for ${n} neurons x ${bins} bins`);
    const body = bytes.slice(HEADER_BYTES);
    const f64 = (start: number, len: number): Float64Array => new Float64Array(body.buffer, body.byteOffset + 8 * start, len);
    const h = new Histograms({ firstNeuron: first, min: f64(0, n), max: f64(n, n), bins });
    h.counts.set(f64(2 * n, n * bins));
    h.nan.set(f64(2 * n + n * bins, n));
    return h;
  }
}
