/**
 * The stage registry: each stage job's payload schema and function, and the
 * payloads a plan gives rise to. The embedded runner and the BullMQ
 * processors both go through `runStage`, so both validate the same payloads
 * and call the same functions.
 */
import { jobIds, type Plan } from '../../pipelines/plan.ts';
import {
  ExtractJobV1, ReduceMomentsJobV1, TypeScoresJobV1,
  type ExtractJob, type ReduceMomentsJob, type TypeScoresJob,
} from '../../schemas/jobs.ts';
import { parsePayload } from '../../schemas/validate.ts';
import type { StageContext } from './context.ts';
import { runExtract } from './extract.ts';
import { runReduceMoments } from './reduceMoments.ts';
import { runTypeScores } from './typeScores.ts';
import { RenderIndexJobV1, RenderJobV1, RenderTextJobV1 } from '../../schemas/render.ts';
import { runRender } from './render.ts';
import { runRenderIndex } from './renderIndex.ts';
import { runRenderText } from './renderText.ts';

export const WORK_STAGES = ['extract', 'reduce-moments', 'type-scores', 'render', 'render-index', 'render-text'] as const;
export type WorkStage = (typeof WORK_STAGES)[number];

export function isWorkStage(s: string): s is WorkStage {
  return (WORK_STAGES as readonly string[]).includes(s);
}

/** Validates `data` against the stage's schema (InputError naming the field), then runs the stage. */
export async function runStage(ctx: StageContext, stage: WorkStage, data: unknown): Promise<unknown> {
  const what = `${stage} job`;
  switch (stage) {
    case 'extract':
      return await runExtract(ctx, parsePayload(ExtractJobV1, data, what));
    case 'reduce-moments':
      return await runReduceMoments(ctx, parsePayload(ReduceMomentsJobV1, data, what));
    case 'type-scores':
      return await runTypeScores(ctx, parsePayload(TypeScoresJobV1, data, what));
    case 'render':
      return await runRender(ctx, parsePayload(RenderJobV1, data, what));
    case 'render-index':
      return await runRenderIndex(ctx, parsePayload(RenderIndexJobV1, data, what));
    case 'render-text':
      return await runRenderText(ctx, parsePayload(RenderTextJobV1, data, what));
  }
}

/** A stage job of a plan: its deterministic id and payload. */
export interface PlannedJob<T> {
  readonly id: string;
  readonly data: T;
}

export function extractJobs(plan: Plan, output: string): Array<PlannedJob<ExtractJob>> {
  const { aggregation, includeSpecialTokens, ignoreEmbeddings, layers, batchSize, dtype } = plan.extract;
  return plan.shards.map((s) => ({
    id: jobIds.extract(plan.runId, s.index),
    data: {
      version: 1,
      runId: plan.runId,
      output,
      corpusUrl: plan.corpus.url,
      shard: { index: s.index, firstSentence: s.firstSentence, nSentences: s.nSentences, nWords: s.nWords, byteStart: s.byteStart, byteEnd: s.byteEnd, hash: s.hash, cache: { ...s.cache } },
      model: { spec: plan.model.spec, id: plan.model.id },
      layers: [...plan.layers],
      extract: { aggregation, includeSpecialTokens, ignoreEmbeddings, ...(layers ? { layers: [...layers] } : {}), batchSize, dtype },
      groupWidth: plan.options.blockNeurons,
      topSentences: plan.options.topSentences,
    },
  }));
}

export function reduceMomentsJob(plan: Plan, output: string): PlannedJob<ReduceMomentsJob> {
  return { id: jobIds.reduceMoments(plan.runId), data: { version: 1, runId: plan.runId, output } };
}

/** Pass 2: one job per neuron block. */
export function typeScoresJobs(plan: Plan, output: string): Array<PlannedJob<TypeScoresJob>> {
  return plan.blocks.map((b) => ({
    id: jobIds.typeScores(plan.runId, b.index),
    data: { version: 1, runId: plan.runId, output, block: { index: b.index, start: b.start, end: b.end } },
  }));
}
