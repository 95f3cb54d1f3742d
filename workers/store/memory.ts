/**
 * In-memory object store, for tests and the embedded runner's scratch.
 * Stores named `memory://name` are shared within the process (so the CLI
 * and a runner can hand one over by URL); bytes are copied in and out, so
 * a caller that reuses its buffer cannot change a stored object.
 */
import { createHash } from 'node:crypto';
import { NotFoundError } from '../../pipelines/errors.ts';
import type { ObjectInfo, ObjectStore, PutOptions } from '../../pipelines/ports.ts';
import { checkKey, checkPrefix, compareKeys } from '../../pipelines/storeKeys.ts';
import { checkRange, clipRange, collect, toBytes } from './bytes.ts';

interface Entry {
  readonly bytes: Uint8Array;
  readonly etag: string;
  readonly lastModified: Date;
  readonly contentType?: string;
}

const named = new Map<string, MemoryStore>();

export class MemoryStore implements ObjectStore {
  readonly location: string;
  private readonly objects = new Map<string, Entry>();

  constructor(name = 'scratch') {
    this.location = `memory://${name}/`;
  }

  /** The process-wide store called `name`, created on first use. */
  static named(name: string): MemoryStore {
    let s = named.get(name);
    if (!s) {
      s = new MemoryStore(name);
      named.set(name, s);
    }
    return s;
  }

  private entry(key: string): Entry {
    const e = this.objects.get(checkKey(key));
    if (!e) throw new NotFoundError(this.location + key);
    return e;
  }

  async get(key: string): Promise<Uint8Array> {
    return this.entry(key).bytes.slice();
  }

  async getRange(key: string, start: number, end: number, into?: Uint8Array): Promise<Uint8Array> {
    checkRange(this.location + key, start, end, into);
    const { bytes } = this.entry(key);
    if (start === end) return new Uint8Array(0);
    const [s, e] = clipRange(this.location + key, start, end, bytes.byteLength);
    if (!into) return bytes.slice(s, e);
    into.set(bytes.subarray(s, e));
    return into.subarray(0, e - s);
  }

  async *getStream(key: string): AsyncIterable<Uint8Array> {
    const { bytes } = this.entry(key);
    const chunk = 1 << 20;
    for (let at = 0; at < bytes.byteLength; at += chunk) yield bytes.slice(at, at + chunk);
  }

  async put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<void> {
    checkKey(key);
    this.set(key, toBytes(body).slice(), options);
  }

  async putStream(key: string, body: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<void> {
    checkKey(key);
    // Collected first: a stream that fails half way leaves no object.
    this.set(key, await collect(body), options);
  }

  private set(key: string, bytes: Uint8Array, options?: PutOptions): void {
    const etag = `"${createHash('md5').update(bytes).digest('hex')}"`;
    this.objects.set(key, {
      bytes,
      etag,
      lastModified: new Date(),
      ...(options?.contentType ? { contentType: options.contentType } : {}),
    });
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const e = this.objects.get(checkKey(key));
    return e ? { key, size: e.bytes.byteLength, etag: e.etag, lastModified: e.lastModified } : null;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort(compareKeys);
    for (const key of keys) {
      const e = this.objects.get(key);
      // Deleted while listing: skip, as S3 may.
      if (e) yield { key, size: e.bytes.byteLength, etag: e.etag, lastModified: e.lastModified };
    }
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(checkKey(key));
  }
}
