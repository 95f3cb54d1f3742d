/**
 * Vitest global setup: starts the real services the tests talk to, each on
 * its own free port, so that tests never touch the machine's shared Redis
 * at 6379 nor anybody's S3.
 *
 * - redis-server (Debian's) on a private port, no persistence;
 * - moto_server (Python moto) as the S3 server.
 *
 * Set NEUROX_TEST_REDIS_URL / NEUROX_TEST_S3_ENDPOINT to use running ones.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisPort: number;
    redisDir: string;
    s3Endpoint: string;
  }
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, probe: () => Promise<boolean>, child: ChildProcess, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} before it was ready`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} was not ready after ${ms} ms`);
}

async function tcpOpen(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return await new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'neurox-test-redis-'));

  let redisUrl = process.env.NEUROX_TEST_REDIS_URL;
  let redisPort = 0;
  if (!redisUrl) {
    redisPort = await freePort();
    const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    children.push(redis);
    await waitFor('redis-server', () => tcpOpen(redisPort), redis);
    redisUrl = `redis://127.0.0.1:${redisPort}`;
  }

  let s3Endpoint = process.env.NEUROX_TEST_S3_ENDPOINT;
  if (!s3Endpoint) {
    const s3Port = await freePort();
    const moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(s3Port)], { stdio: 'ignore' });
    children.push(moto);
    s3Endpoint = `http://127.0.0.1:${s3Port}`;
    const url = `${s3Endpoint}/moto-api/`;
    await waitFor('moto_server', async () => (await fetch(url)).status < 500, moto);
  }

  project.provide('redisUrl', redisUrl);
  project.provide('redisPort', redisPort);
  project.provide('redisDir', dir);
  project.provide('s3Endpoint', s3Endpoint);
  process.env.NEUROX_TEST_REDIS_URL = redisUrl;
  process.env.NEUROX_TEST_S3_ENDPOINT = s3Endpoint;

  return async () => {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
}
