/**
 * The run manifest, `runs/<runId>/manifest.json`: the run's config, versions,
 * shard list, per-stage status and output keys. Written by the run's root job
 * (or the embedded runner) at each stage transition only, never by the many
 * stage jobs, so it has a single writer at a time.
 */
import { z } from 'zod';
import type { Plan } from '../pipelines/plan.ts';
import { STAGES } from '../pipelines/plan.ts';
import { AnalysisJobV1 } from './analysis.ts';
import { RenderSelectionV1 } from './render.ts';

const int = z.int().min(0);
const hex = z.string().regex(/^[0-9a-f]+$/);

export const PlanV1 = z
  .object({
    version: z.literal(1),
    runId: z.string(),
    corpus: z.object({ url: z.string(), hash: hex, bytes: int, nSentences: int, nWords: int, blankLines: int }).strict(),
    model: z.object({ spec: z.string(), id: z.string(), hash: hex, nLayers: int, dModel: int, maxLength: int }).strict(),
    layers: z.array(int).readonly(),
    nNeurons: int,
    extract: z
      .object({
        aggregation: z.enum(['first', 'last', 'average']),
        includeSpecialTokens: z.boolean(),
        ignoreEmbeddings: z.boolean(),
        layers: z.array(int).readonly().optional(),
        batchSize: int,
        dtype: z.enum(['float32', 'float16']),
      })
      .strict(),
    options: z
      .object({
        shardSentences: int, blockNeurons: int, topK: int, minThreshold: z.number(),
        topSentences: int, histogramBins: int, render: RenderSelectionV1, textDirection: z.enum(['ltr', 'rtl']),
      })
      .strict(),
    cacheOptionsHash: hex,
    shards: z.array(
      z
        .object({
          index: int,
          firstSentence: int,
          nSentences: int,
          nWords: int,
          byteStart: int,
          byteEnd: int,
          hash: hex,
          cache: z.object({ prefix: z.string(), activations: z.string(), moments: z.string(), meta: z.string() }).strict(),
        })
        .strict(),
    ).readonly(),
    blocks: z.array(z.object({ index: int, start: int, end: int }).strict()).readonly(),
  })
  .strict();

// The schema and the planner's type describe the same object.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const planMatches: Same<z.output<typeof PlanV1>, Plan> = true;
void planMatches;

export const StageStatus = z.enum(['pending', 'running', 'done', 'failed']);
export type StageStatus = z.output<typeof StageStatus>;

export const RunStatus = z.enum(['running', 'completed', 'failed']);
export type RunStatus = z.output<typeof RunStatus>;

export const ManifestV1 = z
  .object({
    version: z.literal(1),
    runId: z.string(),
    status: RunStatus,
    createdAt: z.string().describe('ISO 8601'),
    updatedAt: z.string().describe('ISO 8601'),
    request: AnalysisJobV1.describe('The analysis request, defaults filled in.'),
    versions: z.object({ package: z.string(), plan: int, shardFormat: int, manifest: z.literal(1) }).strict(),
    plan: PlanV1,
    stages: z.array(z.object({ name: z.enum(STAGES), total: int, status: StageStatus }).strict()),
    outputs: z.object({ neuronStats: z.string(), topWords: z.string(), topSentences: z.string(), histograms: z.string(), index: z.string() }).strict(),
    summary: z
      .object({ nTokens: int, cachedShards: int, truncatedSentences: int, emptyWords: int, topWordRows: int.optional() })
      .strict()
      .optional(),
    error: z.object({ stage: z.string(), job: z.string().optional(), reason: z.string() }).strict().optional(),
  })
  .strict()
  .meta({ id: 'ManifestV1', title: 'neurox run manifest, version 1' });

export type Manifest = z.output<typeof ManifestV1>;
