/**
 * Bad input fails fast and says why: malformed payloads, a missing model, a
 * corrupted activation shard and an empty corpus, each against a real Redis
 * with the real workers; the reasons are what `neurox status` shows.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeShardHeader, groupRange } from '../pipelines/shard.ts';
import { runEmbedded } from '../workers/runner/embedded.ts';
import { runStatus } from '../workers/runner/status.ts';
import { submitAnalysis } from '../workers/runner/submit.ts';
import { corpusText, pollRun, queueConfig, TEST_LOCKS, withWorkers } from './pipelineHelpers.ts';

let dir: string;
let corpus: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'neurox-failures-'));
  corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, corpusText(12));
});

async function failedRun(config: { redisUrl: string; prefix: string }, runId: string): Promise<string> {
  return await pollRun(config, runId, 120_000).then(
    () => {
      throw new Error(`run ${runId} completed; expected a failure`);
    },
    (err: unknown) => (err as Error).message,
  );
}

describe('queue failures', () => {
  it('fails a malformed stage payload at once, without retries, naming the field', async () => {
    const config = queueConfig();
    await withWorkers({ config, roles: ['extract'], concurrency: 1, ...TEST_LOCKS }, async () => {
      const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
      const events = new QueueEvents('extract', { connection: new Redis(config.redisUrl, { maxRetriesPerRequest: null }), prefix: config.prefix });
      const queue = new Queue('extract', { connection, prefix: config.prefix });
      try {
        await events.waitUntilReady();
        const job = await queue.add('extract', { version: 1, runId: 'r1', output: dir, corpusUrl: corpus, shard: { index: 'zero' } }, { attempts: 5, backoff: { type: 'fixed', delay: 100 } });
        await expect(job.waitUntilFinished(events, 120_000)).rejects.toThrow(/^extract job: field shard\.index: /);
        const failed = await queue.getJob(job.id!);
        expect(await failed!.getState()).toBe('failed');
        expect(failed!.attemptsMade).toBe(1);
      } finally {
        await queue.close();
        await events.close();
        await connection.quit();
      }
    });
  }, 180_000);

  it('fails a run whose model does not exist, with the reason in neurox status', async () => {
    const config = queueConfig();
    await withWorkers({ config, roles: ['analysis'], concurrency: 1, ...TEST_LOCKS }, async () => {
      const s = await submitAnalysis(config, { version: 1, corpus, model: join(dir, 'no-such-model'), output: join(dir, 'out') });
      const message = await failedRun(config, s.runId);
      expect(message).toContain(`model '${join(dir, 'no-such-model')}' not found`);
      const status = await runStatus(s.runId, { queue: config });
      expect(status.state).toBe('failed');
      expect(status.reason).toContain('not found');
      expect(status.output).toBe(s.request.output);
    });
  }, 180_000);

  it('fails the job that reads a corrupted shard, naming the object, and the run with it', async () => {
    const output = join(dir, 'corrupt');
    const request = { version: 1 as const, corpus, model: 'test-hash:2x8', output, options: { shardSentences: 4, blockNeurons: 8, topK: 3 } };
    // fill the activation cache, then damage one cached shard's values
    await runEmbedded({ ...request, runName: 'healthy' });
    const cacheDir = join(output, 'cache');
    const find = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? find(join(d, e.name)) : e.name === 'activations.nxs' ? [join(d, e.name)] : []));
    const victim = find(cacheDir).sort()[0]!;
    const bytes = new Uint8Array(readFileSync(victim));
    const [start] = groupRange(decodeShardHeader(bytes, victim), 1);
    bytes[start + 3] = bytes[start + 3]! ^ 0xff;
    writeFileSync(victim, bytes);

    const config = queueConfig();
    await withWorkers({ config, concurrency: 1, ...TEST_LOCKS }, async () => {
      const s = await submitAnalysis(config, { ...request, runName: 'reads-corrupt-cache' });
      await failedRun(config, s.runId);
      const status = await runStatus(s.runId, { queue: config });
      expect(status.state).toBe('failed');
      const typeScores = status.failures.filter((f) => f.stage === 'type-scores');
      expect(typeScores.length).toBe(1);
      expect(typeScores[0]!.reason).toContain(`${victim.slice(output.length + 1)}: corrupt shard: group 1 fails its CRC-32 check`);
      expect(typeScores[0]!.attemptsMade).toBe(1); // bad input: not retried
      expect(status.manifest?.status).toBe('failed');
      expect(status.manifest?.error?.reason).toContain('corrupt shard');
    });
  }, 240_000);

  it('retries a transient failure (after a partial write) with backoff, and the run completes counting every token once', async () => {
    const config = queueConfig();
    const saved = process.env.NEUROX_TEST_PAUSE;
    process.env.NEUROX_TEST_PAUSE = 'extract@1:fail'; // inherited by the sandboxed children
    try {
      await withWorkers({ config, concurrency: 1, ...TEST_LOCKS }, async () => {
        const s = await submitAnalysis(config, { version: 1, corpus, model: 'test-hash:2x8', output: join(dir, 'transient'), options: { shardSentences: 4, blockNeurons: 8, topK: 3 } });
        const result = await pollRun(config, s.runId, 120_000);
        const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
        const queue = new Queue('extract', { connection, prefix: config.prefix });
        try {
          for (let shard = 0; shard < result.nShards; shard++) {
            const job = await queue.getJob(`${s.runId}.extract.s00000${shard}`);
            expect(job?.attemptsMade).toBe(2); // failed once after writing its activations, then succeeded
            expect(await job?.getState()).toBe('completed');
          }
        } finally {
          await queue.close();
          await connection.quit();
        }
        expect(result.nTokens).toBe(result.nWords);
        const status = await runStatus(s.runId, { queue: config });
        expect(status.state).toBe('completed');
        expect(status.manifest?.summary?.nTokens).toBe(result.nWords);
      });
    } finally {
      if (saved === undefined) delete process.env.NEUROX_TEST_PAUSE;
      else process.env.NEUROX_TEST_PAUSE = saved;
    }
  }, 240_000);

  it('refuses an empty corpus before any job exists', async () => {
    const config = queueConfig();
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '\n  \n');
    await expect(submitAnalysis(config, { version: 1, corpus: empty, output: join(dir, 'out') })).rejects.toThrow(`${empty} has no sentences: all 2 lines are blank`);
    const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue('analysis', { connection, prefix: config.prefix });
    try {
      const counts = await queue.getJobCounts();
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    } finally {
      await queue.close();
      await connection.quit();
    }
  });
});

