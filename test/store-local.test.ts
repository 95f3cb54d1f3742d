/** What only the local-folder store has to get right: atomic writes on a real file system. */
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputError, NotFoundError } from '../pipelines/errors.ts';
import { tempDirs } from './helpers/tempDirs.ts';
import { LocalStore, openStore } from '../workers/store/index.ts';

const fresh = tempDirs('neurox-local-');

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('local folder store', () => {
  it('a writer killed half way through putStream leaves no object, only an invisible temp file', async () => {
    const root = fresh();
    const script = join(fresh(), 'writer.mts');
    const local = pathToFileURL(join(import.meta.dirname, '..', 'workers', 'store', 'local.ts')).href;
    writeFileSync(script, `
      import { LocalStore } from ${JSON.stringify(local)};
      const store = new LocalStore(${JSON.stringify(root)});
      await store.put('shard/0.bin', 'the old complete object');
      async function* body() {
        for (let i = 0; i < 4; i++) yield new Uint8Array(1 << 20).fill(i);
        process.stdout.write('halfway\\n');
        await new Promise(() => setInterval(() => {}, 1000));
      }
      await store.putStream('shard/0.bin', body());
    `);
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'], cwd: join(import.meta.dirname, '..') });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('halfway')) resolve(); });
      child.once('exit', (code) => reject(new Error(`writer exited (${code}) before halfway`)));
    });
    child.kill('SIGKILL');
    await exited;

    const store = new LocalStore(root);
    expect(new TextDecoder().decode(await store.get('shard/0.bin'))).toBe('the old complete object');
    expect((await all(store.list(''))).map((o) => o.key)).toEqual(['shard/0.bin']);
    // The half-written bytes exist, under a temp name nobody reads.
    const files = readdirSync(join(root, 'shard'));
    expect(files.length).toBe(2);
    expect(files.find((f) => f !== '0.bin')).toMatch(/^\.0\.bin\.~partial-[0-9a-f]+$/);
  });

  it('refuses keys that use the temp-file marker', async () => {
    const store = new LocalStore(fresh());
    await expect(store.put('a/.x.~partial-123', 'x')).rejects.toThrow(InputError);
  });

  it('refuses a key where a folder of other keys is, and a key under a key, naming the key', async () => {
    const store = new LocalStore(fresh());
    await store.put('a/b', 'x');
    await expect(store.put('a', 'y')).rejects.toThrow(/"a" collides with keys under "a\/"/);
    await expect(store.putStream('a', (async function* () { yield new Uint8Array(3); })())).rejects.toThrow(InputError);
    await expect(store.put('a/b/c', 'z')).rejects.toThrow(/"a\/b\/c" needs a folder/);
    expect((await all(store.list(''))).map((o) => o.key)).toEqual(['a/b']);
    expect(readdirSync(join(store.root, 'a'))).toEqual(['b']);
  });

  it('reads a range of a large file without reading the rest, and streams it in chunks', async () => {
    const store = new LocalStore(fresh());
    const bytes = new Uint8Array(3 << 20).map((_, i) => i % 251);
    await store.put('x.bin', bytes);
    expect(await store.getRange('x.bin', (2 << 20) + 5, (2 << 20) + 9)).toEqual(bytes.slice((2 << 20) + 5, (2 << 20) + 9));
    const parts = await all(store.getStream('x.bin'));
    expect(parts.length).toBe(3);
    expect(parts.every((p) => p.constructor === Uint8Array)).toBe(true);
  });

  it('opens from a plain relative path, a file:// URL, and names the folder in errors', async () => {
    const root = fresh();
    const a = openStore(pathToFileURL(root).href);
    const b = openStore(root);
    expect(a.location).toBe(pathToFileURL(root).href + '/');
    expect(b.location).toBe(a.location);
    await a.put('k', 'v');
    expect(new TextDecoder().decode(await b.get('k'))).toBe('v');
    await expect(b.get('nope')).rejects.toThrow(new NotFoundError(`${a.location}nope`).message);
  });
});
