/**
 * Object store on S3 or an S3-compatible server (MinIO, moto): every key is
 * stored under `s3://bucket/prefix/`.
 *
 * Transient failures (5xx, timeouts, dropped connections, throttling) are
 * retried by the SDK's standard retry strategy (exponential backoff with
 * jitter, `maxAttempts` tries in all); other 4xx are not retried. Streamed
 * puts go through multipart upload (lib-storage), which aborts the upload
 * when the source fails, so no half object appears.
 */
import { Readable } from 'node:stream';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { InputError, NotFoundError } from '../../pipelines/errors.ts';
import type { ObjectInfo, ObjectStore, PutOptions } from '../../pipelines/ports.ts';
import { checkKey, checkPrefix } from '../../pipelines/storeKeys.ts';
import { checkExpiry, checkRange, toBytes } from './bytes.ts';

export const MIN_PART_SIZE = 5 * 1024 * 1024;

interface Sdk {
  readonly s3: typeof import('@aws-sdk/client-s3');
  readonly Upload: typeof import('@aws-sdk/lib-storage').Upload;
  readonly getSignedUrl: typeof import('@aws-sdk/s3-request-presigner').getSignedUrl;
}
let sdkLoad: Promise<Sdk> | undefined;

/**
 * The AWS SDK, loaded on a store's first request: importing it takes about
 * 130 ms of CPU, which every process and stage thread paid at start, S3 or not.
 */
function loadSdk(): Promise<Sdk> {
  sdkLoad ??= Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage'), import('@aws-sdk/s3-request-presigner')]).then(([s3, storage, presigner]) => ({
    s3,
    Upload: storage.Upload,
    getSignedUrl: presigner.getSignedUrl,
  }));
  return sdkLoad;
}

export interface S3StoreOptions {
  readonly bucket: string;
  /** Root of this store inside the bucket, without leading or trailing `/` (`''` = the whole bucket). */
  readonly prefix?: string;
  /** Used as is when given (the store does not destroy it); otherwise built from `config`. */
  readonly client?: S3Client;
  readonly config?: S3ClientConfig;
  /** Multipart part size in bytes, at least 5 MiB (default 8 MiB). */
  readonly partSize?: number;
  /** Parts uploaded at once; memory held is about `queueSize * partSize` (default 4). */
  readonly queueSize?: number;
  /** Keys per list request, at most 1000 (S3's maximum and default). */
  readonly listPageSize?: number;
}

/** S3 bucket naming rules (the common subset every S3 server accepts). */
export function checkBucket(bucket: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
    throw new InputError(`bucket name ${JSON.stringify(bucket)} is not valid (3-63 of a-z 0-9 . -, starting and ending with a letter or digit)`);
  }
  return bucket;
}

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function errName(err: unknown): string | undefined {
  return (err as { name?: string } | null)?.name;
}

export class S3Store implements ObjectStore {
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  private readonly config: S3ClientConfig | undefined;
  private made: S3Client | undefined;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly listPageSize: number;
  private readonly ownsClient: boolean;

  constructor(options: S3StoreOptions) {
    this.bucket = checkBucket(options.bucket);
    const prefix = options.prefix ?? '';
    if (prefix !== '') checkKey(prefix);
    this.prefix = prefix;
    this.location = `s3://${this.bucket}/${prefix === '' ? '' : prefix + '/'}`;
    this.partSize = options.partSize ?? 8 * 1024 * 1024;
    if (!Number.isInteger(this.partSize) || this.partSize < MIN_PART_SIZE) {
      throw new InputError(`S3 part size ${this.partSize} is below S3's minimum of ${MIN_PART_SIZE} bytes`);
    }
    this.queueSize = options.queueSize ?? 4;
    if (!Number.isInteger(this.queueSize) || this.queueSize < 1) throw new InputError(`S3 upload queue size ${this.queueSize} must be a positive integer`);
    this.listPageSize = options.listPageSize ?? 1000;
    if (!Number.isInteger(this.listPageSize) || this.listPageSize < 1 || this.listPageSize > 1000) {
      throw new InputError(`S3 list page size ${this.listPageSize} is out of range [1, 1000]`);
    }
    this.ownsClient = !options.client;
    this.made = options.client;
    this.config = options.config;
  }

  /** The SDK and the client: the one given, or one made from `config` on first use. */
  private async sdk(): Promise<Sdk & { readonly client: S3Client }> {
    const sdk = await loadSdk();
    this.made ??= new sdk.s3.S3Client({ retryMode: 'standard', maxAttempts: 5, ...this.config });
    return { ...sdk, client: this.made };
  }

  /** The S3 client this store sends its requests with. */
  async client(): Promise<S3Client> {
    return (await this.sdk()).client;
  }

  private full(key: string): string {
    checkKey(key);
    return this.prefix === '' ? key : `${this.prefix}/${key}`;
  }

  /** Translates the errors that are about the request, not the network. */
  private fail(key: string, err: unknown): never {
    const s = status(err);
    const name = errName(err);
    if (name === 'NoSuchBucket') throw new NotFoundError(`s3://${this.bucket}`, `bucket not found: s3://${this.bucket}`);
    if (s === 404 || name === 'NoSuchKey' || name === 'NotFound') throw new NotFoundError(this.location + key);
    throw err;
  }

  async get(key: string): Promise<Uint8Array> {
    const Key = this.full(key);
    const { s3, client } = await this.sdk();
    try {
      const out = await client.send(new s3.GetObjectCommand({ Bucket: this.bucket, Key }));
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
    } catch (err) {
      return this.fail(key, err);
    }
  }

  async getRange(key: string, start: number, end: number, into?: Uint8Array): Promise<Uint8Array> {
    const Key = this.full(key);
    checkRange(this.location + key, start, end, into);
    if (start === end) {
      // S3 has no empty range; still report a missing key like the other stores.
      if (!(await this.head(key))) throw new NotFoundError(this.location + key);
      return new Uint8Array(0);
    }
    const { s3, client } = await this.sdk();
    try {
      const out = await client.send(new s3.GetObjectCommand({ Bucket: this.bucket, Key, Range: `bytes=${start}-${end - 1}` }));
      if (!out.Body) return new Uint8Array(0);
      if (!into) return await out.Body.transformToByteArray();
      if (!(out.Body instanceof Readable)) throw new Error(`S3 GetObject of ${this.location + key} returned a body that is not a Node stream`);
      let at = 0;
      for await (const chunk of out.Body as AsyncIterable<Uint8Array>) {
        if (at + chunk.byteLength > end - start) throw new Error(`S3 GetObject of ${this.location + key} bytes [${start}, ${end}) returned more than ${end - start} bytes`);
        into.set(chunk, at);
        at += chunk.byteLength;
      }
      return into.subarray(0, at);
    } catch (err) {
      if (status(err) === 416 || errName(err) === 'InvalidRange') {
        throw new InputError(`byte range [${start}, ${end}) starts past the end of ${this.location + key}`);
      }
      return this.fail(key, err);
    }
  }

  async *getStream(key: string): AsyncIterable<Uint8Array> {
    const Key = this.full(key);
    const { s3, client } = await this.sdk();
    let body;
    try {
      body = (await client.send(new s3.GetObjectCommand({ Bucket: this.bucket, Key }))).Body;
    } catch (err) {
      return this.fail(key, err);
    }
    if (!body) return;
    if (!(body instanceof Readable)) throw new Error(`S3 GetObject of ${this.location + key} returned a body that is not a Node stream`);
    for await (const chunk of body as AsyncIterable<Uint8Array>) yield chunk;
  }

  /** A write can only be missing its bucket. */
  private failWrite(err: unknown): never {
    if (errName(err) === 'NoSuchBucket') throw new NotFoundError(`s3://${this.bucket}`, `bucket not found: s3://${this.bucket}`);
    throw err;
  }

  async put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<void> {
    const Key = this.full(key);
    const { s3, client } = await this.sdk();
    try {
      await client.send(new s3.PutObjectCommand({
        Bucket: this.bucket,
        Key,
        Body: toBytes(body),
        ...(options?.contentType ? { ContentType: options.contentType } : {}),
      }));
    } catch (err) {
      this.failWrite(err);
    }
  }

  async putStream(key: string, body: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<void> {
    const Key = this.full(key);
    const { Upload, client } = await this.sdk();
    const upload = new Upload({
      client,
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
      params: {
        Bucket: this.bucket,
        Key,
        Body: Readable.from(body, { objectMode: false }),
        ...(options?.contentType ? { ContentType: options.contentType } : {}),
      },
    });
    try {
      await upload.done();
    } catch (err) {
      this.failWrite(err);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const Key = this.full(key);
    const { s3, client } = await this.sdk();
    try {
      const out = await client.send(new s3.HeadObjectCommand({ Bucket: this.bucket, Key }));
      return {
        key,
        size: out.ContentLength ?? 0,
        ...(out.ETag ? { etag: out.ETag } : {}),
        ...(out.LastModified ? { lastModified: out.LastModified } : {}),
      };
    } catch (err) {
      if (status(err) === 404 && errName(err) !== 'NoSuchBucket') return null;
      return this.fail(key, err);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    const root = this.prefix === '' ? '' : this.prefix + '/';
    const { s3, client } = await this.sdk();
    let token: string | undefined;
    do {
      let out;
      try {
        out = await client.send(new s3.ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: root + prefix,
          MaxKeys: this.listPageSize,
          ...(token ? { ContinuationToken: token } : {}),
        }));
      } catch (err) {
        return this.fail(prefix, err);
      }
      for (const o of out.Contents ?? []) {
        if (!o.Key) continue;
        yield {
          key: o.Key.slice(root.length),
          size: o.Size ?? 0,
          ...(o.ETag ? { etag: o.ETag } : {}),
          ...(o.LastModified ? { lastModified: o.LastModified } : {}),
        };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    const Key = this.full(key);
    const { s3, client } = await this.sdk();
    try {
      await client.send(new s3.DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (err) {
      // Deleting a missing key is not an error (some servers answer 404).
      if (status(err) === 404 && errName(err) !== 'NoSuchBucket') return;
      throw err;
    }
  }

  async presignGet(key: string, expiresInSeconds: number): Promise<string> {
    const Key = this.full(key);
    checkExpiry(expiresInSeconds);
    const { s3, client, getSignedUrl } = await this.sdk();
    return await getSignedUrl(client, new s3.GetObjectCommand({ Bucket: this.bucket, Key }), { expiresIn: expiresInSeconds });
  }

  /** Releases the client's sockets, when this store made the client. */
  close(): void {
    if (this.ownsClient) this.made?.destroy();
  }
}
