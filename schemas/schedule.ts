/**
 * Scheduled re-analysis: the template a BullMQ job scheduler stores (one per
 * schedule, on the `schedules` queue), the job that records a finished run,
 * and the `latest` pointer written to the run's store.
 */
import { z } from 'zod';
import { AnalysisJobV1 } from './analysis.ts';

/** Schedule names become key segments and the prefix of their run ids (`<name>-<tick>`). */
export const SCHEDULE_NAME = /^(?!\d+$)[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** What every tick of a schedule starts: an analysis, its run id filled in per tick. */
export const ScheduleTickV1 = z
  .object({
    version: z.literal(1),
    schedule: z.string().regex(SCHEDULE_NAME),
    analysis: AnalysisJobV1.omit({ runName: true }),
  })
  .strict();
export type ScheduleTick = z.output<typeof ScheduleTickV1>;

/** The parent of a tick's analysis: runs when the analysis completes, and moves `latest`. */
export const ScheduleLatestJobV1 = z
  .object({
    version: z.literal(1),
    schedule: z.string().regex(SCHEDULE_NAME),
    runId: z.string().min(1),
    /** Tick time (ms since the epoch): a late finisher never moves `latest` back. */
    tick: z.int().min(0),
    output: z.string().min(1),
  })
  .strict();
export type ScheduleLatestJob = z.output<typeof ScheduleLatestJobV1>;

/** `schedules/<name>/latest.json` in the schedule's output store. */
export const LatestPointerV1 = z
  .object({
    version: z.literal(1),
    schedule: z.string(),
    runId: z.string(),
    tick: z.int().min(0),
    /** ISO 8601 times of the tick and of the run's completion. */
    tickAt: z.string(),
    completedAt: z.string(),
    /** Key of the run's manifest (relative to the store). */
    manifest: z.string(),
  })
  .strict()
  .meta({ id: 'LatestPointerV1', title: 'neurox schedule latest pointer, version 1' });
export type LatestPointer = z.output<typeof LatestPointerV1>;
