/**
 * A writable object: push chunks as they are produced, and they stream to
 * `store.putStream` (multipart on S3, a temp file on the local folder).
 * `write` resolves once the store has taken the chunk, so a fast producer
 * never holds more than one chunk ahead of a slow store. Nothing appears at
 * the key before `close`; `abort` (or a failed store) leaves no object.
 */
import type { ObjectStore, PutOptions } from '../../pipelines/ports.ts';

export interface ObjectUpload {
  readonly key: string;
  /** Bytes written so far. */
  readonly bytes: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Ends the object and waits until it is stored. */
  close(): Promise<void>;
  /** Drops the object; resolves once the store has cleaned up. */
  abort(reason?: unknown): Promise<void>;
}

export function openUpload(store: ObjectStore, key: string, options?: PutOptions): ObjectUpload {
  const queue: Uint8Array[] = [];
  let ended = false;
  let failure: { reason: unknown } | null = null;
  let storeError: { reason: unknown } | null = null;
  let wakeConsumer: (() => void) | null = null;
  let wakeProducer: (() => void) | null = null;
  let bytes = 0;

  const wake = (): void => {
    wakeConsumer?.();
    wakeConsumer = null;
  };
  const wakeWriter = (): void => {
    wakeProducer?.();
    wakeProducer = null;
  };

  async function* source(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        // An abort wins over queued chunks: the store must see the failure, not more bytes.
        if (failure) throw failure.reason;
        const next = queue.shift();
        if (next) {
          if (queue.length === 0) wakeWriter();
          yield next;
          continue;
        }
        if (ended) return;
        await new Promise<void>((r) => { wakeConsumer = r; });
      }
    } finally {
      wakeWriter();
    }
  }

  const stored = store.putStream(key, source(), options).then(
    () => undefined,
    (reason: unknown) => {
      storeError = { reason };
      wakeWriter();
    },
  );

  function check(): void {
    if (storeError) throw storeError.reason;
    if (failure) throw new Error(`upload of ${key} was aborted`);
    if (ended) throw new Error(`upload of ${key} is already closed`);
  }

  return {
    key,
    get bytes() {
      return bytes;
    },
    async write(chunk: Uint8Array): Promise<void> {
      check();
      if (chunk.byteLength === 0) return;
      queue.push(chunk);
      bytes += chunk.byteLength;
      wake();
      while (queue.length > 0 && !storeError) await new Promise<void>((r) => { wakeProducer = r; });
      if (storeError) throw storeError.reason;
    },
    async close(): Promise<void> {
      check();
      ended = true;
      wake();
      await stored;
      if (storeError) throw storeError.reason;
    },
    async abort(reason?: unknown): Promise<void> {
      if (ended && !failure) {
        // Closing already: too late to drop the object.
        await stored;
        return;
      }
      failure = { reason: reason ?? new Error(`upload of ${key} was aborted`) };
      wake();
      await stored;
    },
  };
}
