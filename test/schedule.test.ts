import { randomBytes } from 'node:crypto';
import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { InputError } from '../pipelines/errors.ts';
import { ANALYSIS_QUEUE, type AnalysisJob, type AnalysisResult } from '../schemas/analysis.ts';
import { checkCron, parseEvery, scheduledRunId } from '../workers/schedule/cron.ts';
import { latestKey, readLatest, scheduleProcessor } from '../workers/schedule/processor.ts';
import { addSchedule, listSchedules, removeSchedule, SCHEDULE_QUEUE } from '../workers/schedule/schedules.ts';
import { MemoryStore } from '../workers/store/memory.ts';

function connection(): ConnectionOptions {
  const url = new URL(inject('redisUrl'));
  return { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
}

const analysis = { corpus: 's3://bucket/corpus.txt', model: 'use-lite', output: 'memory://sched-test' };

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('cron and interval checks', () => {
  it('refuses an invalid cron expression with the reason', () => {
    expect(() => checkCron('61 * * * *')).toThrow('cron "61 * * * *" is invalid: Constraint error, got value 61 expected range 0-59');
    expect(() => checkCron('0 25 * * *')).toThrow('expected range 0-23');
    expect(() => checkCron('* * *')).toThrow('3 fields; expected 5');
    expect(() => checkCron('every day')).toThrow('2 fields');
    expect(() => checkCron('0 0 30 2 *')).toThrow('invalid');
    expect(() => checkCron('')).toThrow('it is empty');
    expect(() => checkCron('@sometimes')).toThrow('unknown alias @sometimes');
    expect(() => checkCron('0 3 * * *', 'Mars/Olympus')).toThrow('time zone "Mars/Olympus" is not known');
    expect(checkCron(' 0 3 * * * ')).toBe('0 3 * * *');
    expect(checkCron('@daily')).toBe('@daily');
  });

  it('reads --every durations and refuses ones under a second', () => {
    expect(parseEvery('90s')).toBe(90_000);
    expect(parseEvery('1.5h')).toBe(5_400_000);
    expect(parseEvery('2000')).toBe(2000);
    expect(() => parseEvery('500ms')).toThrow('the shortest interval is 1s');
    expect(() => parseEvery('soon')).toThrow('is not a duration');
  });

  it('names each tick\'s run after the schedule and the tick time, sortably', () => {
    expect(scheduledRunId('nightly', Date.UTC(2026, 10, 29, 3, 0, 0))).toBe('nightly-20261129T030000Z');
  });
});

describe('schedules on BullMQ', () => {
  let prefix: string;
  let queue: Queue;
  const closers: Array<() => Promise<unknown>> = [];

  beforeEach(() => {
    prefix = `sched-${randomBytes(4).toString('hex')}`;
    queue = new Queue(SCHEDULE_QUEUE, { connection: connection(), prefix });
    closers.push(() => queue.close());
  });
  afterEach(async () => {
    while (closers.length) await closers.pop()!();
  });

  it('refuses an invalid cron before anything reaches Redis', async () => {
    await expect(addSchedule(queue, { name: 'nightly', repeat: { cron: '0 3 * * * * *' }, analysis })).rejects.toThrow(
      'cron "0 3 * * * * *" is invalid: 7 fields',
    );
    await expect(addSchedule(queue, { name: 'nightly', repeat: { cron: '0 3 * * *' }, analysis: { ...analysis, corpus: '' } })).rejects.toThrow(
      "schedule 'nightly': field analysis.corpus",
    );
    await expect(addSchedule(queue, { name: '1234', repeat: { cron: '0 3 * * *' }, analysis })).rejects.toThrow("schedule name '1234' is invalid");
    expect(await listSchedules(queue)).toEqual([]);
  });

  it('lists schedules with their timing and analysis, and replaces one added again under its name', async () => {
    await addSchedule(queue, { name: 'nightly', repeat: { cron: '0 3 * * *', tz: 'Europe/Paris' }, analysis });
    await addSchedule(queue, { name: 'hourly', repeat: { everyMs: 3_600_000 }, analysis });
    await addSchedule(queue, { name: 'nightly', repeat: { cron: '30 2 * * *', tz: 'UTC' }, analysis: { ...analysis, model: '/models/bert' } });
    const list = await listSchedules(queue);
    expect(list.map((s) => [s.name, s.cron, s.tz, s.everyMs, s.tick?.analysis.model])).toEqual([
      ['hourly', undefined, undefined, 3_600_000, 'use-lite'],
      ['nightly', '30 2 * * *', 'UTC', undefined, '/models/bert'],
    ]);
    const next = list[1]!.next!;
    expect([next.getUTCHours(), next.getUTCMinutes()]).toEqual([2, 30]);
    await removeSchedule(queue, 'hourly');
    await expect(removeSchedule(queue, 'hourly')).rejects.toThrow("no schedule named 'hourly' (schedules: nightly)");
  });

  it('starts a run with its own id per tick, moves latest to the newest, and stops when removed, keeping past runs', async () => {
    const store = MemoryStore.named(`sched-${prefix}`);
    const runs: string[] = [];
    // a stand-in for the analysis workers: records the run and writes its manifest
    const analysisWorker = new Worker(
      ANALYSIS_QUEUE,
      async (job: Job<AnalysisJob>): Promise<AnalysisResult> => {
        const runId = job.data.runName!;
        runs.push(runId);
        await store.put(`runs/${runId}/manifest.json`, '{}');
        return {
          version: 1, runId, output: job.data.output, manifest: `runs/${runId}/manifest.json`, neuronStats: '', topWords: '', topSentences: '', histograms: '', index: '',
          nSentences: 1, nWords: 1, nTokens: 1, nNeurons: 1, nShards: 1, cachedShards: 0, truncatedSentences: 0, topWordRows: 0,
        };
      },
      { connection: connection(), prefix },
    );
    const processor = scheduleProcessor({ connection: connection(), prefix, store: () => store });
    const scheduleWorker = new Worker(SCHEDULE_QUEUE, processor, { connection: connection(), prefix });
    closers.push(() => analysisWorker.close(), () => scheduleWorker.close(), () => processor.close());

    await addSchedule(queue, { name: 'often', repeat: { everyMs: 1000 }, analysis: { ...analysis, output: 'memory://x' } });
    const latest = await until('two runs to complete and move latest', async () => {
      const l = await readLatest(store, 'often');
      return l && runs.length >= 2 && l.runId === runs.at(-1) ? l : undefined;
    });
    expect(new Set(runs).size).toBe(runs.length);
    for (const r of runs) expect(r).toMatch(/^often-\d{8}T\d{6}Z$/);
    expect(latest.manifest).toBe(`runs/${latest.runId}/manifest.json`);
    expect(latest.tickAt).toBe(new Date(latest.tick).toISOString());

    await removeSchedule(queue, 'often');
    expect(await listSchedules(queue)).toEqual([]);
    // no tick is left pending: nothing can start another run
    const pending = [...(await queue.getDelayed()), ...(await queue.getWaiting())].filter((j) => j.name === 'tick');
    expect(pending).toEqual([]);
    // let any run already started finish, then check that past runs and the pointer stay
    const analysisQueue = new Queue(ANALYSIS_QUEUE, { connection: connection(), prefix });
    closers.push(() => analysisQueue.close());
    const idle = async (q: Queue): Promise<boolean> => Object.values(await q.getJobCounts('active', 'waiting', 'delayed', 'waiting-children')).every((n) => n === 0);
    await until('started runs to finish', async () => (await idle(analysisQueue)) && (await idle(queue)));
    const finished = runs.length;
    // two more intervals: no tick comes
    await new Promise((r) => setTimeout(r, 2500));
    expect(runs.length).toBe(finished);
    for (const r of runs) expect(await store.head(`runs/${r}/manifest.json`)).not.toBeNull();
    expect((await readLatest(store, 'often'))!.runId).toBe(runs.at(-1));
  });

  it('leaves latest alone when a scheduled run fails', async () => {
    const store = new MemoryStore();
    const analysisWorker = new Worker(ANALYSIS_QUEUE, async () => { throw new UnrecoverableError('corpus is empty'); }, { connection: connection(), prefix });
    const processor = scheduleProcessor({ connection: connection(), prefix, store: () => store });
    const scheduleWorker = new Worker(SCHEDULE_QUEUE, processor, { connection: connection(), prefix });
    closers.push(() => analysisWorker.close(), () => scheduleWorker.close(), () => processor.close());
    await addSchedule(queue, { name: 'broken', repeat: { everyMs: 1000 }, analysis });
    const failed = await until('the latest job of a failed run to fail', async () => (await queue.getFailed()).find((j) => j.name === 'latest'));
    await removeSchedule(queue, 'broken');
    expect(failed.id).toMatch(/^broken-\d{8}T\d{6}Z\.latest$/);
    expect(await readLatest(store, 'broken')).toBeNull();
  });

  it('keeps latest on the newest tick when an older run finishes last', async () => {
    const store = new MemoryStore();
    const processor = scheduleProcessor({ connection: connection(), prefix, store: () => store });
    closers.push(() => processor.close());
    const result = (runId: string): AnalysisResult => ({
      version: 1, runId, output: 'memory://x', manifest: `runs/${runId}/manifest.json`, neuronStats: '', topWords: '', topSentences: '', histograms: '', index: '',
      nSentences: 1, nWords: 1, nTokens: 1, nNeurons: 1, nShards: 1, cachedShards: 0, truncatedSentences: 0, topWordRows: 0,
    });
    const latestJob = (runId: string, tick: number, child: unknown): Job =>
      ({ name: 'latest', id: `${runId}.latest`, data: { version: 1, schedule: 's', runId, tick, output: 'memory://x' }, getChildrenValues: async () => ({ c: child }) }) as unknown as Job;
    await processor(latestJob('s-2', 2000, result('s-2')));
    expect(await processor(latestJob('s-1', 1000, result('s-1')))).toEqual({ runId: 's-1', moved: false });
    expect((await readLatest(store, 's'))!.runId).toBe('s-2');
    await expect(processor(latestJob('s-3', 3000, undefined))).rejects.toThrow(InputError);
    expect((await readLatest(store, 's'))!.runId).toBe('s-2');
    expect(await store.head(latestKey('s'))).not.toBeNull();
  });
});
