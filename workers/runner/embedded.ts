/**
 * The embedded runner: one process, no Redis, any store (a local folder by
 * default). It executes the same plan, payloads and stage functions as the
 * BullMQ runner (workers/stages/index.ts), stage after stage in plan order.
 * With stage threads (threads.ts; `jobs` > 1 and a store every thread can
 * open): the model runs in this thread while a stage thread stores the
 * previous shard, and pass 2's neuron blocks and the render jobs run `jobs`
 * at a time, one here and the others on the threads. Else every job runs
 * here, one at a time.
 */
import { availableParallelism } from 'node:os';
import type { Stage } from '../../pipelines/plan.ts';
import { InputError } from '../../pipelines/errors.ts';
import { AnalysisJobV1, type AnalysisJob, type AnalysisJobInput, type AnalysisResult } from '../../schemas/analysis.ts';
import { parsePayload } from '../../schemas/validate.ts';
import { completeAnalysis, markFailed, markPass1Done, planAnalysis, writeRunTables } from '../stages/analyze.ts';
import { defaultContext, type StageContext } from '../stages/context.ts';
import { markRendering, renderIndexJob, renderJobs } from '../stages/render.ts';
import { extractShard, fromCache } from '../stages/extract.ts';
import { extractJobs, reduceMomentsJob, runStage, typeScoresJobs, type PlannedJob, type WorkStage } from '../stages/index.ts';
import { ExtractJobV1, type ExtractJob } from '../../schemas/jobs.ts';
import { canShareStore, StageThreads, threadEntry } from './threads.ts';
import { segmentTokens, type TypeScoresWarmUp } from '../stages/typeScores.ts';

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
  /**
   * Stage jobs at once: with n > 1, n - 1 stage threads store shards during
   * extraction and take pass-2 and render jobs beside this thread; 1 runs
   * everything here. Default: one per core (`os.availableParallelism()`),
   * at most `DEFAULT_MAX_JOBS`, when pass 2 is big enough to repay a
   * thread's start (`THREADED_PASS2_VALUES`). Threads are used only with the
   * default stores and a file or S3 output.
   */
  readonly jobs?: number;
}

/**
 * The default's ceiling: each lane holds its own pass-2 reducer (types x
 * block neurons x 16 bytes: 40 MB at 10k types, 800 MB at 200k) and a
 * thread's heap, so many-core machines ask for more with `jobs`.
 */
export const DEFAULT_MAX_JOBS = 4;

/**
 * Below this many activation values (words x neurons), the run stays in one
 * thread unless `jobs` asks for more: a thread's start and its first,
 * cold job cost about 0.3 s, and pass 2 takes about 14 ns per value on one core
 * (MiniLM bench: 38k words x 2,688 neurons = 100M values, 1.4 s).
 */
export const THREADED_PASS2_VALUES = 32_000_000;

/** The stage threads, or null to run everything in this thread. */
async function stageThreads(output: string, options: EmbeddedOptions, log: (m: string) => void): Promise<StageThreads | null> {
  const jobs = options.jobs ?? Math.min(availableParallelism(), DEFAULT_MAX_JOBS);
  if (!Number.isInteger(jobs) || jobs < 1) throw new InputError(`jobs: ${jobs} is not a positive integer`);
  // a custom store (tests, wrappers) exists only in this thread
  if (jobs === 1 || options.context?.store !== undefined || !canShareStore(output)) return null;
  return new StageThreads(jobs - 1, { log, entry: await threadEntry(log) }); // and this thread
}

export async function runEmbedded(input: AnalysisJobInput, options: EmbeddedOptions = {}): Promise<AnalysisResult> {
  const request = parsePayload(AnalysisJobV1, input, 'analysis request');
  const ctx = defaultContext({ ...options.context, signal: options.signal });
  // started before planning, so the threads load their modules while the model loads
  const threads = await stageThreads(request.output, options, ctx.log);
  try {
    return await runPlanned(request, ctx, options, threads);
  } finally {
    await threads?.close();
  }
}

async function runPlanned(request: AnalysisJob, ctx: StageContext, options: EmbeddedOptions, started: StageThreads | null): Promise<AnalysisResult> {
  const { plan, manifest } = await planAnalysis(ctx, request);
  let threads = started;
  if (threads && options.jobs === undefined && plan.corpus.nWords * plan.nNeurons < THREADED_PASS2_VALUES) {
    await threads.close(); // a small run: one thread does it sooner
    threads = null;
  }
  const out = request.output;
  const report = (stage: Stage, done: number, total: number, words: number, totalWords: number): void =>
    options.onProgress?.({ runId: plan.runId, stage, done, total, words, totalWords });
  let stage: Stage = 'extract';
  /** One stage job, here or on a stage thread. */
  const run = async (s: Extract<WorkStage, Stage>, data: unknown, pool: StageThreads | null = null): Promise<void> => {
    stage = s;
    options.signal?.throwIfAborted();
    options.onJob?.(s, 'start');
    await (pool ? pool.run(s, data) : runStage(ctx, s, data));
    options.onJob?.(s, 'end');
  };
  /**
   * Pass 1 with the model in this thread and each shard stored (encoded, its
   * moments taken, written) on a stage thread while the model runs over the
   * next one: ONNX Runtime's `run` holds this thread, so here the storing
   * would wait for it. At most one shard is being stored while the next is
   * extracted, so memory stays at two shards' activations.
   */
  const extractOverlapped = async (pool: StageThreads, jobs: ReadonlyArray<PlannedJob<ExtractJob>>, ended: (i: number) => void): Promise<{ threadsReady: Promise<void> }> => {
    stage = 'extract';
    let storing: Promise<void> = Promise.resolve();
    // what pass 2 will hold: the run's distinct tokens (known when no shard came from the cache)
    const types = new Set<string>();
    let allExtracted = true;
    const blockNeurons = Math.max(1, ...plan.blocks.map((b) => b.end - b.start));
    const shardWords = plan.shards.map((s) => s.nWords);
    const largestSegment = segmentTokens(shardWords, blockNeurons);
    const warmUp = (): TypeScoresWarmUp => ({
      blockNeurons,
      shardTokens: Math.max(1, ...shardWords),
      segmentTokens: largestSegment,
      severalSegments: largestSegment < shardWords.reduce((a, b) => a + b, 0),
      valueBytes: request.options.dtype === 'float16' ? 2 : 4,
      types: allExtracted ? types.size : null,
      topK: plan.options.topK,
    });
    for (const [i, planned] of jobs.entries()) {
      options.signal?.throwIfAborted();
      const job = parsePayload(ExtractJobV1, planned.data, 'extract job');
      options.onJob?.('extract', 'start');
      if (await fromCache(ctx, job)) {
        allExtracted = false;
        options.onJob?.('extract', 'end');
        ended(i);
        continue;
      }
      const shard = await extractShard(ctx, job);
      for (const s of shard.sentences) for (const t of s.tokens) types.add(t);
      await storing; // the previous shard's, stored while this one ran through the model
      storing = pool.storeShard(job, shard).then(() => {
        options.onJob?.('extract', 'end');
        ended(i);
      });
      storing.catch(() => {}); // awaited above or below; a failure is thrown there
    }
    await storing;
    // The threads warm up beside reduce-moments, where they would wait. This
    // thread does not: while the last shard is stored it has 0.2-0.4 s, and
    // its warm-up (0.3-0.5 s) made the extraction end 0.5 s later (BENCHMARKS).
    // Best effort: a failed warm-up (out of memory for the reducer, say) leaves the jobs to run cold.
    const threadsReady = pool.warmTypeScores(warmUp()).then(
      () => {},
      (err: unknown) => ctx.log(`stage threads: pass-2 warm-up failed, the first blocks run cold: ${err instanceof Error ? err.message : String(err)}`),
    );
    return { threadsReady };
  };
  /**
   * Runs a stage's jobs in plan order, reporting each as it ends: one lane in
   * this thread and one per stage thread, each taking the next job when its
   * last one ends.
   */
  const runAll = async (s: Extract<WorkStage, Stage>, jobs: readonly unknown[], ended: () => void): Promise<void> => {
    let next = 0;
    const lane = async (pool: StageThreads | null): Promise<void> => {
      while (next < jobs.length) {
        await run(s, jobs[next++], pool);
        ended();
      }
    };
    const lanes = [lane(null)];
    for (let i = 0; i < (threads?.size ?? 0); i++) lanes.push(lane(threads));
    await Promise.all(lanes);
  };
  try {
    const nWords = plan.corpus.nWords;
    let words = 0;
    report('analyze', 1, 1, 0, 0);
    report('extract', 0, plan.shards.length, 0, nWords);
    let extracted = 0;
    const shardDone = (i: number): void => {
      words += plan.shards[i]!.nWords;
      report('extract', ++extracted, plan.shards.length, words, nWords);
    };
    let threadsReady: Promise<void> = Promise.resolve();
    if (threads) ({ threadsReady } = await extractOverlapped(threads, extractJobs(plan, out), shardDone));
    else {
      for (const [i, job] of extractJobs(plan, out).entries()) {
        await run('extract', job.data);
        shardDone(i);
      }
    }
    await run('reduce-moments', reduceMomentsJob(plan, out).data);
    report('reduce-moments', 1, 1, 0, 0);
    const pass2 = await markPass1Done(ctx, manifest);

    words = 0;
    const pass2Words = nWords * plan.blocks.length;
    report('type-scores', 0, plan.blocks.length, 0, pass2Words);
    const pass2Jobs = typeScoresJobs(plan, out);
    let blocksDone = 0;
    const blockDone = (): void => {
      words += nWords;
      report('type-scores', ++blocksDone, plan.blocks.length, words, pass2Words);
    };
    // the threads' pass-2 jobs queue behind their warm-up; this thread's start at once
    await runAll('type-scores', pass2Jobs.map((j) => j.data), blockDone);
    await threadsReady;
    const rendering = await markRendering(ctx, pass2);
    const renders = await renderJobs(ctx, rendering);
    let rendered = 0;
    const renderDone = (): void => report('render', ++rendered, renders.length, 0, 0);
    await runAll('render', renders.map((j) => j.data), renderDone);
    // the index (on a thread when there is one) beside the run's tables: both only read the blocks' parts
    const index = renderIndexJob(plan, out).data;
    const [, rows] = await Promise.all([
      run('render-index', index, threads),
      writeRunTables(ctx, rendering),
    ]);
    report('render-index', 1, 1, 0, 0);
    return await completeAnalysis(ctx, rendering, rows);
  } catch (err) {
    await markFailed(ctx, out, plan.runId, { stage, reason: err instanceof Error ? err.message : String(err) }).catch(() => {});
    throw err;
  }
}
