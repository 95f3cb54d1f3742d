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
 */
import { InputError } from './errors.ts';
import type { Matrix } from './matrix.ts';
import { accumulateMoments, emptyMoments } from './moments.ts';
import { TypeScoresBuilder, type TypeScores } from './typeScores.ts';

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

// Neurons ranked together: their scores are gathered type-major (one cache
// line per type for 8 neurons) instead of striding nNeurons per type each.
const RANK_GROUP = 8;

/**
 * Ranks every neuron of a (reduced) `TypeScores`: `result[j]` is the top words
 * of neuron `firstNeuron + j`. Score = (sumAbs / count) / max over types;
 * kept where score > minThreshold; sorted by score descending, ties in
 * first-occurrence order; cut at numTokens when > 0. When every type scores
 * 0 (a constant neuron), every score is 0, not NeuroX's NaN.
 */
export function rankTopWords(ts: TypeScores, options?: TopWordsOptions): TopWord[][] {
  const { numTokens, minThreshold } = resolveTopWordsOptions(options);
  const B = ts.nNeurons;
  const nTypes = ts.tokens.length;
  const out: TopWord[][] = [];
  const group = new Float64Array(RANK_GROUP * nTypes);
  const scores = new Float64Array(nTypes);
  const kept = new Int32Array(nTypes);
  for (let j0 = 0; j0 < B; j0 += RANK_GROUP) {
    const g = Math.min(RANK_GROUP, B - j0);
    for (let t = 0; t < nTypes; t++) {
      const c = ts.count[t]!;
      const o = t * B + j0;
      for (let k = 0; k < g; k++) group[k * nTypes + t] = ts.sumAbs[o + k]! / c;
    }
    for (let k = 0; k < g; k++) {
      let max = 0;
      for (let t = 0; t < nTypes; t++) {
        const s = group[k * nTypes + t]!;
        scores[t] = s;
        if (s > max) max = s;
      }
      let n = 0;
      for (let t = 0; t < nTypes; t++) {
        const s = max > 0 ? scores[t]! / max : 0;
        scores[t] = s;
        if (s > minThreshold) kept[n++] = t;
      }
      const ranked = selectRanked(kept.subarray(0, n), scores, numTokens);
      const j = j0 + k;
      out.push(ranked.map((t) => ({
        token: ts.tokens[t]!,
        score: scores[t]!,
        count: ts.count[t]!,
        mean: ts.sumX[t * B + j]! / ts.count[t]!,
      })));
    }
  }
  return out;
}

/**
 * The first `limit` (all when 0) of `candidates` (ascending type ids) in rank
 * order: higher score first, equal scores in type (first-occurrence) order.
 * A bounded heap when limit is small against the candidates: ranking 20k
 * types to keep 10 should not sort 20k.
 */
function selectRanked(candidates: Int32Array, scores: Float64Array, limit: number): number[] {
  const cmp = (a: number, b: number): number => scores[b]! - scores[a]! || a - b;
  if (limit === 0 || candidates.length <= limit * 4) {
    const all = Array.from(candidates).sort(cmp);
    return limit === 0 ? all : all.slice(0, limit);
  }
  // Min-heap of the best `limit` so far; heap[0] is the worst of them.
  // Candidates come in ascending type order, so a candidate that only ties
  // the worst kept one ranks after it and is skipped (stable).
  const heap = Array.from(candidates.subarray(0, limit)).sort(cmp).reverse();
  let worst = scores[heap[0]!]!;
  for (let i = limit; i < candidates.length; i++) {
    const t = candidates[i]!;
    const st = scores[t]!;
    if (st <= worst) continue;
    heap[0] = t;
    for (let p = 0; ;) {
      const l = 2 * p + 1;
      const r = l + 1;
      let w = p;
      if (l < limit && rankedBefore(heap[w]!, heap[l]!, scores)) w = l;
      if (r < limit && rankedBefore(heap[w]!, heap[r]!, scores)) w = r;
      if (w === p) break;
      const tmp = heap[p]!;
      heap[p] = heap[w]!;
      heap[w] = tmp;
      p = w;
    }
    worst = scores[heap[0]!]!;
  }
  return heap.sort(cmp);
}

// True when type a ranks before type b (so b is the worse of the two).
function rankedBefore(a: number, b: number, scores: Float64Array): boolean {
  const sa = scores[a]!;
  const sb = scores[b]!;
  return sa > sb || (sa === sb && a < b);
}
