/**
 * Object store on a local folder: key `a/b/c.svg` is the file `<root>/a/b/c.svg`.
 *
 * Writes go to a hidden temp file beside the target and are renamed over
 * it, so a reader (or a writer killed half way) never sees half an object.
 * Leftover temp files (`.<name>.~partial-<hex>`) are invisible to get,
 * head and list. Not fsync'd: atomic against a killed process, not durable
 * against power loss.
 *
 * A folder cannot hold both a file `a` and files under `a/`, which S3
 * allows; such a put is an `InputError` naming both keys. Deleting the last
 * key under a folder removes the empty folders, as S3 has no folders.
 */
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rmdir, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError, NotFoundError } from '../../pipelines/errors.ts';
import type { ObjectInfo, ObjectStore, PutOptions, RangeOptions } from '../../pipelines/ports.ts';
import { openDirect, readAll, readDirect, writeFileDirect } from './direct.ts';
import { checkKey, checkPrefix, compareKeys } from '../../pipelines/storeKeys.ts';
import { checkRange, clipRange, errorCode, toBytes } from './bytes.ts';

const PARTIAL = '.~partial-';

/** Every adapter returns plain `Uint8Array`s (a Buffer compares unequal to one in tests and has other methods). */
function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export class LocalStore implements ObjectStore {
  readonly location: string;
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.location = pathToFileURL(this.root).href.replace(/\/?$/, '/');
  }

  private path(key: string): string {
    checkKey(key);
    if (key.includes(PARTIAL)) throw new InputError(`object key ${JSON.stringify(key)} contains "${PARTIAL}", reserved for temp files in ${this.location}`);
    return join(this.root, ...key.split('/'));
  }

  private missing(key: string, err: unknown): never {
    const c = errorCode(err);
    if (c === 'ENOENT' || c === 'ENOTDIR' || c === 'EISDIR') throw new NotFoundError(this.location + key);
    throw err;
  }

  async get(key: string): Promise<Uint8Array> {
    const p = this.path(key);
    try {
      return plain(await readFile(p));
    } catch (err) {
      return this.missing(key, err);
    }
  }

  async getRange(key: string, start: number, end: number, into?: Uint8Array, options?: RangeOptions): Promise<Uint8Array> {
    const p = this.path(key);
    checkRange(this.location + key, start, end, into);
    let handle: FileHandle;
    let direct = false;
    try {
      const d = options?.uncached ? await openDirect(p) : null;
      direct = d !== null;
      handle = d ?? (await open(p, 'r'));
    } catch (err) {
      return this.missing(key, err);
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new NotFoundError(this.location + key);
      if (start === end) return new Uint8Array(0);
      const [s, e] = clipRange(this.location + key, start, end, st.size);
      const out = into ? into.subarray(0, e - s) : new Uint8Array(e - s);
      if (direct) {
        const n = await readDirect(handle, s, out);
        if (n !== null) return n === out.byteLength ? out : out.subarray(0, n);
        // the device refuses direct transfers: plain reads on a plain handle
        await handle.close();
        handle = await open(p, 'r');
      }
      const got = await readAll(handle, out, out.byteLength, s);
      return got === out.byteLength ? out : out.subarray(0, got);
    } finally {
      await handle.close();
    }
  }

  async *getStream(key: string): AsyncIterable<Uint8Array> {
    const p = this.path(key);
    let handle;
    try {
      handle = await open(p, 'r');
      if (!(await handle.stat()).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    } catch (err) {
      await handle?.close();
      return this.missing(key, err);
    }
    // The stream owns the handle from here and closes it when done or destroyed.
    const stream = handle.createReadStream({ highWaterMark: 1 << 20 });
    for await (const chunk of stream as AsyncIterable<Buffer>) yield plain(chunk);
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const bytes = toBytes(body);
    await this.atomically(key, async (tmp) => {
      await writeFile(tmp, bytes, { flag: 'wx' });
    });
  }

  async putStream(key: string, body: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<void> {
    await this.atomically(key, async (tmp) => {
      if (options?.uncached) {
        await writeFileDirect(tmp, body);
        return;
      }
      const handle = await open(tmp, 'wx');
      try {
        for await (const chunk of body) {
          let at = 0;
          while (at < chunk.byteLength) {
            const { bytesWritten } = await handle.write(chunk, at, chunk.byteLength - at);
            at += bytesWritten;
          }
        }
      } finally {
        await handle.close();
      }
    });
  }

  /** Writes through `write(tmp)` to a temp file beside the target, then renames it over the target. */
  private async atomically(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const target = this.path(key);
    const dir = dirname(target);
    const tmp = join(dir, `.${target.slice(dir.length + 1)}${PARTIAL}${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      if (errorCode(err) === 'EEXIST' || errorCode(err) === 'ENOTDIR') {
        throw new InputError(`object key ${JSON.stringify(key)} needs a folder where ${this.location} holds a key that is a prefix of it`);
      }
      throw err;
    }
    try {
      await write(tmp);
      await rename(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      const c = errorCode(err);
      if (c === 'EISDIR' || c === 'ENOTEMPTY' || c === 'EEXIST') {
        throw new InputError(`object key ${JSON.stringify(key)} collides with keys under "${key}/" in ${this.location} (a folder cannot hold both)`);
      }
      if (c === 'ENAMETOOLONG') throw new InputError(`object key ${JSON.stringify(key)} has a name too long for the file system of ${this.location}`);
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const p = this.path(key);
    try {
      const s = await stat(p);
      return s.isFile() ? { key, size: s.size, lastModified: s.mtime } : null;
    } catch (err) {
      const c = errorCode(err);
      if (c === 'ENOENT' || c === 'ENOTDIR') return null;
      throw err;
    }
  }

  /**
   * Streams in key order without reading the whole tree: sorting each
   * folder's entries by `name` (files) and `name/` (folders) in UTF-8 byte
   * order gives the global key order, because every key under folder `d`
   * starts with `d/`.
   */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    const cut = prefix.lastIndexOf('/');
    const base = prefix.slice(0, cut + 1);
    yield* this.walk(base, prefix);
  }

  private async *walk(folderKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let entries: Dirent[];
    try {
      entries = await readdir(join(this.root, ...folderKey.split('/').filter(Boolean)), { withFileTypes: true });
    } catch (err) {
      const c = errorCode(err);
      if (c === 'ENOENT' || c === 'ENOTDIR') return;
      throw err;
    }
    const children: Array<{ key: string; folder: boolean }> = [];
    for (const d of entries) {
      if (d.name.includes(PARTIAL)) continue;
      let folder = d.isDirectory();
      if (!folder && !d.isFile()) {
        const s = await stat(join(this.root, folderKey, d.name)).catch(() => null);
        if (!s) continue;
        folder = s.isDirectory();
      }
      const key = folderKey + d.name + (folder ? '/' : '');
      // Keep what is under the prefix, and folders the prefix runs into.
      if (key.startsWith(prefix) || (folder && prefix.startsWith(key))) children.push({ key, folder });
    }
    children.sort((a, b) => compareKeys(a.key, b.key));
    for (const c of children) {
      if (c.folder) {
        yield* this.walk(c.key, prefix);
      } else {
        const s = await stat(join(this.root, ...c.key.split('/'))).catch(() => null);
        // Deleted between readdir and stat: skip, as S3 may.
        if (s?.isFile()) yield { key: c.key, size: s.size, lastModified: s.mtime };
      }
    }
  }

  async delete(key: string): Promise<void> {
    const p = this.path(key);
    try {
      await unlink(p);
    } catch (err) {
      const c = errorCode(err);
      if (c === 'ENOENT' || c === 'ENOTDIR' || c === 'EISDIR' || c === 'EPERM') return;
      throw err;
    }
    // Prune folders left empty, up to (not including) the root.
    let dir = dirname(p);
    while (dir.length > this.root.length && dir.startsWith(this.root)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
      dir = dirname(dir);
    }
  }
}
