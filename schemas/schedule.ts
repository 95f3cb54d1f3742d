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
    schedule: z.string().regex(SCHEDULE_NAME).describe('The schedule name (also the job scheduler id); each tick names its run <schedule>-<tick time>.'),
    analysis: AnalysisJobV1.omit({ runName: true }).describe('The analysis every tick starts (no runName: the tick names the run).'),
  })
  .strict()
  .meta({ id: 'ScheduleTickV1', title: 'neurox schedule tick (a job scheduler template on the schedules queue), version 1' });
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
    tickAt: z.string().describe('ISO 8601 time of the tick.'),
    completedAt: z.string().describe("ISO 8601 time of the run's completion."),
    manifest: z.string().describe("Key of the run's manifest (relative to the store)."),
  })
  .strict()
  .meta({ id: 'LatestPointerV1', title: 'neurox schedule latest pointer, version 1' });
export type LatestPointer = z.output<typeof LatestPointerV1>;
