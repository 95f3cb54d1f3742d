/**
 * Direct I/O for the activation cache (workers/store/direct.ts): the bytes
 * must come out as they went in, whichever way each part takes (straight
 * from or into the caller's memory, or through staging memory).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { directIoAvailable, openDirect, readDirect, SECTOR, STAGING_BYTES, writeFileDirect } from '../workers/store/direct.ts';
import { tempDirs } from './helpers/tempDirs.ts';
import { LocalStore } from '../workers/store/index.ts';

const fresh = tempDirs('neurox-direct-');

/** `n` bytes of a deterministic pattern that no two offsets share within 2^32. */
function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

/** A view at `offset` into page-aligned memory (a WebAssembly memory, as the shard encoder's and pass 2's). */
function wasmView(bytes: number, offset: number): Uint8Array {
  const Memory = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly.Memory;
  const memory = new Memory({ initial: Math.ceil((bytes + offset) / 65536) });
  return new Uint8Array(memory.buffer, offset, bytes);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Bytes `[start, start + out.length)` of `path` read directly: their count, or null without direct I/O. */
async function readRangeDirect(path: string, start: number, out: Uint8Array): Promise<number | null> {
  const handle = await openDirect(path);
  if (handle === null) return null;
  try {
    return await readDirect(handle, start, out);
  } finally {
    await handle.close();
  }
}

async function* chunks(parts: readonly Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield p;
}

describe('direct I/O', () => {
  it('writes byte for byte whatever the chunks: aligned ones from where they lie, the rest through staging', async () => {
    const aligned = wasmView(3 * SECTOR * 1000, 0);
    aligned.set(pattern(aligned.length, 1));
    const unaligned = wasmView(70_001, 3);
    unaligned.set(pattern(unaligned.length, 2));
    const parts = [
      pattern(300, 3), // a header: the next chunk no longer starts on a sector
      pattern(SECTOR - 300, 4), // padding up to one
      aligned, // on a sector in the file and in memory: written in place
      unaligned,
      pattern(SECTOR * 2 - ((300 + SECTOR - 300 + aligned.length + unaligned.length) % SECTOR), 11), // back on a sector
      new Uint8Array(new ArrayBuffer(9000)).fill(12), // memory of unknown alignment: in place or through staging
      pattern(STAGING_BYTES + 12_345, 5), // fills the staging memory more than once
      pattern(1, 6),
    ];
    const path = join(fresh(), 'shard.bin');
    const way = await writeFileDirect(path, chunks(parts));
    expect(way).toBe(directIoAvailable ? 'direct' : 'plain');
    const want = concat(parts);
    expect(statSync(path).size).toBe(want.length); // the last sector's padding is cut off
    expect(Buffer.compare(readFileSync(path), want)).toBe(0);
  });

  it('writes an empty body as an empty file, and refuses a path that exists', async () => {
    const dir = fresh();
    await writeFileDirect(join(dir, 'empty'), chunks([]));
    expect(statSync(join(dir, 'empty')).size).toBe(0);
    writeFileSync(join(dir, 'taken'), 'x');
    await expect(writeFileDirect(join(dir, 'taken'), chunks([pattern(10, 1)]))).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('NEUROX_DIRECT_IO=0 writes and reads through the page cache instead', () => {
    const direct = pathToFileURL(join(import.meta.dirname, '..', 'workers', 'store', 'direct.ts')).href;
    const dir = fresh();
    const script = join(dir, 'way.mts');
    writeFileSync(script, `
      import { writeFileDirect, openDirect, readDirect } from ${JSON.stringify(direct)};
      async function* body() { yield new Uint8Array(8192).fill(7); }
      const way = await writeFileDirect(${JSON.stringify(join(dir, 'f'))} + process.env.NAME, body());
      const handle = await openDirect(${JSON.stringify(join(dir, 'f'))} + process.env.NAME);
      const read = handle === null ? null : await readDirect(handle, 0, new Uint8Array(4096));
      await handle?.close();
      process.stdout.write(way + ' ' + read);
    `);
    const run = (name: string, env: Record<string, string>): string =>
      execFileSync(process.execPath, ['--import', 'tsx', script], { cwd: join(import.meta.dirname, '..'), env: { ...process.env, NAME: name, ...env }, encoding: 'utf8' });
    expect(run('off', { NEUROX_DIRECT_IO: '0' })).toBe('plain null');
    if (directIoAvailable) expect(run('on', {})).toBe('direct 4096');
  });

  it('reads ranges into place where aligned, through staging where not, and short at the end of the file', async () => {
    const path = join(fresh(), 'data.bin');
    const data = pattern(2 * STAGING_BYTES + 1234, 7);
    writeFileSync(path, data);
    const cases: Array<{ start: number; out: Uint8Array }> = [
      { start: 4096, out: wasmView(1_000_000 + 100, SECTOR) }, // in place, then a tail of less than a sector
      { start: 777, out: new Uint8Array(STAGING_BYTES + 5000) }, // an unaligned offset: staging, more than one buffer
      { start: 8192, out: new Uint8Array(new ArrayBuffer(40_000), 0, 40_000) }, // memory of unknown alignment
      { start: 4096, out: wasmView(SECTOR * 7, SECTOR + 4) }, // memory off a sector
    ];
    for (const { start, out } of cases) {
      const got = await readRangeDirect(path, start, out);
      if (!directIoAvailable) {
        expect(got).toBeNull();
        continue;
      }
      expect(got).toBe(out.length);
      expect(Buffer.compare(out, data.subarray(start, start + out.length))).toBe(0);
    }
    if (!directIoAvailable) return;
    const tail = new Uint8Array(10_000);
    const start = data.length - 2000;
    expect(await readRangeDirect(path, start, tail)).toBe(2000);
    expect(Buffer.compare(tail.subarray(0, 2000), data.subarray(start))).toBe(0);
  });

  it('the local store: an uncached object reads back the same, uncached or not, and ranges past its end are cut as plain ones', async () => {
    const store = new LocalStore(fresh());
    const parts = [pattern(5000, 8), wasmView(SECTOR * 64, 0).fill(9), pattern(123, 10)];
    const want = concat(parts);
    await store.putStream('cache/shard.bin', chunks(parts), { uncached: true });
    expect(await store.get('cache/shard.bin')).toEqual(want);
    for (const [a, b] of [[0, want.length], [4096, 4096 + SECTOR * 64], [5000, 5001], [100, 999_999]] as const) {
      const plain = await store.getRange('cache/shard.bin', a, b);
      const into = wasmView(b - a, 0);
      const direct = await store.getRange('cache/shard.bin', a, b, into, { uncached: true });
      expect(direct).toEqual(plain);
      expect(direct).toEqual(want.subarray(a, Math.min(b, want.length)));
    }
  });
});
