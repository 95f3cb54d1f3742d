/**
 * The embedded runner: one process, no Redis, any store (a local folder by
 * default). It executes the same plan, payloads and stage functions as the
 * BullMQ runner (workers/stages/index.ts), one job at a time in plan order.
 */
import type { Stage } from '../../pipelines/plan.ts';
import { AnalysisJobV1, type AnalysisJobInput, type AnalysisResult } from '../../schemas/analysis.ts';
import { parsePayload } from '../../schemas/validate.ts';
import { finishAnalysis, markFailed, markPass1Done, planAnalysis } from '../stages/analyze.ts';
import { defaultContext, type StageContext } from '../stages/context.ts';
import { markRendering, renderIndexJob, renderJobs } from '../stages/render.ts';
import { extractJobs, reduceMomentsJob, runStage, typeScoresJobs, type WorkStage } from '../stages/index.ts';

/** One step of progress: `done` of `total` jobs of `stage`, and the words those jobs covered. */
export interface ProgressEvent {
  readonly runId: string;
  readonly stage: Stage;
  readonly done: number;
  readonly total: number;
  /** Corpus words covered by the finished jobs of this stage (extract and type-scores). */
  readonly words: number;
  readonly totalWords: number;
}

export interface EmbeddedOptions {
  readonly context?: Partial<StageContext>;
  readonly onProgress?: (e: ProgressEvent) => void;
  /** Stops between jobs (the run can be resumed: finished shards stay in the cache). */
  readonly signal?: AbortSignal;
  /** Hears each stage job start and end (benchmarks attribute time and memory with it). */
  readonly onJob?: (stage: Stage, phase: 'start' | 'end') => void;
}

export async function runEmbedded(input: AnalysisJobInput, options: EmbeddedOptions = {}): Promise<AnalysisResult> {
  const request = parsePayload(AnalysisJobV1, input, 'analysis request');
  const ctx = defaultContext({ ...options.context, signal: options.signal });
  const { plan, manifest } = await planAnalysis(ctx, request);
  const out = request.output;
  const report = (stage: Stage, done: number, total: number, words: number, totalWords: number): void =>
    options.onProgress?.({ runId: plan.runId, stage, done, total, words, totalWords });
  let stage: Stage = 'extract';
  const run = async (s: Extract<WorkStage, Stage>, data: unknown): Promise<void> => {
    stage = s;
    options.signal?.throwIfAborted();
    options.onJob?.(s, 'start');
    await runStage(ctx, s, data);
    options.onJob?.(s, 'end');
  };
  try {
    const nWords = plan.corpus.nWords;
    let words = 0;
    report('analyze', 1, 1, 0, 0);
    report('extract', 0, plan.shards.length, 0, nWords);
    for (const [i, job] of extractJobs(plan, out).entries()) {
      await run('extract', job.data);
      words += plan.shards[i]!.nWords;
      report('extract', i + 1, plan.shards.length, words, nWords);
    }
    await run('reduce-moments', reduceMomentsJob(plan, out).data);
    report('reduce-moments', 1, 1, 0, 0);
    const pass2 = await markPass1Done(ctx, manifest);

    words = 0;
    const pass2Words = nWords * plan.blocks.length;
    report('type-scores', 0, plan.blocks.length, 0, pass2Words);
    for (const [i, job] of typeScoresJobs(plan, out).entries()) {
      await run('type-scores', job.data);
      words += nWords;
      report('type-scores', i + 1, plan.blocks.length, words, pass2Words);
    }
    const rendering = await markRendering(ctx, pass2);
    const renders = await renderJobs(ctx, rendering);
    for (const [i, job] of renders.entries()) {
      await run('render', job.data);
      report('render', i + 1, renders.length, 0, 0);
    }
    await run('render-index', renderIndexJob(plan, out).data);
    report('render-index', 1, 1, 0, 0);
    return await finishAnalysis(ctx, rendering);
  } catch (err) {
    await markFailed(ctx, out, plan.runId, { stage, reason: err instanceof Error ? err.message : String(err) }).catch(() => {});
    throw err;
  }
}
