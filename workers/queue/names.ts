/**
 * Queue names and the job options every stage job gets. Queue names are
 * fixed (the key prefix namespaces deployments); the `analysis` queue is the
 * public one.
 */
import type { JobsOptions } from 'bullmq';
import { ANALYSIS_QUEUE } from '../../schemas/analysis.ts';
import type { WorkStage } from '../stages/index.ts';
import { RENDER_TEXT_QUEUE } from '../../schemas/render.ts';

export const STAGE_QUEUES: Readonly<Record<WorkStage, string>> = {
  extract: 'extract',
  'reduce-moments': 'reduce-moments',
  'type-scores': 'type-scores',
  render: 'render',
  'render-index': 'render-index',
  /** Public: producers add ad-hoc render jobs here (schemas/render.ts). */
  'render-text': RENDER_TEXT_QUEUE,
};

export { ANALYSIS_QUEUE };

const DAY = 24 * 3600;

/**
 * Transient failures (S3, Redis, a killed process's leftovers) are retried
 * with exponential backoff: 1, 2, 4, 8 s. Bad input is failed at once (the
 * processors raise UnrecoverableError). A child's final failure fails its
 * parent, and so the run, with the child's reason recorded.
 */
export const STAGE_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  failParentOnFailure: true,
  removeOnComplete: { age: DAY },
  removeOnFail: { age: 7 * DAY },
};

/** What `neurox submit` gives the root job (other producers choose their own). */
export const ANALYSIS_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 30 * DAY },
  removeOnFail: { age: 30 * DAY },
};
