/**
 * Nothing lost, nothing twice: real worker processes (`neurox worker`) are
 * killed with SIGKILL in the middle of a job, between two of its writes;
 * another worker picks the stalled job up and the run completes with
 * Parquet files byte-identical to an undisturbed run.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEmbedded } from '../workers/runner/embedded.ts';
import { openStore } from '../workers/store/index.ts';
import { freshBucket, s3TestEnv } from './helpers/s3.ts';
import { corpusText, pollRun, queueConfig, readOutputs, spawnWorker, type RunOutputs, type WorkerProcess } from './pipelineHelpers.ts';

let dir: string;
let corpus: string;
let bucket: string;
let reference: RunOutputs;
const spawned: WorkerProcess[] = [];
const RUN = 'killed-run';

function request(output: string): Record<string, unknown> {
  // 24 sentences: 3 shards of 8; 16 neurons in blocks of 6: 3 blocks
  return { version: 1, corpus, model: 'test-hash:2x8', output, runName: RUN, options: { shardSentences: 8, blockNeurons: 6, topK: 5 } };
}

const saved = { ...process.env };

beforeAll(async () => {
  Object.assign(process.env, s3TestEnv());
  dir = mkdtempSync(join(tmpdir(), 'neurox-kill-'));
  corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, corpusText(24));
  bucket = await freshBucket('kill');
  const ref = await runEmbedded(request(join(dir, 'reference')) as never);
  reference = await readOutputs(openStore(ref.output), ref.runId);
}, 120_000);

afterAll(async () => {
  for (const w of spawned) w.child.kill('SIGKILL');
  process.env = saved;
});

async function killMidJob(pause: string, pattern: RegExp, prefix: string): Promise<RunOutputs> {
  const config = queueConfig();
  const env = { ...s3TestEnv(), REDIS_URL: config.redisUrl, NEUROX_QUEUE_PREFIX: config.prefix };
  const first = await spawnWorker({ ...env, NEUROX_TEST_PAUSE: pause });
  spawned.push(first);
  const output = `s3://${bucket}/${prefix}`;
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('analysis', { connection, prefix: config.prefix });
  try {
    await queue.add('analyze', { ...request(output), corpus: `file://${corpus}` }, { jobId: RUN });
  } finally {
    await queue.close();
    await connection.quit();
  }
  await first.waitFor(pattern);
  first.child.kill('SIGKILL');
  const second = await spawnWorker(env);
  spawned.push(second);
  try {
    const result = await pollRun(config, RUN).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\nfirst worker:\n${first.output()}\nsecond worker:\n${second.output()}`);
    });
    expect(result.runId).toBe(RUN);
    return await readOutputs(openStore(output), RUN);
  } finally {
    await second.stop();
  }
}

describe('a worker killed with SIGKILL', () => {
  it('in the middle of an extract job (after its activations, before its moments): the run completes, byte-identical', async () => {
    const out = await killMidJob('extract@1:60000', /extract \S+: pausing after write 1/, 'mid-extract');
    expect(Buffer.from(out.neuronStatsBytes).equals(Buffer.from(reference.neuronStatsBytes))).toBe(true);
    expect(Buffer.from(out.topWordsBytes).equals(Buffer.from(reference.topWordsBytes))).toBe(true);
    expect(out.manifest.summary?.nTokens).toBe(reference.manifest.summary?.nTokens);
  }, 300_000);

  it('in the middle of a reduce job (after neuron_stats, before the means for pass 2): the run completes, byte-identical', async () => {
    const out = await killMidJob('reduce-moments@1:60000', /reduce-moments \S+: pausing after write 1/, 'mid-reduce');
    expect(Buffer.from(out.neuronStatsBytes).equals(Buffer.from(reference.neuronStatsBytes))).toBe(true);
    expect(Buffer.from(out.topWordsBytes).equals(Buffer.from(reference.topWordsBytes))).toBe(true);
    // every token counted once: the merged count is the corpus's token count, not more
    expect(Array.from(new Set(out.stats.count))).toEqual([reference.manifest.summary!.nTokens]);
  }, 300_000);

  it('with SIGTERM instead: the worker finishes its active job, then exits with code 0', async () => {
    const config = queueConfig();
    const env = { ...s3TestEnv(), REDIS_URL: config.redisUrl, NEUROX_QUEUE_PREFIX: config.prefix, NEUROX_TEST_PAUSE: 'extract@1:3000' };
    const worker = await spawnWorker(env);
    spawned.push(worker);
    const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue('analysis', { connection, prefix: config.prefix });
    const extract = new Queue('extract', { connection, prefix: config.prefix });
    try {
      await queue.add('analyze', { ...request(`s3://${bucket}/graceful`), runName: 'graceful' }, { jobId: 'graceful' });
      await worker.waitFor(/extract (\S+): pausing after write 1/);
      const id = /extract (\S+): pausing after write 1/.exec(worker.output())![1]!;
      const exited = new Promise<number | null>((resolve) => worker.child.once('exit', (code) => resolve(code)));
      worker.child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(worker.output()).toMatch(/SIGTERM: finishing active jobs/);
      const job = await extract.getJob(id);
      expect(await job?.getState()).toBe('completed');
      expect(job?.attemptsMade).toBe(1);
    } finally {
      await extract.close();
      await queue.close();
      await connection.quit();
    }
  }, 180_000);
});
