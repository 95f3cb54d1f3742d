/**
 * The S3 store's retry decisions, against a real HTTP server that answers
 * like S3 does when it fails: transient errors and throttling are retried
 * with backoff, other 4xx are not.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, NotFoundError } from '../pipelines/errors.ts';
import { openStore, S3Store, s3ConfigFromEnv } from '../workers/store/index.ts';
import { freshBucket, s3TestEnv } from './helpers/s3.ts';

type Reply = { status: number; code?: string } | 'reset' | 'hang' | 'ok';

/** Answers each request with the next scripted reply; 'ok' serves the object's bytes. */
class FlakyS3 {
  requests: string[] = [];
  script: Reply[] = [];
  readonly body = new TextEncoder().encode('stored bytes');
  private server: Server = createServer((req, res) => this.answer(req, res));

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(`${req.method} ${req.url}`);
    req.resume();
    const reply = this.script.shift() ?? 'ok';
    if (reply === 'hang') return; // never answers; stop() closes the socket
    if (reply === 'reset') {
      req.socket.destroy();
      return;
    }
    if (reply === 'ok') {
      res.writeHead(200, { 'content-length': String(this.body.byteLength), 'content-type': 'application/octet-stream', etag: '"abc"' });
      res.end(req.method === 'HEAD' ? undefined : this.body);
      return;
    }
    const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${reply.code ?? 'Error'}</Code><Message>scripted</Message><RequestId>r1</RequestId></Error>`;
    res.writeHead(reply.status, { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(xml)) });
    res.end(xml);
  }
}

const fake = new FlakyS3();
let endpoint = '';
beforeAll(async () => { endpoint = await fake.start(); });
afterAll(async () => { await fake.stop(); });

function store(maxAttempts = 4, socketTimeoutMs = 120_000): S3Store {
  return openStore('s3://flaky-bucket/p', {
    S3_ENDPOINT: endpoint, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', S3_MAX_ATTEMPTS: String(maxAttempts), S3_SOCKET_TIMEOUT_MS: String(socketTimeoutMs),
  }) as S3Store;
}

async function attempts(script: Reply[], call: (s: S3Store) => Promise<unknown>, maxAttempts?: number, socketTimeoutMs?: number): Promise<{ n: number; result: unknown }> {
  fake.requests = [];
  fake.script = [...script];
  const s = store(maxAttempts, socketTimeoutMs);
  try {
    const result = await call(s).catch((err: unknown) => err);
    return { n: fake.requests.length, result };
  } finally {
    s.close();
  }
}

describe('S3 store retries', () => {
  it('retries 503 SlowDown and 500 InternalError, then succeeds', async () => {
    const { n, result } = await attempts([{ status: 503, code: 'SlowDown' }, { status: 500, code: 'InternalError' }], (s) => s.get('k.bin'));
    expect(n).toBe(3);
    expect(new TextDecoder().decode(result as Uint8Array)).toBe('stored bytes');
    expect(fake.requests[0]).toMatch(/^GET \/flaky-bucket\/p\/k\.bin(\?|$)/);
  });

  it('retries throttling (429) and a dropped connection', async () => {
    const { n, result } = await attempts([{ status: 429, code: 'TooManyRequests' }, 'reset'], (s) => s.get('k.bin'));
    expect(n).toBe(3);
    expect(result).toBeInstanceOf(Uint8Array);
  });

  it('times out a server that never answers and retries, instead of hanging', async () => {
    // 1 s idle timeout: the hung request times out; a later try is answered (more than one
    // later try only if the loaded machine delays even the answer by a second).
    const { n, result } = await attempts(['hang'], (s) => s.get('k.bin'), 5, 1_000);
    expect(n).toBeGreaterThanOrEqual(2);
    expect(new TextDecoder().decode(result as Uint8Array)).toBe('stored bytes');
  });

  it('retries a PUT that meets a 503', async () => {
    const { n, result } = await attempts([{ status: 503, code: 'ServiceUnavailable' }], (s) => s.put('k.bin', 'x'));
    expect(n).toBe(2);
    expect(result).toBeUndefined();
  });

  it('does not retry 403 AccessDenied nor 400', async () => {
    const denied = await attempts([{ status: 403, code: 'AccessDenied' }], (s) => s.get('k.bin'));
    expect(denied.n).toBe(1);
    expect((denied.result as Error).name).toBe('AccessDenied');
    const bad = await attempts([{ status: 400, code: 'InvalidArgument' }], (s) => s.put('k.bin', 'x'));
    expect(bad.n).toBe(1);
  });

  it('does not retry a missing key: NotFoundError naming s3://bucket/key', async () => {
    const { n, result } = await attempts([{ status: 404, code: 'NoSuchKey' }], (s) => s.get('gone.parquet'));
    expect(n).toBe(1);
    expect(result).toBeInstanceOf(NotFoundError);
    expect((result as Error).message).toContain('s3://flaky-bucket/p/gone.parquet');
  });

  it('gives up after S3_MAX_ATTEMPTS tries of a failing server', async () => {
    const { n, result } = await attempts(Array(10).fill({ status: 503, code: 'SlowDown' }), (s) => s.get('k.bin'), 3);
    expect(n).toBe(3);
    expect((result as Error).name).toBe('SlowDown');
  });
});

describe('S3 store on moto_server', () => {
  it('aborts the multipart upload of a failed putStream, leaving no parts behind', async () => {
    const bucket = await freshBucket('store-abort');
    const s = new S3Store({ bucket, config: s3ConfigFromEnv(s3TestEnv()), partSize: 5 << 20, queueSize: 1 });
    try {
      async function* body(): AsyncIterable<Uint8Array> {
        for (let i = 0; i < 12; i++) yield new Uint8Array(1 << 20).fill(i);
        throw new Error('extractor crashed');
      }
      await expect(s.putStream('acts/shard-0.bin', body())).rejects.toThrow('extractor crashed');
      const uploads = await (await s.client()).send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      expect(uploads.Uploads ?? []).toEqual([]);
      expect(await s.head('acts/shard-0.bin')).toBeNull();
    } finally {
      s.close();
    }
  });

  it('reports a missing bucket as NotFoundError naming it, on reads and writes', async () => {
    const s = openStore('s3://no-such-bucket-neurox/x', s3TestEnv());
    await expect(s.get('k')).rejects.toThrow('s3://no-such-bucket-neurox');
    await expect(s.get('k')).rejects.toThrow(NotFoundError);
    await expect(s.put('k', 'v')).rejects.toThrow(NotFoundError);
    await expect(s.putStream('k', (async function* () { yield new Uint8Array(3); })())).rejects.toThrow('bucket not found: s3://no-such-bucket-neurox');
  });

  it('refuses an empty object range past its end as InputError (S3 answers 416)', async () => {
    const bucket = await freshBucket('store-range');
    const s = openStore(`s3://${bucket}`, s3TestEnv());
    await s.put('empty', new Uint8Array(0));
    await expect(s.getRange('empty', 0, 1)).rejects.toThrow(InputError);
    expect((await s.getRange('empty', 0, 0)).byteLength).toBe(0);
  });
});
