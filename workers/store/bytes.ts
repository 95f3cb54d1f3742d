/** Small byte helpers shared by the store adapters. */
import { concatBytes } from '../../pipelines/bytes.ts';
import { InputError } from '../../pipelines/errors.ts';

const encoder = new TextEncoder();

/** A Node system error's code (`ENOENT`, `EINVAL`...), if it has one. */
export function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** A string body is stored as its UTF-8 bytes. */
export function toBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === 'string' ? encoder.encode(body) : body;
}

export async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  return concatBytes(chunks);
}

/**
 * Checks a byte range `[start, end)` request; every adapter applies the same
 * rules so that they agree: integers, `0 <= start <= end`.
 */
export function checkRange(location: string, start: number, end: number, into?: Uint8Array): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new InputError(`byte range [${start}, ${end}) of ${location} is not a range (need integers 0 <= start <= end)`);
  }
  if (into && into.byteLength < end - start) {
    throw new RangeError(`byte range [${start}, ${end}) of ${location} does not fit the ${into.byteLength}-byte buffer given for it`);
  }
}

/**
 * The part of `[start, end)` inside an object of `size` bytes: a range that
 * runs past the end is cut short (as S3 does); one that starts past the end
 * (and is not empty) is an error (S3's 416).
 */
export function clipRange(location: string, start: number, end: number, size: number): [number, number] {
  if (start >= size && end > start) {
    throw new InputError(`byte range [${start}, ${end}) starts past the end of ${location} (${size} bytes)`);
  }
  return [start, Math.min(end, size)];
}

/** Presigned URLs: S3 allows at most 7 days. */
export function checkExpiry(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 604_800) {
    throw new InputError(`presign expiry ${seconds} s is out of range [1, 604800]`);
  }
}
