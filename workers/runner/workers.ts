/**
 * BullMQ workers for a process: the `analysis` queue (the runs' root jobs,
 * in-process: they plan and wait) and the stage queues (sandboxed child
 * processes: the CPU-heavy part). Stalled jobs (a killed worker) come back
 * within seconds: locks of `lockDurationMs`, checked every
 * `stalledIntervalMs`; lock renewals never starve, since the work runs in
 * children.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { InputError } from '../../pipelines/errors.ts';
import { ANALYSIS_QUEUE, STAGE_QUEUES } from '../queue/names.ts';
import { workerConnection, type QueueConfig } from '../queue/connection.ts';
import { markFailed } from '../stages/analyze.ts';
import { defaultContext } from '../stages/context.ts';
import { closeModels } from '../stages/models.ts';
import { isWorkStage, WORK_STAGES, type WorkStage } from '../stages/index.ts';
import { analysisProcessor } from './orchestrator.ts';
import { scheduleProcessor } from '../schedule/processor.ts';
import { SCHEDULE_QUEUE } from '../schedule/schedules.ts';
import { entryPoint, type Bundle, type EntryPoint } from './compiled.ts';

export const WORKER_ROLES = ['analysis', 'schedules', ...WORK_STAGES] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

export interface WorkerOptions {
  readonly config: QueueConfig;
  /** Queues to serve (default: all). */
  readonly roles?: readonly WorkerRole[];
  /** Concurrent jobs per CPU stage (extract, type-scores); default: the core count. */
  readonly concurrency?: number;
  readonly lockDurationMs?: number;
  readonly stalledIntervalMs?: number;
  readonly log?: (line: string) => void;
  /** What the stage queues' child processes run (`sandboxEntry`); default: processor.ts through the TypeScript loader. */
  readonly sandbox?: EntryPoint;
}

export interface RunningWorkers {
  readonly workers: readonly Worker[];
  /** Waits for active jobs to finish, then closes connections and children. */
  close(): Promise<void>;
}

export function parseRoles(list: string): WorkerRole[] {
  const roles = list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const r of roles) {
    if (!(WORKER_ROLES as readonly string[]).includes(r)) throw new InputError(`--stages: unknown stage '${r}' (use ${WORKER_ROLES.join(', ')})`);
  }
  if (roles.length === 0) throw new InputError('--stages: no stage given');
  return roles as WorkerRole[];
}

/** The sandboxed processor's bundle (`npm run bundle` builds it ahead of a first run). */
export const SANDBOX_BUNDLE: Bundle = { source: fileURLToPath(new URL('./processor.ts', import.meta.url)), name: 'sandbox' };
const SANDBOX_LOADER = new URL('./sandbox.mjs', import.meta.url);

/** The sandboxed processor's entry (compiled.ts `entryPoint`): the bundle of processor.ts, or sandbox.mjs through tsx. */
export function sandboxEntry(log: (message: string) => void = () => {}): Promise<EntryPoint> {
  return entryPoint(SANDBOX_BUNDLE, SANDBOX_LOADER, log);
}

export function startWorkers(opts: WorkerOptions): RunningWorkers {
  const roles = opts.roles ?? WORKER_ROLES;
  const concurrency = opts.concurrency ?? availableParallelism();
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InputError(`concurrency ${concurrency} must be a positive integer`);
  const log = opts.log ?? (() => {});
  const sandbox = opts.sandbox ?? { url: SANDBOX_LOADER, execArgv: process.execArgv };
  const lockDuration = opts.lockDurationMs ?? 10_000;
  const stalledInterval = opts.stalledIntervalMs ?? 5_000;
  const { prefix } = opts.config;
  const connections: Redis[] = [];
  const connection = (): Redis => {
    const c = workerConnection(opts.config);
    connections.push(c);
    return c;
  };
  const ctx = defaultContext({ log });
  const workers: Worker[] = [];
  const closers: Array<() => Promise<void>> = [];

  // Job objects of any queue, to follow a failure down to the child that caused it.
  const queues = new Map<string, Queue>();
  const queueOf = (name: string): Queue => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: connection(), prefix });
      queues.set(name, q);
    }
    return q;
  };

  /**
   * A parent failed by its child (failParentOnFailure) only says "child ...
   * failed": walk down the failed children to the job that failed first, so
   * the manifest records the cause (the corrupted key, the missing model).
   */
  const rootCause = async (job: Job, stage: string, reason: string): Promise<{ stage: string; job: string; reason: string }> => {
    let cause = { stage, job: job.id ?? '', reason };
    let current: Job | undefined = job;
    for (let depth = 0; current && depth < 4; depth++) {
      const deps: { failed?: string[] } = await current.getDependencies({ failed: { count: 10 } }).catch(() => ({}));
      const key: string | undefined = [...(deps.failed ?? [])].sort()[0];
      if (!key) break;
      const [, queue, ...id]: string[] = key.split(':');
      if (!queue || id.length === 0) break;
      current = await Job.fromId(queueOf(queue), id.join(':')).catch(() => undefined);
      if (current?.failedReason) cause = { stage: current.name, job: current.id ?? '', reason: current.failedReason };
    }
    return cause;
  };

  const recordFailure = async (stage: string, job: Job, err: Error, runId: unknown, output: unknown): Promise<void> => {
    const final = (await job.getState().catch(() => 'failed')) === 'failed';
    log(`${stage} ${job.id}: ${final ? 'failed' : 'will retry'}: ${err.message}`);
    if (final && typeof runId === 'string' && typeof output === 'string') {
      await markFailed(ctx, output, runId, await rootCause(job, stage, err.message)).catch(() => {});
    }
  };

  const onFailed = (stage: string) => async (job: Job | undefined, err: Error): Promise<void> => {
    if (!job) return;
    const data = job.data as { runId?: unknown; output?: unknown };
    await recordFailure(stage, job, err, data.runId, data.output);
  };

  for (const role of roles) {
    const common = { connection: connection(), prefix, lockDuration, stalledInterval, maxStalledCount: 2, autorun: true } as const;
    let w: Worker;
    if (role === 'analysis') {
      const processor = analysisProcessor({ connection: connection(), prefix, context: ctx });
      closers.push(() => processor.close());
      w = new Worker(ANALYSIS_QUEUE, processor, { ...common, concurrency: Math.max(4, concurrency) });
      w.on('failed', (job, err) => {
        if (!job) return;
        // the run id is known once planned (the root job's progress carries it)
        const runId = (job.progress as { runId?: unknown } | undefined)?.runId;
        void recordFailure('analyze', job, err, runId, (job.data as { output?: unknown }).output);
      });
    } else if (role === 'schedules') {
      // ticks only add flows: in-process, one at a time
      const processor = scheduleProcessor({ connection: connection(), prefix, store: ctx.store });
      closers.push(() => processor.close());
      w = new Worker(SCHEDULE_QUEUE, processor, { ...common, concurrency: 1 });
    } else {
      if (!isWorkStage(role)) continue;
      // reducers are one per run or per block: a second slot helps when runs overlap
      const n = role === 'extract' || role === 'type-scores' || role === 'render' ? concurrency : Math.min(2, concurrency);
      w = new Worker(STAGE_QUEUES[role as WorkStage], fileURLToPath(sandbox.url), {
        ...common,
        concurrency: n,
        useWorkerThreads: false,
        // the bundle's children start without tsx; the loader's keep BullMQ's default (this process's options)
        ...(sandbox.url.href !== SANDBOX_LOADER.href ? { workerForkOptions: { execArgv: [...sandbox.execArgv] } } : {}),
      });
      w.on('failed', (job, err) => void onFailed(role)(job, err));
    }
    w.on('error', (err) => log(`${role} worker: ${err.message}`));
    workers.push(w);
  }

  let closing: Promise<void> | null = null;
  return {
    workers,
    close: () =>
      (closing ??= (async () => {
        await Promise.all(workers.map((w) => w.close()));
        for (const c of closers) await c();
        for (const q of queues.values()) await q.close();
        await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
        await closeModels();
      })()),
  };
}
