/**
 * WebAssembly SIMD versions of the hot loops that touch every activation:
 * pass 1 moment sums and top-sentence scans, pass 2 per-type sums and
 * histogram counts; 1.5-2.5x the JS loops in V8 or more. Their arithmetic is
 * exactly that of the JS fallbacks in moments.ts, topSentences.ts,
 * typeScores.ts and histogram.ts (per neuron, values in row order, float64
 * sums, float32 comparisons), so results do not depend on which ran; test/topWordsKernels.test.ts checks that bit for bit.
 *
 * A shared instance per process whose linear memory is scratch for one
 * synchronous call at a time (JS is single-threaded; no kernel calls back),
 * and private instances (`KernelMemory.create`) for data that lives in
 * WebAssembly memory between calls: a pass-2 reducer's table.
 * Source: wasm/topWordsKernels.wat.
 */
import { topWordsKernelsBase64 } from './wasm/topWordsKernels.ts';

export interface TopWordsKernels {
  /** Pass 1 over `rows` rows of the f32 `[rows x B]` block at byte offset `data`: s1 += x - shift, s2 += (x - shift)^2, mn/mx (f32). */
  momentSums(data: number, rows: number, B: number, shift: number, s1: number, s2: number, mn: number, mx: number): void;
  /** Pass 2 for one type: rows `order[k0..k1)` (i32 at byte offset `order`) of the f32 block at `data`; writes f64 outAbs, outX. */
  typeSums(data: number, B: number, order: number, k0: number, k1: number, mu: number, outAbs: number, outX: number): void;
  /**
   * Pass 2 for a batch of a shard's rows grouped by type, added into a table:
   * segments (i32 triples at `segs`: table row, rows, flags 1 = type's first,
   * 2 = type's last) take consecutive rows of `data`; a type's sums (as
   * typeSums, in out f64 [2B]) go into its row of tableAbs/tableX (f64 [B]
   * per row) at its last segment. Returns the first segment whose type has a
   * non-finite |x - mu| sum (not added), or -1.
   */
  typeSumsInto(data: number, B: number, segs: number, nSegs: number, mu: number, out: number, tableAbs: number, tableX: number): number;
  /**
   * Pass 2 for a whole shard in place: type t's rows `order[start[t]..start[t + 1])`
   * of the f32 `[rows x B]` block at `data`, summed as typeSums (into out), go
   * into table row `rowOf[t] >> 1`, copied when `rowOf[t] & 1` (new). Returns
   * the first type with a non-finite |x - mu| sum (not added), or -1.
   */
  typeSumsInPlace(data: number, B: number, order: number, start: number, nTypes: number, rowOf: number, mu: number, out: number, tableAbs: number, tableX: number): number;
  /** Top sentences, one sentence of `rows` rows of the f32 `[rows x B]` block at `data`: best |x| (first token on ties), its x and row; mx/mn (f32). */
  sentenceScan(data: number, rows: number, B: number, bestAbs: number, bestVal: number, bestTok: number, mx: number, mn: number): void;
  /**
   * Histograms, the f32 `[rows x B]` block at `data`: each value's bin count (i32) += 1, or its
   * neuron's NaN count (i32). min32, scale32, eps, top (f32) and cbase (i32): the kernel's per-neuron
   * terms for its float32 path (topWordsKernels.wat); min, scale (f64) and edges: the exact path's.
   */
  histogramAdd(data: number, rows: number, B: number, bins: number, nBins: number, min: number, scale: number,
    min32: number, scale32: number, eps: number, top: number, cbase: number, edges: number, nan: number, counts: number): void;
  /**
   * Top words, topWords.ts bestTypeScores: per neuron the largest sumAbs / count over the
   * types of the f64 `[nTypes x B]` table at `sumAbs` (counts f64 `[nTypes]`), into max;
   * max and near (max * slack) f64 [B], zeros on entry.
   */
  typeMax(sumAbs: number, count: number, nTypes: number, B: number, max: number, near: number, slack: number): void;
  /**
   * Top words, the top-k scan of topWords.ts rankTopK over the same table:
   * per neuron j, heap slots [j * k, j * k + size[j]) (types i32 at heapT,
   * scores f64 at heapS), bar and screen f64 [B], all set up by the caller.
   */
  rankTopK(sumAbs: number, count: number, nTypes: number, B: number, max: number, k: number, minThreshold: number, slack: number,
    bar: number, screen: number, size: number, heapT: number, heapS: number): void;
}

/** Kernels plus views of the scratch memory (views are renewed when the memory grows). */
export interface Scratch {
  readonly kernels: TopWordsKernels;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
}

// Beyond this a block is summed by the JS fallback (wasm32 memory tops out at 4 GiB).
export const MAX_SCRATCH_BYTES = 2 ** 31;

// The project's lib settings carry no WebAssembly typings: the little used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: object | null | undefined;

function compile(): object | null {
  if (compiled !== undefined) return compiled;
  if (globalThis.process?.env?.NEUROX_NO_WASM === '1' || !wasm) return (compiled = null);
  try {
    const bytes = Uint8Array.from(atob(topWordsKernelsBase64), (c) => c.charCodeAt(0));
    compiled = new wasm.Module(bytes);
  } catch {
    // No WebAssembly SIMD here: the JS loops compute the same numbers.
    compiled = null;
  }
  return compiled;
}

/**
 * One instance of the kernels with its own linear memory, and views of it
 * (renewed when the memory grows: growing detaches the old views).
 */
export class KernelMemory {
  private readonly memory: WasmMemory;
  private views: Scratch;

  private constructor(module: object) {
    const ex = new wasm!.Instance(module, {}).exports as unknown as TopWordsKernels & { memory: WasmMemory };
    const kernels: TopWordsKernels = {
      momentSums: ex.momentSums, typeSums: ex.typeSums, typeSumsInto: ex.typeSumsInto, typeSumsInPlace: ex.typeSumsInPlace, sentenceScan: ex.sentenceScan, histogramAdd: ex.histogramAdd,
      typeMax: ex.typeMax, rankTopK: ex.rankTopK,
    };
    this.memory = ex.memory;
    this.views = KernelMemory.viewsOf(kernels, ex.memory.buffer);
  }

  /** A new instance, or null without WebAssembly SIMD (or with the kernels turned off). */
  static create(): KernelMemory | null {
    const m = enabled ? compile() : null;
    if (m === null) return null;
    try {
      return new KernelMemory(m);
    } catch {
      // No memory for another instance: the JS loops compute the same numbers.
      return null;
    }
  }

  /** The kernels and views of at least `bytes` of memory, or null past MAX_SCRATCH_BYTES. */
  ensure(bytes: number): Scratch | null {
    if (bytes > MAX_SCRATCH_BYTES) return null;
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / 65536));
    if (this.views.f64.buffer !== this.memory.buffer) this.views = KernelMemory.viewsOf(this.views.kernels, this.memory.buffer);
    return this.views;
  }

  /** The linear memory, grown to at least `bytes` (null past MAX_SCRATCH_BYTES); valid until it grows again. */
  buffer(bytes: number): ArrayBuffer | null {
    return this.ensure(bytes) === null ? null : this.memory.buffer;
  }

  /**
   * This instance's kernels over `data` where it lies in this memory, and
   * the offset of `bytes` bytes (16-aligned) right after it; null when
   * `data` is elsewhere or those bytes are past the memory's end (growing it
   * would detach `data`). The caller vouches that the memory after `data`
   * is free (see `inPlace`).
   */
  over(data: Float32Array, bytes: number): InPlace | null {
    if (data.buffer !== this.memory.buffer) return null;
    const free = Math.ceil((data.byteOffset + data.byteLength) / 16) * 16;
    if (free + bytes > this.memory.buffer.byteLength) return null;
    if (this.views.f64.buffer !== this.memory.buffer) this.views = KernelMemory.viewsOf(this.views.kernels, this.memory.buffer);
    return { ...this.views, data: data.byteOffset, free };
  }

  /** Whether `a` views this instance's memory (growing it would detach `a`). */
  holds(a: ArrayBufferView): boolean {
    return a.buffer === this.memory.buffer;
  }

  private static viewsOf(kernels: TopWordsKernels, b: ArrayBuffer): Scratch {
    return { kernels, f32: new Float32Array(b), f64: new Float64Array(b), i32: new Int32Array(b), u8: new Uint8Array(b) };
  }
}

let shared: KernelMemory | null | undefined;
let pass: KernelMemory | null | undefined;
let enabled = true;

/**
 * This thread's pass memory: one instance whose linear memory the shard
 * encoder fills in pass 1 (`ReusableMemory` backed by it, extract.ts) and the
 * pass-2 reducer then lays its tables and rows over (typeScores.ts), so that
 * pass 2 reuses the pages pass 1 already faulted in (3-7 ms per MB of fresh
 * memory on this project's VMs) instead of touching as many new ones. The
 * two never hold it at once: a thread, process or sandboxed child runs one
 * job at a time, and a shard is written before its job ends. Null without
 * the kernels.
 */
export function passMemory(): KernelMemory | null {
  if (!enabled) return null;
  if (pass === undefined) pass = KernelMemory.create();
  return pass;
}

/** Turns the SIMD kernels off (true: on where available); for tests that compare both paths. */
export function useWasmKernels(on: boolean): void {
  enabled = on;
}

/**
 * The shared instance's kernels with at least `bytes` of scratch memory, or
 * null (no SIMD, or more than MAX_SCRATCH_BYTES): then callers use their JS
 * loop. One synchronous call at a time uses it (JS is single-threaded).
 */
export function scratch(bytes: number): Scratch | null {
  if (!enabled) return null;
  if (shared === undefined) shared = KernelMemory.create();
  return shared === null ? null : shared.ensure(bytes);
}

/** Kernels over values where they lie (`inPlace`): `data` is their byte offset, `free` that of the bytes after them. */
export interface InPlace extends Scratch {
  readonly data: number;
  readonly free: number;
}

/**
 * The kernels over `data` in place, with `bytes` of scratch right after it,
 * when `data` lies in this thread's pass memory: a shard's neuron groups as
 * the shard encoder lays them out (shard.ts `encodeShardChunks`, which
 * leaves `VISIT_SCRATCH_BYTES_PER_NEURON` free after the group it visits).
 * Saves copying each group into the shared scratch memory, 55 MB per shard
 * on the MiniLM bench. Only for values whose memory after them is known to
 * be free; null otherwise (the caller copies).
 */
export function inPlace(data: Float32Array, bytes: number): InPlace | null {
  if (!enabled || !pass) return null;
  return pass.over(data, bytes);
}

/**
 * `scratch(bytes)`, or null also when one of `arrays` views the scratch
 * memory itself: a call may grow it, which would detach them.
 */
export function scratchBeside(bytes: number, arrays: readonly ArrayBufferView[]): Scratch | null {
  if (!enabled) return null;
  if (shared === undefined) shared = KernelMemory.create();
  if (shared === null || arrays.some((a) => shared!.holds(a))) return null;
  return shared.ensure(bytes);
}
