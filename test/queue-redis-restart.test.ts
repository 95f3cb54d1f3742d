/**
 * A Redis restart in the middle of a run is survived: the test starts its
 * own redis-server (append-only file, on a free port: never the machine's
 * 6379 nor the suite's shared one), stops it while extract jobs run, starts
 * it again on the same port and data, and the run completes with the same
 * Parquet bytes as an undisturbed run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runEmbedded } from '../workers/runner/embedded.ts';
import { openStore } from '../workers/store/index.ts';
import { freePort } from './setup/services.ts';
import { corpusText, pollRun, readOutputs, spawnWorker, type WorkerProcess } from './pipelineHelpers.ts';

let dir: string;
let port: number;
let redis: ChildProcess | null = null;
let worker: WorkerProcess | null = null;

async function startRedis(): Promise<void> {
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('redis-server did not start');
}

async function stopRedis(): Promise<void> {
  const r = redis;
  if (!r || r.exitCode !== null) return;
  const exited = new Promise((resolve) => r.once('exit', resolve));
  r.kill('SIGTERM');
  await exited;
  redis = null;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'neurox-redis-restart-'));
  port = await freePort();
  await startRedis();
});

afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await stopRedis();
});

it('a run survives a Redis restart in its middle, with byte-identical outputs', async () => {
  const corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, corpusText(30));
  // 150 ms per sentence: each of the 5 extract jobs takes about a second
  const request = (output: string) => ({ version: 1 as const, corpus, model: 'test-hash:2x8:delay=150', output, runName: 'restarted', options: { shardSentences: 6, blockNeurons: 8, topK: 4 } });
  const ref = await runEmbedded(request(join(dir, 'reference')));
  const reference = await readOutputs(openStore(ref.output), ref.runId);

  const config = { redisUrl: `redis://127.0.0.1:${port}`, prefix: '{restart}' };
  worker = await spawnWorker({ REDIS_URL: config.redisUrl, NEUROX_QUEUE_PREFIX: config.prefix });
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('analysis', { connection, prefix: config.prefix });
  await queue.add('analyze', request(join(dir, 'queued')), { jobId: 'restarted' });
  await queue.close();
  await connection.quit();

  await worker.waitFor(/extract restarted\.extract\.s000000: shard 0: extracted/);
  await stopRedis();
  await new Promise((r) => setTimeout(r, 2000));
  await startRedis();

  const result = await pollRun(config, 'restarted').catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\nworker:\n${worker?.output()}`);
  });
  // the outage was felt (and waited out), not slept through
  expect(worker.output()).toMatch(/ECONNREFUSED|Connection is closed/);
  const out = await readOutputs(openStore(result.output), 'restarted');
  expect(Buffer.from(out.neuronStatsBytes).equals(Buffer.from(reference.neuronStatsBytes))).toBe(true);
  expect(Buffer.from(out.topWordsBytes).equals(Buffer.from(reference.topWordsBytes))).toBe(true);
  await worker.stop();
}, 300_000);
