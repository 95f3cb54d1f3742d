/** openUpload: push-style writes into a store's putStream, with backpressure and clean aborts. */
import { describe, expect, it } from 'vitest';
import type { ObjectStore } from '../pipelines/ports.ts';
import { MemoryStore } from '../workers/store/index.ts';
import { openUpload } from '../workers/store/upload.ts';

/** A memory store whose putStream pulls one chunk each time `release()` is called. */
function gatedStore(): { store: ObjectStore; release: () => void; taken: () => number } {
  const inner = new MemoryStore('gated');
  let taken = 0;
  let open: (() => void) | null = null;
  let credits = 0;
  const gate = async (): Promise<void> => {
    if (credits > 0) { credits--; return; }
    await new Promise<void>((r) => { open = r; });
  };
  const store: ObjectStore = Object.create(inner, {
    putStream: {
      value: async (key: string, body: AsyncIterable<Uint8Array>) => {
        async function* slow(): AsyncIterable<Uint8Array> {
          const it = body[Symbol.asyncIterator]();
          for (;;) {
            await gate();
            const r = await it.next();
            if (r.done) return;
            taken++;
            yield r.value;
          }
        }
        await inner.putStream(key, slow());
      },
    },
  }) as ObjectStore;
  return { store, release: () => { if (open) { const o = open; open = null; o(); } else credits++; }, taken: () => taken };
}

describe('openUpload', () => {
  it('write resolves only once the store has pulled the chunk (one chunk of backpressure)', async () => {
    const { store, release, taken } = gatedStore();
    const up = openUpload(store, 'x.bin');
    let done = false;
    const w = up.write(new Uint8Array([1, 2, 3])).then(() => { done = true; });
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    release();
    await w;
    expect(taken()).toBe(1);
    release();
    await up.write(new Uint8Array([4]));
    expect(await store.head('x.bin')).toBeNull();
    release(); // lets the store see the end of the stream
    await up.close();
    expect(await store.get('x.bin')).toEqual(new Uint8Array([1, 2, 3, 4]));
    expect(up.bytes).toBe(4);
  });

  it('abort leaves no object and fails later writes', async () => {
    const store = new MemoryStore('upload-abort');
    const up = openUpload(store, 'y.bin');
    await up.write(new Uint8Array(10));
    await up.abort(new Error('job cancelled'));
    expect(await store.head('y.bin')).toBeNull();
    await expect(up.write(new Uint8Array(1))).rejects.toThrow(/failed|aborted|cancelled/);
  });

  it('a store failure reaches the writer instead of hanging it', async () => {
    const failing = Object.create(new MemoryStore('upload-fail'), {
      putStream: { value: async (_k: string, body: AsyncIterable<Uint8Array>) => { for await (const _ of body) throw new Error('disk full'); } },
    }) as ObjectStore;
    const up = openUpload(failing, 'z.bin');
    // The first chunk is pulled (so its write resolves), then the store fails.
    await up.write(new Uint8Array(5));
    await expect(up.write(new Uint8Array(5))).rejects.toThrow('disk full');
    await expect(up.close()).rejects.toThrow('disk full');
  });
});
