/**
 * WebAssembly SIMD versions of the hot loops that touch every activation:
 * pass 1 moment sums and top-sentence scans, pass 2 per-type sums and
 * histogram counts; 1.5-2.5x the JS loops in V8 or more. Their arithmetic is
 * exactly that of the JS fallbacks in moments.ts, topSentences.ts,
 * typeScores.ts and histogram.ts (per neuron, values in row order, float64
 * sums, float32 comparisons), so results do not depend on which ran; test/topWordsKernels.test.ts checks that bit for bit.
 *
 * One instance per process with one linear memory, used as scratch by one
 * synchronous call at a time (JS is single-threaded; no kernel calls back).
 * Source: wasm/topWordsKernels.wat.
 */
import { topWordsKernelsBase64 } from './wasm/topWordsKernels.ts';

export interface TopWordsKernels {
  /** Pass 1 over `rows` rows of the f32 `[rows x B]` block at byte offset `data`: s1 += x - shift, s2 += (x - shift)^2, mn/mx (f32). */
  momentSums(data: number, rows: number, B: number, shift: number, s1: number, s2: number, mn: number, mx: number): void;
  /** Pass 2 for one type: rows `order[k0..k1)` (i32 at byte offset `order`) of the f32 block at `data`; writes f64 outAbs, outX. */
  typeSums(data: number, B: number, order: number, k0: number, k1: number, mu: number, outAbs: number, outX: number): void;
  /** Top sentences, one sentence of `rows` rows of the f32 `[rows x B]` block at `data`: best |x| (first token on ties), its x and row; mx/mn (f32). */
  sentenceScan(data: number, rows: number, B: number, bestAbs: number, bestVal: number, bestTok: number, mx: number, mn: number): void;
  /** Histograms, the f32 `[rows x B]` block at `data`: each value's bin count (f64) += 1, or its neuron's NaN count. */
  histogramAdd(data: number, rows: number, B: number, bins: number, nBins: number, min: number, scale: number, edges: number, nan: number, counts: number): void;
}

/** Kernels plus views of the scratch memory (views are renewed when the memory grows). */
export interface Scratch {
  readonly kernels: TopWordsKernels;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  readonly i32: Int32Array;
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

let instance: { kernels: TopWordsKernels; memory: WasmMemory } | null | undefined;

function load(): { kernels: TopWordsKernels; memory: WasmMemory } | null {
  if (instance !== undefined) return instance;
  if (globalThis.process?.env?.NEUROX_NO_WASM === '1') return (instance = null);
  if (!wasm) return (instance = null);
  try {
    const bytes = Uint8Array.from(atob(topWordsKernelsBase64), (c) => c.charCodeAt(0));
    const inst = new wasm.Instance(new wasm.Module(bytes), {});
    const ex = inst.exports as unknown as TopWordsKernels & { memory: WasmMemory };
    instance = { kernels: { momentSums: ex.momentSums, typeSums: ex.typeSums, sentenceScan: ex.sentenceScan, histogramAdd: ex.histogramAdd }, memory: ex.memory };
  } catch {
    // No WebAssembly SIMD here: the JS loops compute the same numbers.
    instance = null;
  }
  return instance;
}

let views: Scratch | null = null;
let enabled = true;

/** Turns the SIMD kernels off (true: on where available); for tests that compare both paths. */
export function useWasmKernels(on: boolean): void {
  enabled = on;
}

/**
 * The kernels with at least `bytes` of scratch memory, or null (no SIMD, or
 * more than MAX_SCRATCH_BYTES): then callers use their JS loop.
 */
export function scratch(bytes: number): Scratch | null {
  const k = enabled ? load() : null;
  if (k === null || bytes > MAX_SCRATCH_BYTES) return null;
  const have = k.memory.buffer.byteLength;
  if (bytes > have) k.memory.grow(Math.ceil((bytes - have) / 65536));
  if (views === null || views.f64.buffer !== k.memory.buffer) {
    const b = k.memory.buffer;
    views = { kernels: k.kernels, f32: new Float32Array(b), f64: new Float64Array(b), i32: new Int32Array(b) };
  }
  return views;
}
