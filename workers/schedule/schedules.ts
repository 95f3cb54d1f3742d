/**
 * Scheduled re-analysis on BullMQ job schedulers. A schedule is one scheduler
 * on the `schedules` queue (its id is the schedule's name) whose template is
 * a `ScheduleTickV1`. Each tick starts one analysis with its own run id
 * (`<name>-<tick time>`, scheduleProcessor.ts) on the public `analysis` queue.
 * Because analyses share the content-addressed activation cache, a tick over
 * an unchanged or grown corpus extracts only the shards that are new.
 *
 * Removing a schedule removes its scheduler (and its pending next tick) only:
 * runs already started finish, and every past run stays in the store.
 */
import type { Queue } from 'bullmq';
import { InputError } from '../../pipelines/errors.ts';
import type { AnalysisJobInput } from '../../schemas/analysis.ts';
import { ScheduleTickV1, type ScheduleTick } from '../../schemas/schedule.ts';
import { parsePayload } from '../../schemas/validate.ts';
import { checkCron, checkScheduleName, checkTimeZone, type Repeat } from './cron.ts';

export const SCHEDULE_QUEUE = 'schedules';
/** A scheduler's job: start one run. */
export const TICK_JOB = 'tick';
/** The parent of a run started by a tick: moves the schedule's `latest` pointer. */
export const LATEST_JOB = 'latest';

export interface ScheduleSpec {
  readonly name: string;
  readonly repeat: Repeat;
  /** The analysis each tick runs; its run id is set per tick. */
  readonly analysis: Omit<AnalysisJobInput, 'runName' | 'version'>;
}

export interface ScheduleInfo {
  readonly name: string;
  readonly cron?: string;
  readonly tz?: string;
  readonly everyMs?: number;
  /** Next tick, null when none is pending. */
  readonly next: Date | null;
  /** Ticks so far. */
  readonly iterations: number;
  readonly tick: ScheduleTick | null;
}

/** Creates or replaces the schedule `spec.name` (idempotent, like BullMQ's upsert). */
export async function addSchedule(queue: Queue, spec: ScheduleSpec): Promise<ScheduleInfo> {
  const name = checkScheduleName(spec.name);
  if ('runName' in spec.analysis && (spec.analysis as { runName?: unknown }).runName !== undefined) {
    throw new InputError(`schedule '${name}': runName cannot be set; each tick names its run '${name}-<tick time>'`);
  }
  const tick = parsePayload(ScheduleTickV1, { version: 1, schedule: name, analysis: { version: 1, ...spec.analysis } }, `schedule '${name}'`);
  let repeat: { pattern: string; tz?: string } | { every: number };
  if ('cron' in spec.repeat) {
    const tz = spec.repeat.tz === undefined ? undefined : checkTimeZone(spec.repeat.tz);
    repeat = { pattern: checkCron(spec.repeat.cron, tz), ...(tz ? { tz } : {}) };
  } else {
    const ms = spec.repeat.everyMs;
    if (!Number.isInteger(ms) || ms < 1000) throw new InputError(`schedule '${name}': interval ${ms} ms is shorter than 1s`);
    repeat = { every: ms };
  }
  await queue.upsertJobScheduler(name, repeat, {
    name: TICK_JOB,
    data: tick,
    opts: { attempts: 5, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: 100, removeOnFail: 500 },
  });
  const info = await getSchedule(queue, name);
  if (!info) throw new Error(`schedule '${name}' was not stored`);
  return info;
}

export async function getSchedule(queue: Queue, name: string): Promise<ScheduleInfo | null> {
  const s = await queue.getJobScheduler(name);
  return s ? toInfo(s) : null;
}

/** Every schedule on the queue, by name. */
export async function listSchedules(queue: Queue): Promise<ScheduleInfo[]> {
  const all = await queue.getJobSchedulers(0, -1, true);
  return all.map(toInfo).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Stops future ticks of `name`; runs already made (and their results) stay. */
export async function removeSchedule(queue: Queue, name: string): Promise<void> {
  checkScheduleName(name);
  const removed = await queue.removeJobScheduler(name);
  if (!removed) {
    const names = (await listSchedules(queue)).map((s) => s.name);
    throw new InputError(`no schedule named '${name}' (schedules: ${names.length ? names.join(', ') : 'none'})`);
  }
}

type SchedulerJson = NonNullable<Awaited<ReturnType<Queue['getJobScheduler']>>>;

function toInfo(s: SchedulerJson): ScheduleInfo {
  const parsed = ScheduleTickV1.safeParse(s.template?.data);
  return {
    name: s.key,
    ...(s.pattern ? { cron: s.pattern } : {}),
    ...(s.tz ? { tz: s.tz } : {}),
    ...(s.every ? { everyMs: s.every } : {}),
    next: typeof s.next === 'number' && Number.isFinite(s.next) ? new Date(s.next) : null,
    iterations: s.iterationCount ?? 0,
    tick: parsed.success ? parsed.data : null,
  };
}
