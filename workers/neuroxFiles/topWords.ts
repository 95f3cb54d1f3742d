/**
 * NeuroX's get_top_words over an activation file that need not fit in
 * memory.
 *
 * One neuron: a single pass keeps that neuron's column and the tokens, then
 * runs pipelines/topWords.ts `getTopWords` on them (NeuroX's numbers).
 *
 * Every neuron: pass 1 streams the file for each neuron's mean (moments.ts)
 * and the corpus vocabulary size; then each block of neurons takes one pass
 * (typeScores.ts per chunk of rows, merged by typeScoresReduce.ts, ranked by
 * `rankTopWords`). The block width is the widest whose per-type sums fit the
 * memory budget, so a small model or vocabulary needs exactly two passes;
 * hdf5 passes read only the layers their block covers.
 */
import { InputError } from '../../pipelines/errors.ts';
import { matrix, splitGlobalNeuron, toTokenMajor, type Matrix, type SentenceActivations } from '../../pipelines/matrix.ts';
import { accumulateMoments, emptyMoments, type Moments } from '../../pipelines/moments.ts';
import { rankTopWords, resolveTopWordsOptions, type TopWord, type TopWordsOptions } from '../../pipelines/topWords.ts';
import { TypeScoresBuilder } from '../../pipelines/typeScores.ts';
import { TypeScoresReducer } from '../../pipelines/typeScoresReduce.ts';
import { Vocab } from '../../pipelines/vocab.ts';
import type { ActivationFile } from './index.ts';

/** Rows of type sums collected before they are merged (bounds the builder's memory). */
const CHUNK_ROWS = 1 << 16;
export const DEFAULT_MEMORY_BYTES = 1 << 30;

/** Columns `[first, first + width)` of the concatenated layers, as a `[nTokens x width]` matrix. */
function columns(a: SentenceActivations, firstLayer: number, first: number, width: number): Matrix {
  const { nTokens, dModel, data } = a;
  const out = new Float32Array(nTokens * width);
  for (let j = 0; j < width; ) {
    const g = first + j;
    const l = Math.floor(g / dModel) - firstLayer;
    const n = g % dModel;
    const run = Math.min(width - j, dModel - n); // the rest of this layer's neurons
    for (let t = 0; t < nTokens; t++) {
      const src = (l * nTokens + t) * dModel + n;
      out.set(data.subarray(src, src + run), t * width + j);
    }
    j += run;
  }
  return matrix(out, nTokens, width);
}

/**
 * NeuroX's get_top_words for one global neuron of the file, in one pass that
 * keeps only that neuron's column and the tokens.
 */
export async function fileTopWords(file: ActivationFile, globalNeuron: number, options: TopWordsOptions = {}): Promise<TopWord[]> {
  resolveTopWordsOptions(options);
  const { nLayers, dModel } = file.info;
  const { layer } = splitGlobalNeuronChecked(globalNeuron, nLayers, dModel);
  const at = { columnOffset: globalNeuron };
  const moments = emptyMoments(1, globalNeuron);
  // mu is set once the pass is done; the builder only groups rows until finish()
  const builder = new TypeScoresBuilder({ shard: 0, firstNeuron: globalNeuron, mu: new Float64Array(1) });
  for await (const s of file.sentences({ layers: [layer, layer + 1] })) {
    const m = columns(s.activations, layer, globalNeuron, 1);
    const label = `sentence ${s.index}`;
    accumulateMoments(moments, m, { ...at, label });
    builder.add(s.tokens, m, { ...at, label });
  }
  builder.setBlock({ firstNeuron: globalNeuron, mu: moments.mean });
  return rankTopWords(builder.finish(), options)[0]!;
}

function splitGlobalNeuronChecked(g: number, nLayers: number, dModel: number): { layer: number; neuron: number } {
  try {
    return splitGlobalNeuron(g, nLayers, dModel);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
}

export interface AllTopWordsOptions {
  /** Keep types scoring strictly above this (default 0.1, as NeuroX). */
  readonly minThreshold?: number;
  /** Keep at most this many per neuron after the threshold (0 = all). */
  readonly topK?: number;
  /** Budget for the per-type sums of a neuron block (default 1 GiB). */
  readonly memoryBytes?: number;
  readonly onProgress?: (p: Progress) => void;
}

export interface Progress {
  readonly pass: number;
  /** Known after pass 1 (before, for hdf5). */
  readonly passes: number | null;
  readonly what: string;
  readonly sentences: number;
  readonly totalSentences: number | null;
  readonly done: boolean;
}

/** One neuron's ranked words, in neuron order. */
export interface NeuronTopWords {
  readonly layer: number;
  readonly neuron: number;
  readonly globalNeuron: number;
  readonly words: readonly TopWord[];
}

export interface AllTopWordsSummary {
  readonly passes: number;
  readonly blockNeurons: number;
  readonly nTypes: number;
  readonly nTokens: number;
  readonly nSentences: number;
}

/**
 * get_top_words for every neuron, streaming: `emit` receives each block's
 * neurons in order (awaited, so a slow writer holds the next block back).
 */
export async function fileTopWordsAll(
  file: ActivationFile,
  emit: (block: readonly NeuronTopWords[]) => Promise<void>,
  options: AllTopWordsOptions = {},
): Promise<AllTopWordsSummary> {
  const minThreshold = options.minThreshold ?? 0.1;
  if (Number.isNaN(minThreshold)) throw new InputError('min threshold is NaN');
  const topK = options.topK ?? 0;
  if (!Number.isInteger(topK) || topK < 0) throw new InputError(`top-k ${topK} is not a non-negative integer`);
  const budget = options.memoryBytes ?? DEFAULT_MEMORY_BYTES;
  const { nLayers, dModel } = file.info;
  const nNeurons = nLayers * dModel;
  const progress = options.onProgress ?? (() => {});

  // pass 1: each neuron's mean, and the vocabulary size that sizes the blocks
  const moments: Moments = emptyMoments(nNeurons);
  const vocab = new Vocab();
  let nSentences = 0;
  let nTokens = 0;
  for await (const s of file.sentences()) {
    accumulateMoments(moments, toTokenMajor(s.activations), { label: `sentence ${s.index}` });
    for (const t of s.tokens) vocab.intern(t);
    nSentences++;
    nTokens += s.tokens.length;
    progress({ pass: 1, passes: null, what: 'moments', sentences: nSentences, totalSentences: file.info.nSentences, done: false });
  }
  if (nTokens === 0) throw new InputError('empty corpus: no tokens');
  const nTypes = vocab.size;
  // per neuron of a block: the reducer's sums (16 bytes per type) and a chunk of rows (4 bytes per row)
  const perNeuron = 16 * nTypes + 4 * CHUNK_ROWS;
  const blockNeurons = Math.max(1, Math.min(nNeurons, Math.floor(budget / perNeuron)));
  const nBlocks = Math.ceil(nNeurons / blockNeurons);
  const passes = 1 + nBlocks;
  progress({ pass: 1, passes, what: 'moments', sentences: nSentences, totalSentences: nSentences, done: true });

  const reducer = new TypeScoresReducer({ expectedTypes: nTypes });
  for (let b = 0; b < nBlocks; b++) {
    const first = b * blockNeurons;
    const width = Math.min(blockNeurons, nNeurons - first);
    const firstLayer = Math.floor(first / dModel);
    const endLayer = Math.floor((first + width - 1) / dModel) + 1;
    const mu = moments.mean.subarray(first, first + width);
    reducer.reset();
    let shard = 0;
    const builder = new TypeScoresBuilder({ shard, firstNeuron: first, mu });
    const what = `neurons ${first}-${first + width - 1}`;
    let seen = 0;
    for await (const s of file.sentences({ layers: [firstLayer, endLayer] })) {
      builder.add(s.tokens, columns(s.activations, firstLayer, first, width), { columnOffset: first, label: `sentence ${s.index}` });
      if (builder.rows >= CHUNK_ROWS) {
        builder.finishInto(reducer); // no chunk-sized types x neurons table
        builder.reset({ shard: ++shard, firstNeuron: first, mu });
      }
      progress({ pass: 2 + b, passes, what, sentences: ++seen, totalSentences: nSentences, done: false });
    }
    if (builder.rows > 0) builder.finishInto(reducer);
    // NeuroX's rules forbid num_tokens with a threshold; here top-k is a cut after the threshold
    const ranked = options.minThreshold === undefined && topK > 0
      ? rankTopWords(reducer.finish(), { numTokens: topK })
      : rankTopWords(reducer.finish(), { minThreshold }).map((words) => (topK > 0 ? words.slice(0, topK) : words));
    await emit(ranked.map((words, j) => {
      const g = first + j;
      return { layer: Math.floor(g / dModel), neuron: g % dModel, globalNeuron: g, words };
    }));
    progress({ pass: 2 + b, passes, what, sentences: seen, totalSentences: nSentences, done: true });
  }
  return { passes, blockNeurons, nTypes, nTokens, nSentences };
}
