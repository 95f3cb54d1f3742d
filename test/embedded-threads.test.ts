/**
 * The embedded runner's stage threads (workers/runner/threads.ts): pass 2
 * and the render jobs on worker threads give the same bytes as one job at a
 * time in the runner's own thread, a thread's InputError reaches the caller
 * as an InputError naming the bad object, and stores a thread cannot open
 * (memory://, a custom store) keep everything in the runner's thread.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, NotFoundError } from '../pipelines/errors.ts';
import { decodeShardHeader, groupRange } from '../pipelines/shard.ts';
import { runEmbedded } from '../workers/runner/embedded.ts';
import { canShareStore, deserializeError, serializeError, StageThreads, threadEntry } from '../workers/runner/threads.ts';
import { defaultCacheDir } from '../workers/runner/compiled.ts';
import { readManifest } from '../workers/stages/manifest.ts';
import { writeTopSentencesParquet } from '../workers/stages/renderInputs.ts';
import { renderKeys } from '../pipelines/renderKeys.ts';
import { readTable } from '../workers/parquet.ts';
import { topSentencesTable } from '../schemas/parquet.ts';
import { openStore } from '../workers/store/index.ts';
import { corpusText } from './pipelineHelpers.ts';

let dir: string;
let corpus: string;

// 3 layers x 16 = 48 neurons in 12 blocks of 4; 40 sentences in 5 shards; every neuron rendered
const request = (output: string, runName: string) =>
  ({ version: 1, corpus, model: 'test-hash:3x16', output, runName, options: { shardSentences: 8, blockNeurons: 4, topK: 5, render: 'all' } }) as const;

function files(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(root, p), readFileSync(p));
    }
  };
  walk(root);
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'neurox-threads-'));
  corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, corpusText(40));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('embedded runner on stage threads', () => {
  it('writes the same bytes with 3 jobs at once (2 threads) as with one job at a time', async () => {
    const one = await runEmbedded(request(join(dir, 'one'), 'same'), { jobs: 1 });
    const three = await runEmbedded(request(join(dir, 'three'), 'same'), { jobs: 3 });
    expect(three.runId).toBe(one.runId);
    expect(three.topWordRows).toBe(one.topWordRows);
    const a = files(join(dir, 'one', 'runs', one.runId));
    const b = files(join(dir, 'three', 'runs', three.runId));
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    // every neuron has its SVGs (render: all), so the render jobs ran too
    expect([...a.keys()].filter((k) => k.endsWith('.svg')).length).toBeGreaterThan(48);
    const m1 = await readManifest(openStore(join(dir, 'one')), one.runId);
    const m3 = await readManifest(openStore(join(dir, 'three')), three.runId);
    // the index pages show when the run was created: the one difference allowed
    const undated = (bytes: Buffer, createdAt: string): string => bytes.toString('latin1').replaceAll(createdAt, '<createdAt>');
    let compared = 0;
    for (const [k, bytes] of a) {
      if (k === 'manifest.json') continue; // holds the run's timestamps
      expect(undated(b.get(k)!, m3.createdAt) === undated(bytes, m1.createdAt), k).toBe(true);
      compared++;
    }
    expect(compared).toBe(a.size - 1);
    expect(m3.status).toBe('completed');
    expect(m3.summary).toEqual(m1.summary);
  }, 120_000);

  it("fails the run with a thread's InputError, naming the corrupt shard", async () => {
    const output = join(dir, 'corrupt');
    await runEmbedded(request(output, 'healthy'), { jobs: 1 });
    const cache = join(output, 'cache');
    const shards = [...files(cache).keys()].filter((k) => k.endsWith('activations.nxs')).sort();
    const victim = join(cache, shards[0]!);
    const bytes = new Uint8Array(readFileSync(victim));
    // block 1 is the stage thread's first job (block 0 is the runner's own)
    const [start] = groupRange(decodeShardHeader(bytes, victim), 1);
    bytes[start + 5] = bytes[start + 5]! ^ 0xff;
    writeFileSync(victim, bytes);

    const err = await runEmbedded(request(output, 'reads-corrupt-cache'), { jobs: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(`${shards[0]!}: corrupt shard: group 1 fails its CRC-32 check`);
    const runs = readdirSync(join(output, 'runs'));
    const manifests = await Promise.all(runs.map((r) => readManifest(openStore(output), r)));
    const bad = manifests.find((m) => m.request.runName === 'reads-corrupt-cache')!;
    expect(bad.status).toBe('failed');
    expect(bad.error?.stage).toBe('type-scores');
    expect(bad.error?.reason).toContain('corrupt shard');
  }, 120_000);

  it('stops between jobs when aborted, stage threads and all, and the next run resumes from the stored shards', async () => {
    const output = join(dir, 'aborted');
    const abort = new AbortController();
    const reason = new Error('stopped by the test');
    const run = runEmbedded(request(output, 'aborted'), {
      jobs: 2,
      signal: abort.signal,
      onProgress: (e) => {
        if (e.stage === 'extract' && e.done === 2) abort.abort(reason);
      },
    });
    await expect(run).rejects.toBe(reason);
    const again = await runEmbedded(request(output, 'aborted'), { jobs: 2 });
    expect(again.cachedShards).toBeGreaterThanOrEqual(2);
    expect(again.cachedShards).toBeLessThan(again.nShards);
    const m = await readManifest(openStore(output), again.runId);
    expect(m.status).toBe('completed');
  }, 120_000);

  it('runs everything in its own thread for a memory:// output', async () => {
    expect(canShareStore('memory://x')).toBe(false);
    expect(canShareStore('s3://bucket/prefix')).toBe(true);
    expect(canShareStore('file:///tmp/x')).toBe(true);
    expect(canShareStore('relative/dir')).toBe(true);
    const r = await runEmbedded({ ...request('memory://threads-test', 'in-memory'), corpus }, { jobs: 4 });
    const m = await readManifest(openStore('memory://threads-test'), r.runId);
    expect(m.status).toBe('completed');
    expect(r.topWordRows).toBeGreaterThan(0);
  }, 120_000);

  it("writes top_sentences.parquet at the end from the blocks' Parquet parts, refusing a part that is another block's or corrupt, naming it, and making a missing one from the block's partial", async () => {
    const out = join(dir, 'tops');
    const r = await runEmbedded(request(out, 'tops'), { jobs: 1 });
    const store = openStore(out);
    const manifest = await readManifest(store, r.runId);
    const rk = renderKeys(r.runId);
    // 48 neurons x their top 10 sentences (the default), as the run wrote it
    const written = await store.get(rk.topSentences);
    expect(await writeTopSentencesParquet(store, manifest)).toBe(480);
    expect(await store.get(rk.topSentences)).toEqual(written);
    expect((await readTable(topSentencesTable, written)).globalNeuron.length).toBe(480);
    // the blocks' Parquet parts (pass 2's): another block's, or corrupt, is refused by name
    const part0 = rk.topSentencesPart(0);
    const own = await store.get(part0);
    await store.put(part0, await store.get(rk.topSentencesPart(1)));
    await expect(writeTopSentencesParquet(store, manifest)).rejects.toThrow(new InputError(`${store.location}${part0}: part of neurons [4, 8), block 0 is [0, 4)`));
    await store.put(part0, new Uint8Array(7));
    const err = await writeTopSentencesParquet(store, manifest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(`${store.location}${part0}`);
    // a missing part (a run an older version started) is made from the block's top sentences: the same bytes
    await store.delete(part0);
    expect(await writeTopSentencesParquet(store, manifest)).toBe(480);
    expect(await store.get(rk.topSentences)).toEqual(written);
    await store.put(part0, own);
    const block0 = rk.topSentencesBlock(0);
    await store.delete(part0);
    await store.put(block0, await store.get(rk.topSentencesBlock(1)));
    await expect(writeTopSentencesParquet(store, manifest)).rejects.toThrow(new InputError(`${store.location}${block0}: part of neurons [4, 8), block 0 is [0, 4)`));
  });

  it('fails a run whose model folder is missing with the model named, stage threads and all', async () => {
    const missing = join(dir, 'no-such-model');
    const err = await runEmbedded({ ...request(join(dir, 'nomodel'), 'nomodel'), model: missing }, { jobs: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toContain(`model '${missing}' not found`);
  });

  it('refuses a jobs count that is not a positive integer, naming it', async () => {
    await expect(runEmbedded(request(join(dir, 'bad-jobs'), 'x'), { jobs: 0 })).rejects.toThrow('jobs: 0 is not a positive integer');
    await expect(runEmbedded(request(join(dir, 'bad-jobs'), 'x'), { jobs: 1.5 })).rejects.toThrow('jobs: 1.5 is not a positive integer');
  });
});

describe('StageThreads', () => {
  it('carries InputError and NotFoundError across threads with their class and message', () => {
    const a = deserializeError(serializeError(new InputError('bad value 7')));
    expect(a).toBeInstanceOf(InputError);
    expect(a.message).toBe('bad value 7');
    const b = deserializeError(serializeError(new NotFoundError('k/x', 'k/x is missing')));
    expect(b).toBeInstanceOf(NotFoundError);
    expect((b as NotFoundError).what).toBe('k/x');
    expect(b.message).toBe('k/x is missing');
    const c = deserializeError(serializeError(new TypeError('boom')));
    expect(c).not.toBeInstanceOf(InputError);
    expect(c.message).toBe('boom');
  });

  it("rejects a malformed payload on the thread with the payload's field named (threads from the bundle and through the TypeScript loader)", async () => {
    const bundled = await threadEntry();
    // the runner's threads start from the compiled bundle, without tsx
    expect(fileURLToPath(bundled.url).startsWith(defaultCacheDir())).toBe(true);
    expect(bundled.execArgv.join(' ')).not.toContain('tsx');
    for (const entry of [bundled, undefined]) {
      const pool = new StageThreads(1, entry ? { entry } : {});
      try {
        const err = await pool.run('type-scores', { version: 1, runId: 'r', output: join(dir, 'none'), block: { index: -1, start: 0, end: 4 } }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InputError);
        expect((err as Error).message).toContain('block.index');
      } finally {
        await pool.close();
      }
    }
  });

  it('runs through the TypeScript loader with NEUROX_BUNDLE=off', async () => {
    process.env.NEUROX_BUNDLE = 'off';
    try {
      const entry = await threadEntry();
      expect(entry.url.href).toBe(new URL('../workers/runner/thread.mjs', import.meta.url).href);
      expect(entry.execArgv).toEqual(process.execArgv);
    } finally {
      delete process.env.NEUROX_BUNDLE;
    }
  });

  it('rejects jobs once closed', async () => {
    const pool = new StageThreads(1);
    await pool.close();
    await expect(pool.run('type-scores', {})).rejects.toThrow('stage threads: closed');
  });

  it('warms every thread up for pass 2, each once, even while one is busy and the other free', async () => {
    // a server that accepts S3 requests and never answers keeps the first thread busy until released
    const sockets = new Set<Socket>();
    let released = false;
    const server = createServer((s) => (released ? s.destroy() : sockets.add(s)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const env = { S3_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', S3_MAX_ATTEMPTS: '1' };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env); // the threads take the environment they start with
    const pool = new StageThreads(2);
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    try {
      const busy = pool.run('type-scores', { version: 1, runId: 'r-missing', output: 's3://bucket/out', block: { index: 0, start: 0, end: 4 } }).catch((e: unknown) => e);
      const release = setTimeout(() => {
        released = true;
        for (const s of sockets) s.destroy();
      }, 1_500);
      // the free thread takes its own warm-up, never the busy one's: that one waits for the first thread
      const ids = await pool.warmTypeScores({ blockNeurons: 4, shardTokens: 64, valueBytes: 4, types: 20, topK: 5 });
      clearTimeout(release);
      expect(ids).toHaveLength(2);
      expect(new Set(ids).size).toBe(2);
      expect(await busy).toBeInstanceOf(Error);
    } finally {
      await pool.close();
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});
