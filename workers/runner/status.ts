/**
 * A run's state for `neurox status`: per-stage progress counted from the
 * objects the stages write (so it works for embedded runs too, without
 * Redis), the run's root job and its failed stage jobs with their reasons
 * (from BullMQ, when reachable), and where the results are.
 */
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { NotFoundError } from '../../pipelines/errors.ts';
import { runKeys } from '../../pipelines/keys.ts';
import { renderKeys, renderPaths } from '../../pipelines/renderKeys.ts';
import type { ObjectStore } from '../../pipelines/ports.ts';
import { stageTotals, STAGES, type Stage } from '../../pipelines/plan.ts';
import { AnalysisResultV1, type AnalysisResult } from '../../schemas/analysis.ts';
import type { Manifest } from '../../schemas/manifest.ts';
import { errorsThroughCalls, producerConnection, redisError, workerConnection, type QueueConfig } from '../queue/connection.ts';
import { ANALYSIS_QUEUE, STAGE_QUEUES } from '../queue/names.ts';
import { storeFor } from '../stages/context.ts';
import { findManifest } from '../stages/manifest.ts';
import { WORK_STAGES } from '../stages/index.ts';

export interface StageProgress {
  readonly stage: Stage;
  readonly done: number;
  readonly total: number;
}

export interface JobFailure {
  readonly stage: string;
  readonly job: string;
  readonly reason: string;
  readonly attemptsMade: number;
  /** True when it will be retried (its backoff is pending). */
  readonly retrying: boolean;
}

export interface RunStatusReport {
  readonly runId: string;
  /** The root job's state (`completed`, `active`, `waiting-children`, `failed`, ...), else the manifest's status. */
  readonly state: string;
  readonly output: string | null;
  readonly manifest: Manifest | null;
  readonly stages: readonly StageProgress[];
  readonly failures: readonly JobFailure[];
  /** The root job's failure reason, when it failed. */
  readonly reason: string | null;
  readonly result: AnalysisResult | null;
  /** Where the outputs are, as full URLs. */
  readonly outputs: { readonly manifest: string; readonly neuronStats: string; readonly topWords: string } | null;
}

async function countUnder(store: ObjectStore, prefix: string): Promise<number> {
  let n = 0;
  for await (const _ of store.list(prefix)) n++;
  return n;
}

/**
 * Per-stage done counts from the run's objects; stages that leave no
 * countable objects report their manifest status (done = all).
 */
export async function storeProgress(store: ObjectStore, manifest: Manifest): Promise<StageProgress[]> {
  const keys = runKeys(manifest.runId);
  const totals = stageTotals(manifest.plan);
  const counted: Partial<Record<Stage, number>> = {
    analyze: manifest.status === 'completed' ? 1 : 0,
    extract: await countUnder(store, keys.extractedPrefix),
    'reduce-moments': (await store.head(keys.pass1)) ? 1 : 0,
    'type-scores': await countUnder(store, keys.topWordsBlocksPrefix),
    render: await countUnder(store, renderKeys(manifest.runId).renderedPrefix),
    'render-index': (await store.head(renderKeys(manifest.runId).of(renderPaths.html))) ? 1 : 0,
  };
  return STAGES.map((stage) => {
    const total = totals[stage];
    const status = manifest.stages.find((s) => s.name === stage)?.status;
    const done = counted[stage] ?? (status === 'done' ? total : 0);
    return { stage, done: Math.min(done, total), total };
  });
}

export interface StatusOptions {
  /** The run's store URL, when the queue does not know the run (embedded runs, expired jobs). */
  readonly output?: string | undefined;
  /** Queue to ask; `null` for store-only status. */
  readonly queue?: QueueConfig | null;
}

export async function runStatus(runId: string, opts: StatusOptions): Promise<RunStatusReport> {
  let root: Job | undefined;
  let rootState: string | null = null;
  const failures: JobFailure[] = [];
  let connection: Redis | null = null;
  const queues: Queue[] = [];
  try {
    if (opts.queue) {
      connection = producerConnection(opts.queue);
      const q = (name: string): Queue => {
        const queue = errorsThroughCalls(new Queue(name, { connection: connection!, prefix: opts.queue!.prefix }));
        queues.push(queue);
        return queue;
      };
      root = await q(ANALYSIS_QUEUE).getJob(runId);
      if (root) rootState = await root.getState();
      for (const stage of WORK_STAGES) {
        const jobs = await q(STAGE_QUEUES[stage]).getJobs(['failed', 'delayed'], 0, 10_000);
        for (const j of jobs) {
          if (!j.id?.startsWith(`${runId}.`) || !j.failedReason) continue;
          failures.push({ stage, job: j.id, reason: j.failedReason, attemptsMade: j.attemptsMade, retrying: (await j.getState()) !== 'failed' });
        }
      }
    }
  } catch (err) {
    throw opts.queue ? redisError(err, opts.queue) : err;
  } finally {
    for (const q of queues) await q.close();
    await connection?.quit().catch(() => connection?.disconnect());
  }
  const output = opts.output ?? ((root?.data as { output?: unknown } | undefined)?.output as string | undefined) ?? null;
  const store = output ? storeFor(output) : null;
  const manifest = store ? await findManifest(store, runId) : null;
  // A missing manifest is an unknown run, unless the output itself is missing:
  // listing under the run names a bucket that does not exist (a HEAD's 404 cannot).
  if (store && !manifest) for await (const _ of store.list(runKeys(runId).prefix)) break;
  const stages = store && manifest ? await storeProgress(store, manifest) : [];
  const parsed = root?.returnvalue ? AnalysisResultV1.safeParse(root.returnvalue) : null;
  const keys = runKeys(runId);
  return {
    runId,
    state: rootState ?? manifest?.status ?? 'unknown',
    output,
    manifest,
    stages,
    failures,
    reason: root?.failedReason ?? manifest?.error?.reason ?? null,
    result: parsed?.success ? parsed.data : null,
    outputs: store ? { manifest: store.location + keys.manifest, neuronStats: store.location + keys.neuronStats, topWords: store.location + keys.topWords } : null,
  };
}

/** Waits for a queued run's root job to finish; its result, or its failure as an error. */
export async function waitForRun(config: QueueConfig, runId: string, timeoutMs?: number): Promise<AnalysisResult> {
  const { QueueEvents } = await import('bullmq');
  const connection = producerConnection(config);
  // QueueEvents blocks on Redis: BullMQ requires a connection that retries forever
  const events = errorsThroughCalls(new QueueEvents(ANALYSIS_QUEUE, { connection: workerConnection(config), prefix: config.prefix }));
  const queue = errorsThroughCalls(new Queue(ANALYSIS_QUEUE, { connection, prefix: config.prefix }));
  try {
    await events.waitUntilReady();
    const job = await queue.getJob(runId);
    if (!job) throw new NotFoundError(runId, `run ${runId} is not on the queue`);
    return AnalysisResultV1.parse(await job.waitUntilFinished(events, timeoutMs));
  } catch (err) {
    throw redisError(err, config);
  } finally {
    await queue.close();
    await events.close();
    await connection.quit().catch(() => connection.disconnect());
  }
}
