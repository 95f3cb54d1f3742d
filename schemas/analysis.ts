/**
 * The public queue API: what another service puts on the `analysis` queue
 * (job name `analyze`) and what the job returns when the run is complete.
 * Exported as JSON Schema to schemas/json/ (`npm run schemas` equivalent:
 * `npx tsx schemas/export.ts`) for producers in other languages.
 */
import { z } from 'zod';
import { RenderSelectionV1 } from './render.ts';

/** The BullMQ queue a producer adds analysis jobs to, and the job name. */
export const ANALYSIS_QUEUE = 'analysis';
export const ANALYZE_JOB = 'analyze';

const RUN_NAME = /^(?!\d+$)[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const AnalysisOptionsV1 = z
  .object({
    aggregation: z.enum(['first', 'last', 'average']).default('last').describe("How a word's subword pieces become one vector (NeuroX's default: last)."),
    includeSpecialTokens: z.boolean().default(false).describe('Keep [CLS], [SEP], <s>... as tokens of their own.'),
    ignoreEmbeddings: z.boolean().default(false).describe('Drop the embedding output (layer 0).'),
    layers: z.array(z.int().min(0)).min(1).optional().describe('Model layers to analyse, in this order (0 = embedding output); default all, or all but 0 with ignoreEmbeddings, which may not be combined with a list holding 0.'),
    dtype: z.enum(['float32', 'float16']).default('float32').describe('Precision of the activation cache (statistics are always float64 over the stored values).'),
    batchSize: z.int().min(1).max(4096).default(16).describe('Sentences per model run (speed only).'),
    shardSentences: z.int().min(1).max(1_000_000).default(256).describe('Sentences per shard: the unit of extraction jobs and of the activation cache.'),
    blockNeurons: z.int().min(1).max(1_000_000).default(256).describe('Neurons per pass-2 block: the unit of type-score jobs and reducers.'),
    topK: z.int().min(0).default(50).describe('Top words kept per neuron (0 = every type above the threshold).'),
    minThreshold: z.number().min(0).lt(1).default(0.1).describe("Keep types whose normalised score is strictly above this (NeuroX's min_threshold)."),
    topSentences: z.int().min(1).max(1000).default(10).describe('Top sentences kept per neuron, by the largest |activation| over their tokens (top_sentences.parquet).'),
    histogramBins: z.int().min(1).max(10_000).default(32).describe("Equal-width bins per neuron between its min and max (histograms.parquet)."),
    render: RenderSelectionV1.default({ topVariance: 64 }).describe("Neurons whose top sentences and plots are rendered as SVGs: 'all', 'none', { topVariance: N } or { neurons: ['layer:neuron', ...] }."),
    textDirection: z.enum(['ltr', 'rtl']).default('ltr').describe('Writing direction of the corpus, for the renders (rtl: each line laid out right to left).'),
  })
  .strict();

export const AnalysisJobV1 = z
  .object({
    version: z.literal(1),
    corpus: z.string().min(1).describe('The corpus, one sentence per line, space-separated words: s3://bucket/key, file:///abs/path, or a path the workers can read.'),
    model: z.string().min(1).default('use-lite').describe("Model spec: 'use-lite' (the bundled Universal Sentence Encoder lite) or a folder with an ONNX model and its tokenizer, readable by the workers."),
    output: z.string().min(1).describe('Store URL for the activation cache and the run: s3://bucket/prefix, file:///abs/dir.'),
    runName: z.string().regex(RUN_NAME).optional().describe('Run id to use (letters, digits, . _ -); default: derived from corpus, model and options.'),
    options: AnalysisOptionsV1.prefault({}),
  })
  .strict()
  .meta({ id: 'AnalysisJobV1', title: 'neurox analysis job, version 1' });

export type AnalysisJob = z.output<typeof AnalysisJobV1>;
export type AnalysisJobInput = z.input<typeof AnalysisJobV1>;
export type AnalysisOptions = z.output<typeof AnalysisOptionsV1>;

export const AnalysisResultV1 = z
  .object({
    version: z.literal(1),
    runId: z.string(),
    output: z.string().describe('Store URL the keys below are relative to.'),
    manifest: z.string().describe('Key of the run manifest (JSON).'),
    neuronStats: z.string().describe('Key of neuron_stats.parquet.'),
    topWords: z.string().describe('Key of top_words.parquet.'),
    topSentences: z.string().describe('Key of top_sentences.parquet.'),
    histograms: z.string().describe('Key of histograms.parquet.'),
    index: z.string().describe("Key of the run's static HTML index page (index.html; the renders are beside it)."),
    nSentences: z.int().min(0),
    nWords: z.int().min(0).describe('Words in the corpus (space-separated).'),
    nTokens: z.int().min(0).describe('Tokens analysed (after truncation, special tokens included when asked).'),
    nNeurons: z.int().min(0),
    nShards: z.int().min(0),
    cachedShards: z.int().min(0).describe('Shards whose activations came from the cache of an earlier run.'),
    truncatedSentences: z.int().min(0).describe('Sentences longer than the model allows; their last words were dropped.'),
    topWordRows: z.int().min(0),
  })
  .strict()
  .meta({ id: 'AnalysisResultV1', title: 'neurox analysis result, version 1' });

export type AnalysisResult = z.output<typeof AnalysisResultV1>;
