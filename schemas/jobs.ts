/**
 * Internal stage jobs: payloads and results, versioned. Payloads carry
 * keys, indices and hashes, never activations; each worker parses its
 * payload first (schemas/validate.ts) and fails a malformed one without retry.
 */
import { z } from 'zod';

const int = z.int().min(0);
const hex = z.string().regex(/^[0-9a-f]+$/);
const key = z.string().min(1);

/** Fields every stage job has: which run, in which store. */
const RunRef = {
  runId: z.string().min(1),
  /** Store URL of the run (the analysis request's `output`). */
  output: z.string().min(1),
};

export const ExtractJobV1 = z
  .object({
    version: z.literal(1),
    ...RunRef,
    corpusUrl: z.string().min(1),
    shard: z
      .object({
        index: int,
        firstSentence: int,
        nSentences: z.int().min(1),
        nWords: int,
        byteStart: int,
        byteEnd: int,
        hash: hex,
        cache: z.object({ prefix: key, activations: key, moments: key, meta: key }).strict(),
      })
      .strict(),
    model: z.object({ spec: z.string().min(1), id: z.string().min(1) }).strict(),
    layers: z.array(int).min(1),
    extract: z
      .object({
        aggregation: z.enum(['first', 'last', 'average']),
        includeSpecialTokens: z.boolean(),
        ignoreEmbeddings: z.boolean(),
        layers: z.array(int).optional(),
        batchSize: z.int().min(1),
        dtype: z.enum(['float32', 'float16']),
      })
      .strict(),
    groupWidth: z.int().min(1),
    /** Top sentences kept per neuron in the shard's partial (pipelines/topSentences.ts). */
    topSentences: z.int().min(1),
  })
  .strict();
export type ExtractJob = z.output<typeof ExtractJobV1>;

/** Also stored as the cache entry's meta.json and the run's extracted/<shard>.json. */
export const ExtractResultV1 = z
  .object({
    version: z.literal(1),
    shard: int,
    nSentences: int,
    nTokens: int,
    /** Sentences cut at the model's maximum length. */
    truncatedSentences: int,
    truncatedWords: int,
    /** Words the tokenizer dropped entirely (they got zero vectors). */
    emptyWords: int,
    /** True when the activations came from the cache of an earlier run. */
    cached: z.boolean(),
    activationBytes: int,
  })
  .strict();
export type ExtractResult = z.output<typeof ExtractResultV1>;

export const ReduceMomentsJobV1 = z.object({ version: z.literal(1), ...RunRef }).strict();
export type ReduceMomentsJob = z.output<typeof ReduceMomentsJobV1>;

export const ReduceMomentsResultV1 = z
  .object({ version: z.literal(1), runId: z.string().min(1), nTokens: int, nNeurons: int, nShards: int, cachedShards: int, truncatedSentences: int, emptyWords: int, neuronStats: key })
  .strict();
export type ReduceMomentsResult = z.output<typeof ReduceMomentsResultV1>;

export const TypeScoresJobV1 = z
  .object({
    version: z.literal(1),
    ...RunRef,
    block: z.object({ index: int, start: int, end: int }).strict(),
  })
  .strict();
export type TypeScoresJob = z.output<typeof TypeScoresJobV1>;

/** One neuron block's pass 2: its top-word rows (a Parquet part) at `key`. */
export const TypeScoresResultV1 = z.object({ version: z.literal(1), runId: z.string().min(1), block: int, nTypes: int, rows: int, key }).strict();
export type TypeScoresResult = z.output<typeof TypeScoresResultV1>;

