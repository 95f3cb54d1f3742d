/**
 * The local folder store's direct I/O (O_DIRECT, workers/store/directIo.ts):
 * exact bytes whatever the sizes and offsets (alignment is the store's
 * business), and the page cache path when the file system refuses the flag.
 */
import { constants, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

// `open` as the store sees it: the real one, unless a test makes O_DIRECT opens fail as a file system that refuses it would.
const refuse = vi.hoisted(() => ({ direct: false, directOpens: 0 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof real.open = async (path, flags, mode) => {
    if (typeof flags === 'number' && (flags & constants.O_DIRECT) !== 0) {
      refuse.directOpens++;
      if (refuse.direct) throw Object.assign(new Error(`EINVAL: invalid argument, open '${String(path)}'`), { code: 'EINVAL' });
    }
    return await real.open(path, flags, mode);
  };
  return { ...real, open, default: { ...real, open } };
});

const { DIRECT_ALIGN, DIRECT_MIN_READ, DIRECT_PIECE, directFlag } = await import('../workers/store/directIo.ts');
const { LocalStore } = await import('../workers/store/local.ts');

const dirs: string[] = [];
function fresh(): string {
  const d = mkdtempSync(join(tmpdir(), 'neurox-direct-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Deterministic bytes, different at every offset modulo 251 and per seed. */
function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 12)) % 251;
  return b;
}

async function* chunked(b: Uint8Array, sizes: number[]): AsyncIterable<Uint8Array> {
  let at = 0;
  for (let i = 0; at < b.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, b.length - at);
    yield b.subarray(at, at + n);
    at += n;
  }
}

const linux = directFlag() !== null;

describe.skipIf(!linux)('local folder store, direct I/O', () => {
  it('writes and reads back exact bytes for sizes around the alignment and the staging piece, in odd chunks', async () => {
    refuse.direct = false;
    const root = fresh();
    const store = new LocalStore(root);
    expect(store.directIo).toBe(true);
    const sizes = [0, 1, DIRECT_ALIGN - 1, DIRECT_ALIGN, DIRECT_ALIGN + 1, DIRECT_PIECE, DIRECT_PIECE + 3, 2 * DIRECT_PIECE + DIRECT_ALIGN + 123];
    const before = refuse.directOpens;
    for (const [i, n] of sizes.entries()) {
      const want = bytes(n, i);
      await store.putStream(`obj/${i}.bin`, chunked(want, [1, 4093, 1 << 20, 7]));
      expect(statSync(join(root, 'obj', `${i}.bin`)).size, `size ${n}`).toBe(n); // truncated to the bytes given, no padding left
      expect(readFileSync(join(root, 'obj', `${i}.bin`)).equals(Buffer.from(want)), `size ${n}`).toBe(true);
    }
    expect(refuse.directOpens - before).toBe(sizes.length); // every write went direct
    expect(store.directIo).toBe(true);
  });

  it('reads big ranges at unaligned offsets direct, into a caller buffer or a new one, cut at the end of the object', async () => {
    refuse.direct = false;
    const store = new LocalStore(fresh());
    const n = 2 * DIRECT_PIECE + 5_000;
    const want = bytes(n, 9);
    await store.putStream('big.bin', chunked(want, [3 << 20]));
    const ranges: Array<[number, number]> = [[0, DIRECT_MIN_READ], [1, DIRECT_MIN_READ + 4_097], [DIRECT_ALIGN - 3, DIRECT_PIECE + 11], [DIRECT_PIECE - 1, n], [n - DIRECT_MIN_READ - 1, n + 10_000]];
    const before = refuse.directOpens;
    for (const [a, b] of ranges) {
      const got = await store.getRange('big.bin', a, b);
      expect(got.length, `[${a}, ${b})`).toBe(Math.min(b, n) - a);
      expect(Buffer.from(got).equals(Buffer.from(want.subarray(a, b))), `[${a}, ${b})`).toBe(true);
      const into = new Uint8Array(b - a + 100).fill(255);
      const viaInto = await store.getRange('big.bin', a, b, into);
      expect(viaInto.buffer).toBe(into.buffer);
      expect(Buffer.from(viaInto).equals(Buffer.from(want.subarray(a, b)))).toBe(true);
    }
    expect(refuse.directOpens - before).toBe(2 * ranges.length);
    // small ranges (headers) go through the page cache
    expect(await store.getRange('big.bin', 5, 21)).toEqual(want.subarray(5, 21));
    expect(refuse.directOpens - before).toBe(2 * ranges.length);
  });

  it('falls back to the page cache, with the same bytes, when the file system refuses O_DIRECT', async () => {
    refuse.direct = true;
    try {
      const store = new LocalStore(fresh());
      expect(store.directIo).toBe(true);
      const want = bytes(DIRECT_PIECE + 77, 3);
      await store.putStream('a.bin', chunked(want, [1 << 20]));
      expect(store.directIo).toBe(false); // refused once: off for this store
      expect(Buffer.from(await store.get('a.bin')).equals(Buffer.from(want))).toBe(true);
      expect(Buffer.from(await store.getRange('a.bin', 7, DIRECT_PIECE)).equals(Buffer.from(want.subarray(7, DIRECT_PIECE)))).toBe(true);
      // a store that never wrote learns it on its first big read
      const reader = new LocalStore(store.root);
      expect(Buffer.from(await reader.getRange('a.bin', 1, DIRECT_MIN_READ + 1)).equals(Buffer.from(want.subarray(1, DIRECT_MIN_READ + 1)))).toBe(true);
      expect(reader.directIo).toBe(false);
    } finally {
      refuse.direct = false;
    }
  });

  it('is off with NEUROX_DIRECT_IO=off or the directIo: false option', () => {
    expect(directFlag({ NEUROX_DIRECT_IO: 'off' })).toBeNull();
    expect(directFlag({ NEUROX_DIRECT_IO: '0' })).toBeNull();
    expect(directFlag({})).toBe(constants.O_DIRECT);
    expect(new LocalStore(fresh(), { directIo: false }).directIo).toBe(false);
  });
});
