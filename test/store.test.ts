/**
 * One conformance suite for every ObjectStore adapter: memory, a local
 * folder, and S3 (moto_server). Each test gets a fresh store.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, NotFoundError } from '../pipelines/errors.ts';
import type { ObjectInfo, ObjectStore } from '../pipelines/ports.ts';
import { openStore, S3Store, s3ConfigFromEnv } from '../workers/store/index.ts';
import { freshBucket, s3TestEnv } from './helpers/s3.ts';

const MiB = 1024 * 1024;

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function pattern(size: number, seed: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7 + (i >> 11)) & 0xff;
  return b;
}

async function* chunks(bytes: Uint8Array, size: number, failAfter?: number): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += size) {
    if (failAfter !== undefined && at >= failAfter) throw new Error('source failed on purpose');
    yield bytes.slice(at, at + size);
  }
}

async function pool<T>(items: readonly T[], width: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  }));
}

function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

interface Adapter {
  readonly name: string;
  make(): Promise<ObjectStore>;
}

const tmpRoots: string[] = [];
let bucket = '';
const run = randomBytes(3).toString('hex');
let n = 0;

const adapters: Adapter[] = [
  { name: 'memory', make: async () => openStore(`memory://conformance-${run}-${n++}`) },
  {
    name: 'local folder',
    make: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'neurox-store-'));
      tmpRoots.push(dir);
      return openStore(join(dir, 'root'));
    },
  },
  {
    name: 's3',
    // 5 MiB parts, so an 11 MiB stream is three parts.
    make: async () => new S3Store({ bucket, prefix: `runs/t${n++}`, config: s3ConfigFromEnv(s3TestEnv()), partSize: 5 * MiB }),
  },
];

beforeAll(async () => {
  bucket = await freshBucket('store-conformance');
});

afterAll(() => {
  for (const d of tmpRoots) rmSync(d, { recursive: true, force: true });
});

describe.each(adapters)('$name store', ({ name, make }) => {
  it('returns the bytes that were put; a string is stored as UTF-8', async () => {
    const store = await make();
    const bytes = pattern(1000, 1);
    await store.put('a/b/c.bin', bytes);
    expect(await store.get('a/b/c.bin')).toEqual(bytes);
    await store.put('text.txt', 'héllo 😀');
    expect(new TextDecoder().decode(await store.get('text.txt'))).toBe('héllo 😀');
    await store.put('empty', new Uint8Array(0));
    expect((await store.get('empty')).byteLength).toBe(0);
  });

  it('keeps its own copy: changing the buffer after put does not change the object', async () => {
    const store = await make();
    const bytes = pattern(64, 2);
    await store.put('k', bytes);
    bytes.fill(0);
    expect(await store.get('k')).toEqual(pattern(64, 2));
  });

  it('overwrites a key with new bytes', async () => {
    const store = await make();
    await store.put('k', 'first version, longer');
    await store.put('k', 'second');
    expect(new TextDecoder().decode(await store.get('k'))).toBe('second');
    expect((await store.head('k'))?.size).toBe(6);
  });

  it('head gives key and size, and null for a missing key', async () => {
    const store = await make();
    await store.put('dir/x', pattern(123, 3));
    const info = await store.head('dir/x');
    expect(info).toMatchObject({ key: 'dir/x', size: 123 });
    expect(await store.head('dir/y')).toBeNull();
    expect(await store.head('dir')).toBeNull();
  });

  it('get, getRange and getStream of a missing key throw NotFoundError naming the location and key', async () => {
    const store = await make();
    await store.put('there/x', 'x');
    const where = `${store.location}there/missing.bin`;
    await expect(store.get('there/missing.bin')).rejects.toThrow(NotFoundError);
    await expect(store.get('there/missing.bin')).rejects.toThrow(where);
    await expect(store.getRange('there/missing.bin', 0, 4)).rejects.toThrow(where);
    await expect(store.getRange('there/missing.bin', 0, 0)).rejects.toThrow(NotFoundError);
    await expect(all(store.getStream('there/missing.bin'))).rejects.toThrow(where);
    // A "folder" is not an object.
    await expect(store.get('there')).rejects.toThrow(NotFoundError);
    if (name === 's3') expect(where).toMatch(new RegExp(`^s3://${bucket}/runs/t\\d+/there/missing\\.bin$`));
  });

  it('getRange returns bytes [start, end), cut short at the end, and refuses a range past the end', async () => {
    const store = await make();
    const bytes = pattern(10_000, 4);
    await store.put('r.bin', bytes);
    expect(await store.getRange('r.bin', 0, 10)).toEqual(bytes.slice(0, 10));
    expect(await store.getRange('r.bin', 4096, 5000)).toEqual(bytes.slice(4096, 5000));
    expect(await store.getRange('r.bin', 9990, 20_000)).toEqual(bytes.slice(9990));
    expect((await store.getRange('r.bin', 50, 50)).byteLength).toBe(0);
    await expect(store.getRange('r.bin', 10_000, 10_001)).rejects.toThrow(InputError);
    await expect(store.getRange('r.bin', 10_000, 10_001)).rejects.toThrow('[10000, 10001)');
    await expect(store.getRange('r.bin', 5, 4)).rejects.toThrow(InputError);
    await expect(store.getRange('r.bin', -1, 4)).rejects.toThrow(InputError);
    await expect(store.getRange('r.bin', 0.5, 4)).rejects.toThrow(InputError);
  });

  it('getRange reads into a caller\'s buffer when given one, and refuses one too small', async () => {
    const store = await make();
    const bytes = pattern(3 * MiB + 5, 6);
    await store.put('into.bin', bytes);
    const into = new Uint8Array(2 * MiB + 10).fill(0xee);
    const got = await store.getRange('into.bin', MiB - 3, 3 * MiB - 1, into);
    expect(got.buffer).toBe(into.buffer);
    expect(got.byteOffset).toBe(0);
    expect(got).toEqual(bytes.slice(MiB - 3, 3 * MiB - 1));
    expect(into[2 * MiB + 2]).toBe(0xee); // nothing written past the range
    // cut short at the end of the object, into the same buffer again
    const tail = await store.getRange('into.bin', 3 * MiB, 4 * MiB, into);
    expect(tail.buffer).toBe(into.buffer);
    expect(tail).toEqual(bytes.slice(3 * MiB));
    await expect(store.getRange('into.bin', 0, 2 * MiB + 11, into)).rejects.toThrow('does not fit the 2097162-byte buffer');
  });

  it('lists the keys under a prefix in UTF-8 byte order, with sizes', async () => {
    const store = await make();
    // '-' and '.' sort before '/', 'a0' after it; U+FFFD sorts before an emoji in UTF-8 but after it in UTF-16.
    const keys = ['a/b', 'a-c', 'a.b', 'a/a/x', 'a0', 'b', 'é', '😀', '\uFFFD', 'a/b.svg', 'ab/c'];
    await Promise.all(keys.map((k, i) => store.put(k, 'x'.repeat(i + 1))));
    const listed = await all(store.list(''));
    expect(listed.map((o) => o.key)).toEqual([...keys].sort(byUtf8));
    expect(listed.find((o) => o.key === 'a/b.svg')?.size).toBe(keys.indexOf('a/b.svg') + 1);
    expect((await all(store.list('a/'))).map((o) => o.key)).toEqual(['a/a/x', 'a/b', 'a/b.svg']);
    expect((await all(store.list('a/b'))).map((o) => o.key)).toEqual(['a/b', 'a/b.svg']);
    expect((await all(store.list('a'))).map((o) => o.key)).toEqual(['a-c', 'a.b', 'a/a/x', 'a/b', 'a/b.svg', 'a0', 'ab/c']);
    expect(await all(store.list('nothing/'))).toEqual([]);
  });

  it('lists all of 1,005 keys in order (more than one S3 page of 1,000)', async () => {
    const store = await make();
    const keys = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(4, '0')}.svg`);
    await pool(keys, 16, (k) => store.put(k, k));
    const listed: ObjectInfo[] = await all(store.list('many/'));
    expect(listed.length).toBe(1005);
    expect(listed.map((o) => o.key)).toEqual(keys);
  });

  it('delete removes a key; deleting a missing key is not an error', async () => {
    const store = await make();
    await store.put('d/one', '1');
    await store.put('d/two', '2');
    await store.delete('d/one');
    expect(await store.head('d/one')).toBeNull();
    await expect(store.delete('d/one')).resolves.toBeUndefined();
    await expect(store.delete('never/was')).resolves.toBeUndefined();
    expect((await all(store.list(''))).map((o) => o.key)).toEqual(['d/two']);
    // With the last key under d/ gone, d can be a key itself (S3 has no folders).
    await store.delete('d/two');
    await store.put('d', 'now a key');
    expect((await all(store.list(''))).map((o) => o.key)).toEqual(['d']);
  });

  it('putStream stores an 11 MiB stream (multipart on S3) that get and getStream return intact', async () => {
    const store = await make();
    const bytes = pattern(11 * MiB, 5);
    await store.putStream('big/act.bin', chunks(bytes, 256 * 1024));
    const info = await store.head('big/act.bin');
    expect(info?.size).toBe(bytes.byteLength);
    if (name === 's3') expect(info?.etag).toMatch(/-3"?$/); // a multipart ETag names its part count
    expect(Buffer.compare(Buffer.from(await store.get('big/act.bin')), Buffer.from(bytes))).toBe(0);
    const parts = await all(store.getStream('big/act.bin'));
    expect(parts.length).toBeGreaterThan(1);
    expect(Buffer.compare(Buffer.concat(parts), Buffer.from(bytes))).toBe(0);
    expect(await store.getRange('big/act.bin', 7 * MiB - 3, 7 * MiB + 3)).toEqual(bytes.slice(7 * MiB - 3, 7 * MiB + 3));
  });

  it('putStream of a small stream stores it whole', async () => {
    const store = await make();
    await store.putStream('small', chunks(pattern(1000, 6), 100));
    expect(await store.get('small')).toEqual(pattern(1000, 6));
    await store.putStream('none', chunks(new Uint8Array(0), 100));
    expect((await store.head('none'))?.size).toBe(0);
  });

  it('a putStream whose source fails after 6 MiB leaves no object, and keeps the old one', async () => {
    const store = await make();
    await store.put('p/x.bin', 'old');
    const bytes = pattern(12 * MiB, 7);
    await expect(store.putStream('p/x.bin', chunks(bytes, MiB, 6 * MiB))).rejects.toThrow('source failed on purpose');
    await expect(store.putStream('p/y.bin', chunks(bytes, MiB, 6 * MiB))).rejects.toThrow('source failed on purpose');
    expect(new TextDecoder().decode(await store.get('p/x.bin'))).toBe('old');
    expect(await store.head('p/y.bin')).toBeNull();
    expect((await all(store.list(''))).map((o) => o.key)).toEqual(['p/x.bin']);
  });

  it('refuses keys that would escape the root with an InputError naming the key', async () => {
    const store = await make();
    const bad = ['', '/etc/passwd', '../x', 'a/../../x', 'a/..', './a', 'a/./b', 'a//b', 'a/', 'a\\..\\b', 'a\u0000b', 'a\nb', 'C:/x', 'x'.repeat(1025)];
    for (const key of bad) {
      await expect(store.put(key, 'x'), key).rejects.toThrow(InputError);
      await expect(store.put(key, 'x'), key).rejects.toThrow(key === '' ? 'is empty' : JSON.stringify(key).slice(0, 40));
      await expect(store.get(key)).rejects.toThrow(InputError);
      await expect(store.head(key)).rejects.toThrow(InputError);
      await expect(store.delete(key)).rejects.toThrow(InputError);
      await expect(store.putStream(key, chunks(pattern(10, 1), 5))).rejects.toThrow(InputError);
    }
    for (const prefix of ['/', '../', 'a//', '..', 'a\\b']) {
      await expect(all(store.list(prefix)), prefix).rejects.toThrow(InputError);
    }
    expect(await all(store.list(''))).toEqual([]);
  });

  it('keeps escape attempts inside the root on disk too', async () => {
    if (name !== 'local folder') return;
    const dir = mkdtempSync(join(tmpdir(), 'neurox-escape-'));
    tmpRoots.push(dir);
    const store = openStore(join(dir, 'root'));
    await store.put('inside', 'ok');
    for (const key of ['../outside', '../../outside', '/tmp/outside-neurox']) await store.put(key, 'x').catch(() => undefined);
    expect(readdirSync(dir)).toEqual(['root']);
    expect(readdirSync(join(dir, 'root'))).toEqual(['inside']);
  });

  it('presigns a GET URL that plain fetch() reads without credentials, where supported', async () => {
    const store = await make();
    if (!store.presignGet) {
      expect(name).not.toBe('s3');
      return;
    }
    await store.put('share/n42.svg', '<svg xmlns="http://www.w3.org/2000/svg"/>', { contentType: 'image/svg+xml' });
    const url = await store.presignGet('share/n42.svg', 600);
    expect(url).toContain('X-Amz-Expires=600');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/svg+xml');
    expect(await res.text()).toBe('<svg xmlns="http://www.w3.org/2000/svg"/>');
    await expect(store.presignGet('share/n42.svg', 0)).rejects.toThrow(InputError);
    await expect(store.presignGet('share/n42.svg', 604_801)).rejects.toThrow('604801');
  });
});
