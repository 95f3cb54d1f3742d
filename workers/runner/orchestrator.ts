/**
 * The processor of the public `analysis` queue: one job per run, which
 * drives the run as a sequence of steps (BullMQ's "process step jobs"
 * pattern), each one adding a flow of children and waiting for them:
 *
 *   1. plan, write the manifest; add reduce-moments <- extract x shards
 *   2. record pass 1; add type-scores x blocks
 *   3. select the neurons to render; add render-index <- render x blocks
 *   4. write top_words.parquet, top_sentences.parquet and histograms.parquet, complete the manifest,
 *      return the result
 *
 * Which step comes next is read from the children that have finished, so a
 * retried or re-processed root job resumes where the run is, and re-adding a
 * flow after a crash is a no-op (job ids are fixed by the plan).
 */
import { FlowProducer, WaitingChildrenError, type ConnectionOptions, type FlowJob, type Job } from 'bullmq';
import { AnalysisJobV1, type AnalysisResult } from '../../schemas/analysis.ts';
import { ReduceMomentsResultV1, TypeScoresResultV1 } from '../../schemas/jobs.ts';
import { parsePayload } from '../../schemas/validate.ts';
import { finishAnalysis, markPass1Done, planAnalysis } from '../stages/analyze.ts';
import type { StageContext } from '../stages/context.ts';
import { extractJobs, reduceMomentsJob, typeScoresJobs, type PlannedJob } from '../stages/index.ts';
import { markRendering, renderIndexJob, renderJobs } from '../stages/render.ts';
import { RenderIndexResultV1, type RenderJob } from '../../schemas/render.ts';
import { readManifest } from '../stages/manifest.ts';
import { STAGE_JOB_OPTIONS, STAGE_QUEUES } from '../queue/names.ts';
import type { Plan } from '../../pipelines/plan.ts';
import { asBullError } from './errors.ts';

export interface OrchestratorOptions {
  readonly connection: ConnectionOptions;
  readonly prefix: string;
  readonly context: StageContext;
}

export function analysisProcessor(opts: OrchestratorOptions): ((job: Job, token?: string) => Promise<AnalysisResult>) & { close(): Promise<void> } {
  const flow = new FlowProducer({ connection: opts.connection, prefix: opts.prefix });
  const ctx = opts.context;

  const pass1Flow = (plan: Plan, output: string, parent: { id: string; queue: string }): FlowJob => {
    const reduce = reduceMomentsJob(plan, output);
    return {
      name: 'reduce-moments',
      queueName: STAGE_QUEUES['reduce-moments'],
      data: reduce.data,
      opts: { ...STAGE_JOB_OPTIONS, jobId: reduce.id, parent },
      children: extractJobs(plan, output).map((j) => ({ name: 'extract', queueName: STAGE_QUEUES.extract, data: j.data, opts: { ...STAGE_JOB_OPTIONS, jobId: j.id } })),
    };
  };

  const pass2Jobs = (plan: Plan, output: string, parent: { id: string; queue: string }): FlowJob[] =>
    typeScoresJobs(plan, output).map((j) => ({ name: 'type-scores', queueName: STAGE_QUEUES['type-scores'], data: j.data, opts: { ...STAGE_JOB_OPTIONS, jobId: j.id, parent } }));

  const renderFlow = (plan: Plan, output: string, renders: ReadonlyArray<PlannedJob<RenderJob>>, parent: { id: string; queue: string }): FlowJob => {
    const index = renderIndexJob(plan, output);
    return {
      name: 'render-index',
      queueName: STAGE_QUEUES['render-index'],
      data: index.data,
      opts: { ...STAGE_JOB_OPTIONS, jobId: index.id, parent },
      children: renders.map((j) => ({ name: 'render', queueName: STAGE_QUEUES.render, data: j.data, opts: { ...STAGE_JOB_OPTIONS, jobId: j.id } })),
    };
  };

  const processor = async (job: Job, token?: string): Promise<AnalysisResult> => {
    try {
      const request = parsePayload(AnalysisJobV1, job.data, `analysis job ${job.id}`);
      const self = { id: job.id!, queue: job.queueQualifiedName };
      for (;;) {
        const pending = (await job.getDependenciesCount({ unprocessed: true })).unprocessed ?? 0;
        if (pending === 0) {
          const values = Object.values(await job.getChildrenValues());
          const pass1 = values.map((v) => ReduceMomentsResultV1.safeParse(v)).find((r) => r.success)?.data;
          const pass2 = values.map((v) => TypeScoresResultV1.safeParse(v)).filter((r) => r.success);
          const rendered = values.some((v) => RenderIndexResultV1.safeParse(v).success);
          if (!pass1) {
            const { plan } = await planAnalysis(ctx, request);
            await job.updateProgress({ runId: plan.runId, step: 'pass 1' });
            await flow.add(pass1Flow(plan, request.output, self));
          } else if (pass2.length === 0) {
            const manifest = await markPass1Done(ctx, await readManifest(ctx.store(request.output), pass1.runId));
            await job.updateProgress({ runId: pass1.runId, step: 'pass 2' });
            await flow.addBulk(pass2Jobs(manifest.plan, request.output, self));
          } else if (!rendered) {
            const manifest = await markRendering(ctx, await readManifest(ctx.store(request.output), pass1.runId));
            await job.updateProgress({ runId: pass1.runId, step: 'render' });
            await flow.add(renderFlow(manifest.plan, request.output, await renderJobs(ctx, manifest), self));
          } else {
            const manifest = await readManifest(ctx.store(request.output), pass1.runId);
            const result = await finishAnalysis(ctx, manifest);
            await job.updateProgress({ runId: result.runId, step: 'done' });
            return result;
          }
        }
        if (await job.moveToWaitingChildren(token ?? '')) throw new WaitingChildrenError();
      }
    } catch (err) {
      if (err instanceof WaitingChildrenError) throw err;
      throw asBullError(err);
    }
  };
  return Object.assign(processor, { close: () => flow.close() });
}
