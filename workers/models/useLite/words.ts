/**
 * From piece-level hidden states to NeuroX's word-level activations: layer
 * selection, truncation at the model's length and subword aggregation.
 *
 * Pure (no runtime or I/O imports); nothing here is specific to USE lite
 * except that it is fed `WordPieces`.
 */
import { InputError } from '../../../pipelines/errors.ts';
import type { Aggregation, ExtractOptions } from '../../../pipelines/ports.ts';
import type { WordPieces } from './tokenizer.ts';

const AGGREGATIONS: readonly Aggregation[] = ['first', 'last', 'average'];

/**
 * The model layers to return, in output order. `layers` indexes the
 * hidden states with the embedding output as 0 and keeps the caller's order
 * (NeuroX's `filter_layers` does too); `ignoreEmbeddings` drops layer 0.
 * Asking for layer 0 while ignoring embeddings is a contradiction (NeuroX
 * refuses the combination outright).
 */
export function selectLayers(nLayers: number, options: Pick<ExtractOptions, 'layers' | 'ignoreEmbeddings'>): number[] {
  const all = Array.from({ length: nLayers }, (_, l) => l);
  if (options.layers === undefined) return options.ignoreEmbeddings ? all.slice(1) : all;
  if (options.layers.length === 0) throw new InputError('layers: empty list (omit it to keep every layer)');
  const seen = new Set<number>();
  for (const l of options.layers) {
    if (!Number.isInteger(l) || l < 0 || l >= nLayers) {
      throw new InputError(`layer ${l} is out of range [0, ${nLayers - 1}]`);
    }
    if (seen.has(l)) throw new InputError(`layer ${l} is listed twice`);
    if (l === 0 && options.ignoreEmbeddings) {
      throw new InputError('layer 0 (the embedding output) is listed but ignoreEmbeddings is set');
    }
    seen.add(l);
  }
  return [...options.layers];
}

/** Checks the options every extraction needs; throws InputError naming the bad value. */
export function checkExtractOptions(options: ExtractOptions): void {
  if (!AGGREGATIONS.includes(options.aggregation)) {
    throw new InputError(`aggregation "${String(options.aggregation)}" is not one of ${AGGREGATIONS.join(', ')}`);
  }
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new InputError(`batchSize ${options.batchSize} is not a positive integer`);
  }
}

/** What survives the model's length limit. */
export interface Truncation {
  /** Pieces the model sees: the first `maxLength` (the model clips the rest itself). */
  readonly nPieces: number;
  /** Words whose pieces all fit; the words after them are dropped. */
  readonly nWords: number;
}

/**
 * NeuroX's rule: the model sees the first `maxLength` pieces; a word whose
 * pieces do not all fit is dropped, and so is every word after it.
 */
export function truncation(pieces: WordPieces, maxLength: number): Truncation {
  const nPieces = Math.min(pieces.ids.length, maxLength);
  let nWords = 0;
  while (nWords < pieces.wordEnd.length && pieces.wordEnd[nWords]! <= maxLength) nWords++;
  return { nPieces, nWords };
}

/**
 * Word vectors from piece vectors.
 *
 * `states[k]` holds layer k's piece vectors for a whole batch,
 * `[batch x seqLen x dModel]`; this sentence is row `row` of the batch.
 * Returns `[layers x nWords x dModel]` (the project's `SentenceActivations`
 * layout). A word without pieces gets zeros (NeuroX does the same).
 */
export function aggregateWords(
  states: readonly Float32Array[],
  row: number,
  seqLen: number,
  dModel: number,
  pieces: WordPieces,
  nWords: number,
  aggregation: Aggregation,
): Float32Array {
  const nLayers = states.length;
  const out = new Float32Array(nLayers * nWords * dModel);
  const sum = aggregation === 'average' ? new Float64Array(dModel) : null;
  for (let l = 0; l < nLayers; l++) {
    const layer = states[l]!;
    for (let w = 0; w < nWords; w++) {
      const start = pieces.wordStart[w]!;
      const end = pieces.wordEnd[w]!;
      if (end <= start) continue;
      const dst = (l * nWords + w) * dModel;
      const rowOf = (p: number): number => (row * seqLen + p) * dModel;
      if (sum === null) {
        const src = rowOf(aggregation === 'first' ? start : end - 1);
        out.set(layer.subarray(src, src + dModel), dst);
        continue;
      }
      sum.fill(0);
      for (let p = start; p < end; p++) {
        const src = rowOf(p);
        for (let n = 0; n < dModel; n++) sum[n] = sum[n]! + layer[src + n]!;
      }
      const count = end - start;
      for (let n = 0; n < dModel; n++) out[dst + n] = sum[n]! / count;
    }
  }
  return out;
}
