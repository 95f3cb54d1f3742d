/**
 * The `schedules` queue's processor:
 * - `tick` (from a job scheduler): adds a flow whose child is the analysis
 *   (public `analysis` queue, run id `<schedule>-<tick time>`) and whose
 *   parent is a `latest` job. Job ids derive from the run id, so a retried
 *   tick adds nothing twice.
 * - `latest` (runs once the analysis has completed; a failed analysis fails
 *   it, so `latest` never points at a failed run): writes
 *   `schedules/<name>/latest.json` in the run's store, unless a later tick's
 *   run already finished first.
 */
import { FlowProducer, type ConnectionOptions, type Job, type Processor } from 'bullmq';
import type { ObjectStore } from '../../pipelines/ports.ts';
import { ANALYSIS_QUEUE, ANALYZE_JOB, AnalysisResultV1 } from '../../schemas/analysis.ts';
import { LatestPointerV1, ScheduleLatestJobV1, ScheduleTickV1, type LatestPointer } from '../../schemas/schedule.ts';
import { parsePayload } from '../../schemas/validate.ts';
import { InputError, NotFoundError } from '../../pipelines/errors.ts';
import { openStore } from '../store/index.ts';
import { scheduledRunId } from './cron.ts';
import { LATEST_JOB, SCHEDULE_QUEUE, TICK_JOB } from './schedules.ts';

/** Where a schedule's pointer to its newest completed run lives, in the run's store. */
export function latestKey(schedule: string): string {
  return `schedules/${schedule}/latest.json`;
}

export interface ScheduleProcessorOptions {
  readonly connection: ConnectionOptions;
  readonly prefix?: string;
  /** Opens the store of a run's `output` URL (default: workers/store's openStore). */
  readonly store?: (url: string) => ObjectStore;
  /** Job id of a run's analysis job; must match what other producers use for the same run. */
  readonly analysisJobId?: (runId: string) => string;
}

export interface TickResult {
  readonly runId: string;
  readonly tick: number;
}

export interface LatestResult {
  readonly runId: string;
  /** False when a later tick's run had already moved the pointer. */
  readonly moved: boolean;
}

/** A BullMQ processor for the `schedules` queue; `close()` releases its flow producer. */
export function scheduleProcessor(opts: ScheduleProcessorOptions): Processor<unknown, TickResult | LatestResult> & { close(): Promise<void> } {
  let flow: FlowProducer | null = null;
  const open = opts.store ?? openStore;
  const analysisJobId = opts.analysisJobId ?? ((runId: string) => runId);
  const processor = async (job: Job): Promise<TickResult | LatestResult> => {
    if (job.name === TICK_JOB) {
      const t = parsePayload(ScheduleTickV1, job.data, `schedule tick ${job.id}`);
      // prevMillis is the tick's scheduled time: the same on every retry of this tick
      const tick = job.opts.prevMillis ?? job.timestamp;
      const runId = scheduledRunId(t.schedule, tick);
      flow ??= new FlowProducer({ connection: opts.connection, ...(opts.prefix ? { prefix: opts.prefix } : {}) });
      await flow.add({
        name: LATEST_JOB,
        queueName: SCHEDULE_QUEUE,
        data: { version: 1, schedule: t.schedule, runId, tick, output: t.analysis.output },
        opts: { jobId: `${runId}.latest`, attempts: 5, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: 100, removeOnFail: 500 },
        children: [
          {
            name: ANALYZE_JOB,
            queueName: ANALYSIS_QUEUE,
            data: { ...t.analysis, runName: runId },
            opts: { jobId: analysisJobId(runId), failParentOnFailure: true },
          },
        ],
      });
      return { runId, tick };
    }
    if (job.name === LATEST_JOB) {
      const l = parsePayload(ScheduleLatestJobV1, job.data, `schedule latest ${job.id}`);
      const values = Object.values(await job.getChildrenValues());
      const parsed = values.map((v) => AnalysisResultV1.safeParse(v)).find((r) => r.success);
      if (!parsed?.success) throw new InputError(`schedule '${l.schedule}': run ${l.runId} completed without an analysis result`);
      const store = open(l.output);
      const current = await readLatest(store, l.schedule).catch((err: unknown) => {
        if (err instanceof InputError) return null; // unreadable pointer: replace it
        throw err;
      });
      if (current && current.tick > l.tick) return { runId: l.runId, moved: false };
      const pointer: LatestPointer = {
        version: 1,
        schedule: l.schedule,
        runId: l.runId,
        tick: l.tick,
        tickAt: new Date(l.tick).toISOString(),
        completedAt: new Date().toISOString(),
        manifest: parsed.data.manifest,
      };
      await store.put(latestKey(l.schedule), `${JSON.stringify(pointer, null, 2)}\n`, { contentType: 'application/json' });
      return { runId: l.runId, moved: true };
    }
    throw new InputError(`schedules queue: unknown job name '${job.name}'`);
  };
  return Object.assign(processor, {
    async close(): Promise<void> {
      await flow?.close();
      flow = null;
    },
  });
}

/** The schedule's pointer, or null when no run of it has completed yet. */
export async function readLatest(store: ObjectStore, schedule: string): Promise<LatestPointer | null> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(latestKey(schedule));
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new InputError(`${latestKey(schedule)} is not JSON`);
  }
  return parsePayload(LatestPointerV1, json, latestKey(schedule));
}
