/**
 * NeuroX's `get_top_words` (neurox/analysis/corpus.py), for one neuron or for
 * every neuron at once, built from the two streaming passes:
 *
 *   pass 1  moments.ts          per-neuron mean mu (and variance, min, max)
 *   pass 2  typeScores.ts       per type x neuron: count, sum |x - mu|, sum x
 *   reduce  typeScoresReduce.ts merge shards in first-occurrence order
 *   rank    rankTopWords        score = mean |x - mu| / best type's, threshold, stable rank, cut
 *
 * Scores match NeuroX's (which divides every |x - mu| by sigma first: sigma
 * cancels). Differences, each pinned by a test (README, "Deliberate
 * differences from NeuroX"): a neuron whose every type scores 0 (constant
 * neuron, one-token corpus) gives every type the score 0 instead of NaN;
 * NaN/infinite activations, an empty corpus, activation rows that do not
 * match the tokens, an out-of-range neuron and a negative or fractional
 * numTokens throw InputError naming the value; each word also carries its
 * count and signed mean activation.
 *
 * Composing the pieces over a corpus too big for memory (a NeuroX file, or
 * the activation cache), for neurons `[0, nNeurons)` in blocks `[b, b + B)`:
 *
 *   // pass 1: per shard s (any number of processes)
 *   const m = emptyMoments(nNeurons);
 *   for (const sentence of shard s) accumulateMoments(m, matrix, { label });
 *   store encodeMoments(m)
 *   // reduce: decodeMoments of every shard, mergeMoments(in shard order) -> mu = merged.mean
 *   // pass 2: per shard s x block b
 *   const builder = new TypeScoresBuilder({ shard: s, firstNeuron: b, mu: mu.subarray(b, b + B) });
 *   for (const sentence of shard s) builder.add(tokens, matrix, { columnOffset, label });
 *   store encodeTypeScores(builder.finish())   // or builder.finishInto(reducer) in one process
 *   // reduce: per block b
 *   const ts = reduceTypeScores(shard partials of block b, decoded)   // or a TypeScoresReducer fed in shard order
 *   const top = rankTopWords(ts, { numTokens, minThreshold });        // top[j]: neuron b + j
 *
 * Everything is deterministic for a fixed plan (shards and blocks): partials
 * are merged in shard order, and the same bytes come out on every run.
 */
import { InputError } from './errors.ts';
import type { Matrix } from './matrix.ts';
import { accumulateMoments, emptyMoments } from './moments.ts';
import { TypeScoresBuilder, type TypeScores } from './typeScores.ts';
import { scratchBeside, type Scratch } from './wasmKernels.ts';

export interface TopWord {
  token: string;
  /** NeuroX's normalised score in [0, 1]: the best type of the neuron scores 1. */
  score: number;
  /** Occurrences of the type in the corpus. */
  count: number;
  /** Signed mean activation of the neuron over the type's occurrences. */
  mean: number;
}

export interface TopWordsOptions {
  /** Keep at most this many (0 = all; NeuroX's num_tokens). The 0.1 threshold still applies unless minThreshold is given. */
  numTokens?: number;
  /** Keep types scoring strictly above this (default 0.1; NeuroX's min_threshold). Cannot be combined with numTokens != 0. */
  minThreshold?: number;
}

export interface ResolvedTopWordsOptions {
  readonly numTokens: number;
  readonly minThreshold: number;
}

/** NeuroX's option rules, checked before anything else (as NeuroX does). */
export function resolveTopWordsOptions(options: TopWordsOptions = {}): ResolvedTopWordsOptions {
  const numTokens = options.numTokens ?? 0;
  if (!Number.isInteger(numTokens) || numTokens < 0) {
    throw new InputError(`numTokens ${numTokens} is not a non-negative integer`);
  }
  if (numTokens !== 0 && options.minThreshold !== undefined) {
    throw new InputError(`cannot give both numTokens (${numTokens}) and minThreshold (${options.minThreshold})`);
  }
  const minThreshold = options.minThreshold ?? 0.1;
  if (Number.isNaN(minThreshold)) throw new InputError('minThreshold is NaN');
  return { numTokens, minThreshold };
}

/**
 * Checks a NeuroX-shaped corpus: `activations[i]` is sentence i's
 * `[nTokens x nNeurons]` matrix. Returns nNeurons. InputError for an empty
 * corpus, a sentence whose rows do not match its tokens, or widths that differ.
 */
export function checkCorpus(sentences: readonly (readonly string[])[], activations: readonly Matrix[]): number {
  if (sentences.length !== activations.length) {
    throw new InputError(`${sentences.length} sentences but ${activations.length} activation matrices`);
  }
  let nTokens = 0;
  const width = activations[0]?.cols ?? 0;
  for (let i = 0; i < sentences.length; i++) {
    const m = activations[i]!;
    const n = sentences[i]!.length;
    if (m.rows !== n) throw new InputError(`sentence ${i}: ${n} tokens but ${m.rows} activation rows`);
    if (m.cols !== width) throw new InputError(`sentence ${i}: ${m.cols} neurons, sentence 0 has ${width}`);
    nTokens += n;
  }
  if (nTokens === 0) throw new InputError(`empty corpus: ${sentences.length} sentences and no tokens`);
  if (width === 0) throw new InputError('empty corpus: activations have 0 neurons');
  return width;
}

/** NeuroX's get_top_words for one (global) neuron. */
export function getTopWords(
  sentences: readonly (readonly string[])[],
  activations: readonly Matrix[],
  neuron: number,
  options?: TopWordsOptions,
): TopWord[] {
  resolveTopWordsOptions(options);
  const width = checkCorpus(sentences, activations);
  if (!Number.isInteger(neuron) || neuron < 0 || neuron >= width) {
    throw new InputError(`neuron ${neuron} is out of range [0, ${width - 1}]`);
  }
  return rankTopWords(typeScoresInMemory(sentences, activations, neuron, 1), options)[0]!;
}

/** get_top_words for every neuron: `result[g]` is global neuron g's list. */
export function topWordsAllNeurons(
  sentences: readonly (readonly string[])[],
  activations: readonly Matrix[],
  options?: TopWordsOptions,
): TopWord[][] {
  resolveTopWordsOptions(options);
  const width = checkCorpus(sentences, activations);
  return rankTopWords(typeScoresInMemory(sentences, activations, 0, width), options);
}

// Both passes over an in-memory corpus, as one shard (shard 0).
function typeScoresInMemory(
  sentences: readonly (readonly string[])[], activations: readonly Matrix[], firstNeuron: number, nNeurons: number,
): TypeScores {
  const moments = emptyMoments(nNeurons, firstNeuron);
  activations.forEach((m, i) => accumulateMoments(moments, m, { label: `sentence ${i}` }));
  const builder = new TypeScoresBuilder({ shard: 0, firstNeuron, mu: moments.mean });
  sentences.forEach((s, i) => builder.add(s, activations[i]!, { label: `sentence ${i}` }));
  return builder.finish();
}

/**
 * Ranks every neuron of a (reduced) `TypeScores`: `result[j]` is the top words
 * of neuron `firstNeuron + j`. Score = (sumAbs / count) / max over types;
 * kept where score > minThreshold; sorted by score descending, ties in
 * first-occurrence order; cut at numTokens when > 0. When every type scores
 * 0 (a constant neuron), every score is 0, not NeuroX's NaN.
 */
export function rankTopWords(ts: TypeScores, options?: TopWordsOptions): TopWord[][] {
  const { numTokens, minThreshold } = resolveTopWordsOptions(options);
  return rankCut(ts, numTokens, minThreshold);
}

/**
 * Both cuts at once, as a top_words table keeps them: types scoring above
 * `minThreshold`, then the first `topK` (0 = all). NeuroX's own options
 * forbid combining the two (`resolveTopWordsOptions`); the ranking is the same.
 */
export function rankTopWordsCut(ts: TypeScores, topK: number, minThreshold: number): TopWord[][] {
  if (!Number.isInteger(topK) || topK < 0) throw new InputError(`topK ${topK} is not a non-negative integer`);
  if (Number.isNaN(minThreshold)) throw new InputError('minThreshold is NaN');
  return rankCut(ts, topK, minThreshold);
}

/**
 * A block's ranked top words as columns, without an object per word: neuron
 * `firstNeuron + j`'s words are rows `offsets[j]` to `offsets[j + 1]`, best
 * first; each row is a type (an index into the ranked `TypeScores`' tokens,
 * counts and sums) and its score.
 */
export interface RankedTypes {
  readonly offsets: Int32Array;
  readonly type: Int32Array;
  readonly score: Float64Array;
}

/** `rankTopWordsCut` as columns (a top_words table's rows come from them). */
export function rankTopWordsColumns(ts: TypeScores, topK: number, minThreshold: number): RankedTypes {
  if (!Number.isInteger(topK) || topK < 0) throw new InputError(`topK ${topK} is not a non-negative integer`);
  if (Number.isNaN(minThreshold)) throw new InputError('minThreshold is NaN');
  return rankColumns(ts, topK, minThreshold);
}

function rankCut(ts: TypeScores, k: number, minThreshold: number): TopWord[][] {
  const { offsets, type, score } = rankColumns(ts, k, minThreshold);
  const out: TopWord[][] = [];
  for (let j = 0; j < ts.nNeurons; j++) {
    const list: TopWord[] = [];
    for (let r = offsets[j]!; r < offsets[j + 1]!; r++) list.push(topWord(ts, type[r]!, j, score[r]!));
    out.push(list);
  }
  return out;
}

function rankColumns(ts: TypeScores, k: number, minThreshold: number): RankedTypes {
  const kernels = rankKernels(ts, k);
  const max = kernels ? kernels.typeMax() : bestTypeScores(ts);
  return k > 0 ? rankTopK(ts, max, k, minThreshold, kernels) : rankAll(ts, max, minThreshold);
}

/**
 * The SIMD kernels' state in the shared scratch memory, with a copy of the
 * table (the kernels read only their own memory; the copy costs under a
 * tenth of the JS loops it replaces), or null: no WebAssembly SIMD, a table
 * past the scratch limit, or a table in the scratch memory itself. The
 * kernels' arithmetic is bestTypeScores' and scanTopK's: the same bits.
 */
interface RankKernels {
  /** bestTypeScores' result, by the kernel: a view of the scratch memory. */
  typeMax(): Float64Array;
  /** The top-k state for rankTopK, views of the scratch memory. */
  readonly heaps: TopKHeaps;
  /** rankTopK's scan, by the kernel, with typeMax's result, over `heaps` as set up by the caller. */
  scan(k: number, minThreshold: number): void;
}

// Scratch layout (bytes) of the ranking kernels, from byte `base`: max, bar,
// screen, near f64 [B]; heapS f64 [B x k]; count f64 [n]; size i32 [B];
// heapT i32 [B x k]; then (in the shared scratch) the table f64 [n x B].
function rankLayout(n: number, B: number, k: number, base = 0): { heapSOff: number; countOff: number; sizeOff: number; heapTOff: number; tableOff: number; bytes: number } {
  const heapSOff = base + 32 * B;
  const countOff = heapSOff + 8 * B * k;
  const sizeOff = countOff + 8 * n;
  const heapTOff = sizeOff + 4 * B;
  const tableOff = Math.ceil((heapTOff + 4 * B * k) / 16) * 16;
  return { heapSOff, countOff, sizeOff, heapTOff, tableOff, bytes: tableOff + 8 * n * B };
}

/**
 * Bytes of scratch the ranking takes beside a table that already lives in
 * WebAssembly memory (`TypeScores.kernelHome`): its state without a copy of the table.
 */
export function rankStateBytes(nTypes: number, B: number, k: number): number {
  return rankLayout(nTypes, B, k).tableOff;
}

function rankKernels(ts: TypeScores, k: number): RankKernels | null {
  const B = ts.nNeurons;
  const n = ts.tokens.length;
  // in the memory the sums already live in, where it has room: no copy of the table
  const home = ts.kernelHome;
  const there = home && rankLayout(n, B, k, home.freeOff);
  let sc: Scratch | null;
  let layout: ReturnType<typeof rankLayout>;
  if (home && there && home.scratch.u8.byteLength >= there.tableOff && home.scratch.f64.buffer === ts.sumAbs.buffer) {
    sc = home.scratch;
    layout = { ...there, tableOff: home.sumAbsOff };
  } else {
    layout = rankLayout(n, B, k);
    sc = scratchBeside(layout.bytes, [ts.sumAbs, ts.sumX, ts.count]);
    if (sc === null) return null;
    sc.f64.set(ts.sumAbs.subarray(0, n * B), layout.tableOff / 8);
  }
  const { heapSOff, countOff, sizeOff, heapTOff, tableOff } = layout;
  const base = home && sc === home.scratch ? home.freeOff : 0;
  const { f64, i32, kernels } = sc;
  f64.set(ts.count.subarray(0, n), countOff / 8);
  const at = base / 8; // max, bar, screen, near: f64 [B] each from `base`
  const max = f64.subarray(at, at + B);
  return {
    typeMax: () => {
      f64.fill(0, at, at + B);
      f64.fill(0, at + 3 * B, at + 4 * B);
      kernels.typeMax(tableOff, countOff, n, B, base, base + 24 * B, SLACK);
      return max;
    },
    heaps: {
      heapT: i32.subarray(heapTOff / 4, heapTOff / 4 + B * k),
      heapS: f64.subarray(heapSOff / 8, heapSOff / 8 + B * k),
      size: i32.subarray(sizeOff / 4, sizeOff / 4 + B),
      bar: f64.subarray(at + B, at + 2 * B),
      screen: f64.subarray(at + 2 * B, at + 3 * B),
    },
    scan: (k, minThreshold) => {
      kernels.rankTopK(tableOff, countOff, n, B, base, k, minThreshold, SLACK, base + 8 * B, base + 16 * B, sizeOff, heapTOff, heapSOff);
    },
  };
}

/** `[nNeurons]` the best type's mean |x - mu| per neuron, in one sequential pass. */
function bestTypeScores(ts: TypeScores): Float64Array {
  const B = ts.nNeurons;
  const { sumAbs, count } = ts;
  const max = new Float64Array(B);
  // Compare by a multiply first (no division per value); only values that
  // may beat the max are divided, so the max is exactly a quotient.
  const near = new Float64Array(B);
  for (let t = 0; t < ts.tokens.length; t++) {
    const c = count[t]!;
    const inv = 1 / c;
    const o = t * B;
    for (let j = 0; j < B; j++) {
      const a = sumAbs[o + j]!;
      if (a * inv >= near[j]!) {
        const s = a / c;
        if (s > max[j]!) {
          max[j] = s;
          near[j] = s * SLACK;
        }
      }
    }
  }
  return max;
}

// Below 1 by far more than the rounding of a multiply against a division.
const SLACK = 1 - 1e-9;

// The one definition of a type's normalised score for neuron j.
function scoreOf(ts: TypeScores, max: Float64Array, t: number, j: number): number {
  const m = max[j]!;
  return m > 0 ? ts.sumAbs[t * ts.nNeurons + j]! / ts.count[t]! / m : 0;
}

// Type t's entry for neuron j, with its score (scoreOf's value).
function topWord(ts: TypeScores, t: number, j: number, score: number): TopWord {
  const c = ts.count[t]!;
  return { token: ts.tokens[t]!, score, count: c, mean: ts.sumX[t * ts.nNeurons + j]! / c };
}

/**
 * Per neuron j, a heap of (type, score) at [j * k, j * k + size[j]); the
 * worst kept type (lowest score, then latest) at the root. bar[j]: the score
 * to beat; screen[j]: the bar in unnormalised units, lowered a hair, so a
 * multiply screens out most types and the exact score decides for the rest
 * (-Infinity: always decide).
 */
interface TopKHeaps {
  readonly heapT: Int32Array;
  readonly heapS: Float64Array;
  readonly size: Int32Array;
  readonly bar: Float64Array;
  readonly screen: Float64Array;
}

/**
 * numTokens > 0: one sequential pass over the types x neurons sums with a
 * bounded heap per neuron; a type enters only if it beats the neuron's bar
 * (the threshold, or the worst kept type once the heap is full). Types come
 * in first-occurrence order, so one that only ties the worst kept type ranks
 * after it and stays out (stable). The scan is the SIMD kernel's when there
 * is one (same arithmetic, same heaps), else scanTopK.
 */
function rankTopK(ts: TypeScores, max: Float64Array, k: number, minThreshold: number, kernels: RankKernels | null): RankedTypes {
  const B = ts.nNeurons;
  const heaps = kernels?.heaps ?? {
    heapT: new Int32Array(B * k), heapS: new Float64Array(B * k), size: new Int32Array(B), bar: new Float64Array(B), screen: new Float64Array(B),
  };
  const { heapT, heapS, size, bar, screen } = heaps;
  size.fill(0);
  bar.fill(minThreshold);
  for (let j = 0; j < B; j++) screen[j] = screenOf(max[j]!, bar[j]!);
  if (kernels) kernels.scan(k, minThreshold);
  else scanTopK(ts, max, k, minThreshold, heaps);
  // Each heap emptied root first: its kept types from the worst up (below()
  // is a total order, so this is the sort by score descending, then first
  // occurrence), without a comparator call per pair.
  const offsets = new Int32Array(B + 1);
  for (let j = 0; j < B; j++) offsets[j + 1] = offsets[j]! + size[j]!;
  const type = new Int32Array(offsets[B]!);
  const score = new Float64Array(offsets[B]!);
  for (let j = 0; j < B; j++) {
    const h = j * k;
    for (let n = size[j]!; n > 0; n--) {
      type[offsets[j]! + n - 1] = heapT[h]!;
      score[offsets[j]! + n - 1] = heapS[h]!;
      if (n > 1) siftDown(heapT, heapS, h, n - 1, heapT[h + n - 1]!, heapS[h + n - 1]!);
    }
  }
  return { offsets, type, score };
}

// A neuron's screen for its max and bar (the kernel rankTopK computes the same).
function screenOf(m: number, bar: number): number {
  return m > 0 && bar > 0 ? bar * m * SLACK : -Infinity;
}

// rankTopK's scan in JS (the kernel rankTopK is the same loop).
function scanTopK(ts: TypeScores, max: Float64Array, k: number, minThreshold: number, heaps: TopKHeaps): void {
  const B = ts.nNeurons;
  const { heapT, heapS, size, bar, screen } = heaps;
  const { sumAbs, count } = ts;
  for (let t = 0; t < ts.tokens.length; t++) {
    const c = count[t]!;
    const inv = 1 / c;
    const o = t * B;
    for (let j = 0; j < B; j++) {
      const a = sumAbs[o + j]!;
      if (a * inv < screen[j]!) continue;
      const m = max[j]!;
      // scoreOf's arithmetic
      const s = m > 0 ? a / c / m : 0;
      if (!(s > bar[j]!)) continue;
      const h = j * k;
      const n = size[j]!;
      if (n < k) {
        siftUp(heapT, heapS, h, n, t, s);
        size[j] = n + 1;
      } else {
        siftDown(heapT, heapS, h, k, t, s);
      }
      if (n + 1 >= k) {
        bar[j] = Math.max(minThreshold, heapS[h]!);
        screen[j] = screenOf(m, bar[j]!);
      }
    }
  }
}

// Type a ranks below type b: a lower score, or the same score and later.
function below(sa: number, ta: number, sb: number, tb: number): boolean {
  return sa < sb || (sa === sb && ta > tb);
}

// Adds (t, s) at slot n of the heap at h and restores the heap order.
function siftUp(heapT: Int32Array, heapS: Float64Array, h: number, n: number, t: number, s: number): void {
  let i = n;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!below(s, t, heapS[h + p]!, heapT[h + p]!)) break;
    heapT[h + i] = heapT[h + p]!;
    heapS[h + i] = heapS[h + p]!;
    i = p;
  }
  heapT[h + i] = t;
  heapS[h + i] = s;
}

// Replaces the root of the full heap (k slots) at h by (t, s) and restores the order
// (with k one less than the slots in use: pops the root, (t, s) the last slot).
function siftDown(heapT: Int32Array, heapS: Float64Array, h: number, k: number, t: number, s: number): void {
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= k) break;
    const r = l + 1;
    let w = l;
    if (r < k && below(heapS[h + r]!, heapT[h + r]!, heapS[h + l]!, heapT[h + l]!)) w = r;
    if (!below(heapS[h + w]!, heapT[h + w]!, s, t)) break;
    heapT[h + i] = heapT[h + w]!;
    heapS[h + i] = heapS[h + w]!;
    i = w;
  }
  heapT[h + i] = t;
  heapS[h + i] = s;
}

// Neurons ranked together: their scores are gathered type-major (one cache
// line per type for 8 neurons) instead of striding nNeurons per type each.
const RANK_GROUP = 8;

/** numTokens = 0: every type above the threshold, per neuron, fully sorted. */
function rankAll(ts: TypeScores, max: Float64Array, minThreshold: number): RankedTypes {
  const B = ts.nNeurons;
  const nTypes = ts.tokens.length;
  const offsets = new Int32Array(B + 1);
  const types: number[] = [];
  const scores: number[] = [];
  const group = new Float64Array(RANK_GROUP * nTypes);
  const kept: number[] = [];
  for (let j0 = 0; j0 < B; j0 += RANK_GROUP) {
    const g = Math.min(RANK_GROUP, B - j0);
    for (let t = 0; t < nTypes; t++) {
      for (let i = 0; i < g; i++) group[i * nTypes + t] = scoreOf(ts, max, t, j0 + i);
    }
    for (let i = 0; i < g; i++) {
      kept.length = 0;
      const base = i * nTypes;
      for (let t = 0; t < nTypes; t++) if (group[base + t]! > minThreshold) kept.push(t);
      kept.sort((a, b) => group[base + b]! - group[base + a]! || a - b);
      for (const t of kept) {
        types.push(t);
        scores.push(group[base + t]!);
      }
      offsets[j0 + i + 1] = types.length;
    }
  }
  return { offsets, type: Int32Array.from(types), score: Float64Array.from(scores) };
}
