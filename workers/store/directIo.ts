/**
 * Direct I/O (O_DIRECT) for the local folder store's big objects: the
 * activation cache is written once and read back one neuron group at a time,
 * and at corpus scale it is larger than memory, so it does not belong in the
 * page cache. Writing it through the page cache also costs CPU that direct
 * I/O does not: on this project's firecracker VMs every fresh page-cache page
 * is a host page fault, and writing 400 MB of new files took 1.0-1.1 s of
 * kernel time against 0.25 s of (CPU-free) I/O wait with O_DIRECT
 * (BENCHMARKS.md, "Pipeline").
 *
 * O_DIRECT wants the buffer address, the file offset and the length aligned
 * to the device's logical block size; 4096 covers every common device. Node
 * has no aligned allocation, but a WebAssembly memory starts on a page
 * boundary: the staging buffers below are WebAssembly memories, reused (first
 * touches are the cost being avoided). Writes go through a staging buffer,
 * the last block padded with zeros and the file truncated to its length;
 * reads cover the aligned superset of the range and copy the range out.
 *
 * Linux only (elsewhere `fs.constants.O_DIRECT` is undefined); a file system
 * that refuses the flag (EINVAL at open, e.g. some FUSE mounts) turns it off
 * for that store, which then reads and writes as before. NEUROX_DIRECT_IO=off
 * turns it off everywhere.
 */
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** Alignment of buffers, offsets and lengths of direct reads and writes. */
export const DIRECT_ALIGN = 4096;
/** Ranges at least this long are read directly; shorter ones (headers, token sections) through the page cache. */
export const DIRECT_MIN_READ = 1 << 20;
/** Bytes of one staging buffer: writes and reads go through it in pieces of this size. */
export const DIRECT_PIECE = 8 << 20;

/** The O_DIRECT open flag, or null where it is unavailable or turned off. */
export function directFlag(env: NodeJS.ProcessEnv = process.env): number | null {
  const setting = (env.NEUROX_DIRECT_IO ?? '').trim().toLowerCase();
  if (setting === 'off' || setting === '0' || setting === 'false') return null;
  const flag = (constants as Record<string, number | undefined>).O_DIRECT;
  return typeof flag === 'number' && flag !== 0 ? flag : null;
}

const WASM_PAGE = 65536;
// The project's lib settings carry no WebAssembly typings: the one constructor used here.
const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { readonly buffer: ArrayBuffer } } }).WebAssembly;
const spares: Uint8Array[] = [];
const MAX_SPARES = 4;

/** A DIRECT_PIECE-byte buffer whose address is page aligned (a WebAssembly memory). */
function takeBuffer(): Uint8Array {
  return spares.pop() ?? new Uint8Array(new Memory({ initial: DIRECT_PIECE / WASM_PAGE }).buffer);
}

function giveBuffer(b: Uint8Array): void {
  if (spares.length < MAX_SPARES) spares.push(b);
}

const alignDown = (n: number): number => n - (n % DIRECT_ALIGN);
const alignUp = (n: number): number => Math.ceil(n / DIRECT_ALIGN) * DIRECT_ALIGN;

async function writeAt(handle: FileHandle, buf: Uint8Array, length: number, position: number): Promise<void> {
  let at = 0;
  while (at < length) {
    const { bytesWritten } = await handle.write(buf, at, length - at, position + at);
    if (bytesWritten <= 0) throw new Error(`direct write made no progress at byte ${position + at}`);
    at += bytesWritten;
  }
}

/**
 * Writes `body` to `handle` (opened with O_DIRECT, empty) from its start and
 * truncates the file to the bytes given. Two staging buffers: one fills
 * while the other is written.
 */
export async function writeDirect(handle: FileHandle, body: AsyncIterable<Uint8Array>): Promise<number> {
  const bufs = [takeBuffer(), takeBuffer()];
  let cur = 0;
  let fill = 0;
  let position = 0;
  let pending: Promise<void> = Promise.resolve();
  try {
    const flush = async (length: number): Promise<void> => {
      const buf = bufs[cur]!;
      const at = position;
      await pending; // the other buffer's write: one write in flight
      pending = writeAt(handle, buf, alignUp(length), at);
      position += length;
      cur ^= 1;
      fill = 0;
    };
    for await (const chunk of body) {
      let at = 0;
      while (at < chunk.byteLength) {
        const n = Math.min(chunk.byteLength - at, DIRECT_PIECE - fill);
        bufs[cur]!.set(chunk.subarray(at, at + n), fill);
        fill += n;
        at += n;
        if (fill === DIRECT_PIECE) await flush(DIRECT_PIECE);
      }
    }
    if (fill > 0) {
      bufs[cur]!.fill(0, fill, alignUp(fill));
      await flush(fill);
    }
    await pending;
    await handle.truncate(position);
    return position;
  } finally {
    await pending.catch(() => undefined);
    for (const b of bufs) giveBuffer(b);
  }
}

/**
 * Reads `[start, end)` of `handle` (opened with O_DIRECT; the range already
 * clipped to the file) into `out` (`end - start` bytes): the aligned pieces
 * that cover it are read into a staging buffer and the range copied out.
 * Returns the bytes read (fewer only when the file ends first).
 */
export async function readDirect(handle: FileHandle, start: number, end: number, out: Uint8Array): Promise<number> {
  const buf = takeBuffer();
  try {
    let copied = 0;
    for (let piece = alignDown(start); piece < end; piece += DIRECT_PIECE) {
      const want = Math.min(DIRECT_PIECE, alignUp(end) - piece);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await handle.read(buf, got, want - got, piece + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      const from = Math.max(start, piece) - piece;
      const to = Math.min(end - piece, got);
      if (to <= from) break;
      out.set(buf.subarray(from, to), copied);
      copied += to - from;
      if (got < want) break;
    }
    return copied;
  } finally {
    giveBuffer(buf);
  }
}

/** True for the error a file system gives when it refuses O_DIRECT. */
export function refusesDirect(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'EINVAL';
}
