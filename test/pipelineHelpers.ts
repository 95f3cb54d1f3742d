/**
 * Shared by the pipeline and queue tests: run the pipeline on either runner,
 * read a run's outputs, and compute the reference results in memory from the
 * very activations the run stored (decoded from its shards).
 */
import { randomBytes } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import type { Matrix } from '../pipelines/matrix.ts';
import { toTokenMajor } from '../pipelines/matrix.ts';
import { runKeys } from '../pipelines/keys.ts';
import type { ObjectStore } from '../pipelines/ports.ts';
import { decodeShard } from '../pipelines/shard.ts';
import { topWordsAllNeurons, type TopWord } from '../pipelines/topWords.ts';
import type { AnalysisJobInput, AnalysisResult } from '../schemas/analysis.ts';
import type { Manifest } from '../schemas/manifest.ts';
import { neuronStatsTable, topWordsTable, type NeuronStatsColumns, type TopWordsColumns } from '../schemas/parquet.ts';
import { readTable } from '../workers/parquet.ts';
import { readManifest } from '../workers/stages/manifest.ts';
import { runEmbedded } from '../workers/runner/embedded.ts';
import { sandboxEntry, startWorkers, type RunningWorkers, type WorkerOptions } from '../workers/runner/workers.ts';

export const SAMPLE = [
  'the cat sat on the mat',
  'a dog sat on the log',
  'the cat saw the dog',
  'dogs and cats are friends',
  'the mat is red',
  'a red dog ran',
  'the log is old and the mat is new',
  'cats like the sun',
  'the sun is hot',
  'a cat and a dog',
  'the old dog sleeps on the mat',
  'red is a colour',
];

export function corpusText(n: number): string {
  return Array.from({ length: n }, (_, i) => SAMPLE[i % SAMPLE.length]! + (i % 5 === 0 ? ` again ${i % 3}` : '')).join('\n') + '\n';
}

export function queueConfig(): { redisUrl: string; prefix: string } {
  return { redisUrl: inject('redisUrl'), prefix: `{t-${randomBytes(4).toString('hex')}}` };
}

/** Short locks so that a killed worker's job comes back within seconds in tests. */
export const TEST_LOCKS = { lockDurationMs: 4000, stalledIntervalMs: 2000 } as const;

/** Adds an analysis with plain bullmq (no project code on the producer side) and waits for its result. */
export async function submitWithBullmq(config: { redisUrl: string; prefix: string }, payload: unknown, jobId: string, timeoutMs = 240_000): Promise<AnalysisResult> {
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const events = new QueueEvents('analysis', { connection: new Redis(config.redisUrl, { maxRetriesPerRequest: null }), prefix: config.prefix });
  const queue = new Queue('analysis', { connection, prefix: config.prefix });
  try {
    await events.waitUntilReady();
    const job = await queue.add('analyze', payload, { jobId });
    return (await job.waitUntilFinished(events, timeoutMs)) as AnalysisResult;
  } finally {
    await queue.close();
    await events.close();
    await connection.quit();
  }
}

export async function withWorkers<T>(opts: WorkerOptions, body: (w: RunningWorkers) => Promise<T>): Promise<T> {
  // the stage queues' children start from the bundle, as `neurox worker` starts them
  const w = startWorkers({ sandbox: await sandboxEntry(), ...opts });
  try {
    return await body(w);
  } finally {
    await w.close();
  }
}

export type Runner = 'embedded' | 'bullmq';

export async function runWith(runner: Runner, request: AnalysisJobInput, jobId = 'run'): Promise<AnalysisResult> {
  if (runner === 'embedded') return await runEmbedded(request);
  const config = queueConfig();
  return await withWorkers({ config, concurrency: 2, ...TEST_LOCKS }, async () => await submitWithBullmq(config, request, jobId));
}

export interface RunOutputs {
  readonly manifest: Manifest;
  readonly neuronStatsBytes: Uint8Array;
  readonly topWordsBytes: Uint8Array;
  readonly stats: NeuronStatsColumns;
  readonly top: TopWordsColumns;
}

export async function readOutputs(store: ObjectStore, runId: string): Promise<RunOutputs> {
  const keys = runKeys(runId);
  const neuronStatsBytes = await store.get(keys.neuronStats);
  const topWordsBytes = await store.get(keys.topWords);
  return {
    manifest: await readManifest(store, runId),
    neuronStatsBytes,
    topWordsBytes,
    stats: await readTable(neuronStatsTable, neuronStatsBytes),
    top: await readTable(topWordsTable, topWordsBytes),
  };
}

/** Every sentence of a run as NeuroX sees it: tokens and a `[nTokens x nNeurons]` matrix, decoded from the run's shards. */
export async function activationsOf(store: ObjectStore, manifest: Manifest): Promise<{ tokens: string[][]; activations: Matrix[] }> {
  const tokens: string[][] = [];
  const activations: Matrix[] = [];
  for (const s of manifest.plan.shards) {
    const { sentences } = decodeShard(await store.get(s.cache.activations), s.cache.activations);
    for (const sent of sentences) {
      tokens.push([...sent.tokens]);
      activations.push(toTokenMajor(sent));
    }
  }
  return { tokens, activations };
}

/** Single-pass float64 statistics per neuron (two-pass mean then squares: the textbook definition). */
export function referenceStats(activations: readonly Matrix[]): { count: number; mean: Float64Array; variance: Float64Array; min: Float64Array; max: Float64Array } {
  const n = activations[0]!.cols;
  const mean = new Float64Array(n);
  const variance = new Float64Array(n);
  const min = new Float64Array(n).fill(Infinity);
  const max = new Float64Array(n).fill(-Infinity);
  let count = 0;
  for (const m of activations) {
    for (let r = 0; r < m.rows; r++) {
      for (let j = 0; j < n; j++) {
        const x = m.data[r * n + j]!;
        mean[j] = mean[j]! + x;
        if (x < min[j]!) min[j] = x;
        if (x > max[j]!) max[j] = x;
      }
    }
    count += m.rows;
  }
  for (let j = 0; j < n; j++) mean[j] = mean[j]! / count;
  for (const m of activations) {
    for (let r = 0; r < m.rows; r++) {
      for (let j = 0; j < n; j++) {
        const d = m.data[r * n + j]! - mean[j]!;
        variance[j] = variance[j]! + d * d;
      }
    }
  }
  for (let j = 0; j < n; j++) variance[j] = variance[j]! / count;
  return { count, mean, variance, min, max };
}

/** get_top_words for every neuron over the whole corpus at once (pipelines/topWords.ts, itself pinned to NeuroX). */
export function referenceTopWords(tokens: string[][], activations: Matrix[], minThreshold: number, topK: number): TopWord[][] {
  const all = topWordsAllNeurons(tokens, activations, { minThreshold });
  return topK > 0 ? all.map((l) => l.slice(0, topK)) : all;
}

export function relClose(a: number, b: number, tol: number): boolean {
  return Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b), 1e-300);
}

// ------------------------------------------------------------------ real worker processes

export interface WorkerProcess {
  readonly child: import('node:child_process').ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves when its output matches `pattern` (rejects after `ms` or if it exits first). */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  /** Graceful stop (SIGTERM), awaited. */
  stop(): Promise<void>;
}

const ROOT = new URL('..', import.meta.url).pathname;

/** `node bin/neurox.js worker ...` as its own process, with test-short locks. */
export async function spawnWorker(env: Record<string, string>, args: readonly string[] = []): Promise<WorkerProcess> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['bin/neurox.js', 'worker', '--concurrency', '1', '--lock-ms', String(TEST_LOCKS.lockDurationMs), '--stalled-ms', String(TEST_LOCKS.stalledIntervalMs), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters: Array<() => void> = [];
  const onData = (b: Buffer): void => {
    text += b.toString();
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return {
    child,
    output: () => text,
    waitFor: (pattern, ms = 120_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`worker did not print ${pattern} within ${ms} ms; it printed:\n${text}`)), ms);
        const check = (): void => {
          if (pattern.test(text)) {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(check), 1);
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            reject(new Error(`worker exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}:\n${text}`));
          }
        };
        waiters.push(check);
        check();
      }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Polls the root job until it completes (survives Redis restarts, unlike QueueEvents). */
export async function pollRun(config: { redisUrl: string; prefix: string }, runId: string, timeoutMs = 240_000): Promise<AnalysisResult> {
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null, retryStrategy: () => 200 });
  const queue = new Queue('analysis', { connection, prefix: config.prefix });
  const t0 = Date.now();
  try {
    for (;;) {
      const job = await queue.getJob(runId).catch(() => undefined);
      const state = job ? await job.getState().catch(() => 'unknown') : 'missing';
      // read the job again: the copy read before its state may predate its completion (returnvalue null)
      if (state === 'completed') return (await queue.getJob(runId))!.returnvalue as AnalysisResult;
      if (state === 'failed') throw new Error(`run ${runId} failed: ${(await queue.getJob(runId))?.failedReason ?? job!.failedReason}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`run ${runId} still ${state} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await queue.close().catch(() => {});
    connection.disconnect();
  }
}
