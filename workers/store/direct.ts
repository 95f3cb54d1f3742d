/**
 * Direct I/O (O_DIRECT) for the local folder store's bulk objects: the
 * activation cache, written once and read back once, by ranges, in pass 2.
 * Through the OS page cache every MB of it costs the kernel fresh
 * page-cache pages and a copy: on this project's VMs a fresh page costs
 * 3-7 ms per MB, the page-cache writes of a 10x bench run took 8-10 s of
 * system CPU beside the model, and reading a cache written past the page
 * cache back through it doubled pass 2 (BENCHMARKS.md, Pipeline). Direct
 * transfers move the bytes between the disk and the process's own memory.
 *
 * O_DIRECT wants the memory address, the file offset and the length of
 * each transfer aligned to the device's logical block size (`SECTOR`).
 * Aligned chunks go from and to where they lie (the shard encoder's groups
 * and pass 2's rows: WebAssembly memory, which V8 maps page-aligned, and
 * groups on sector boundaries in the file); the rest goes through reused
 * staging memory, also WebAssembly memory. A file system without O_DIRECT
 * (tmpfs before Linux 6.6, some FUSE ones) refuses the open or the first
 * transfer with EINVAL, and so does a device that wants more alignment: the
 * writer and reader then fall back to staging or to plain I/O, so callers
 * never see the difference but in speed.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { errorCode } from './bytes.ts';

/**
 * O_DIRECT's alignment for transfers from and into the caller's memory: the
 * logical block size of common disks. Where a device wants more, the
 * transfer fails with EINVAL and goes through staging memory instead.
 */
export const SECTOR = 512;
/** Bytes per staging buffer (and per direct transfer). */
export const STAGING_BYTES = 4 << 20;

const O_DIRECT = (constants as Record<string, number>).O_DIRECT ?? 0;

// Staging buffers of this thread, reused: fresh pages are what direct I/O saves.
const free: Uint8Array[] = [];

// The project's lib settings carry no WebAssembly typings.
const WasmMemory = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly.Memory;

function takeStaging(): Uint8Array {
  return free.pop() ?? new Uint8Array(new WasmMemory({ initial: STAGING_BYTES / 65536 }).buffer);
}

function giveStaging(b: Uint8Array): void {
  free.push(b);
}

/**
 * Whether to use direct I/O: on Linux (elsewhere the callers use plain I/O)
 * unless `NEUROX_DIRECT_IO=0` asks for the page cache.
 */
export const directIoAvailable = O_DIRECT !== 0 && process.platform === 'linux' && process.env.NEUROX_DIRECT_IO !== '0';

/**
 * Writes `body` to a new file `path` (created exclusively, as `open(path,
 * 'wx')`) with direct I/O, falling back to plain writes where the file
 * system refuses it. A chunk that starts on a sector both in the file and in
 * its memory (the shard encoder's groups in WebAssembly memory: shard.ts
 * aligns them) goes to the disk from where it lies; the rest is gathered in
 * staging memory. Says which way the bytes went.
 */
export async function writeFileDirect(path: string, body: AsyncIterable<Uint8Array>): Promise<'direct' | 'plain'> {
  let handle: FileHandle;
  let direct = directIoAvailable;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (direct ? O_DIRECT : 0), 0o666);
  } catch (err) {
    if (!direct || errorCode(err) !== 'EINVAL') throw err;
    direct = false;
    handle = await open(path, 'wx');
  }
  const staging = [takeStaging(), takeStaging()];
  let plain: FileHandle | null = direct ? null : handle;
  try {
    // staging[cur][0, fill) holds the file's bytes from `pos`; with direct I/O `pos` stays on a sector
    let pos = 0;
    let fill = 0;
    let cur = 0;
    let inFlight: Promise<void> = Promise.resolve();
    // Writes b[0, n) at `at`: direct (padded with zeros to a sector), else through `plain`.
    const write = async (b: Uint8Array, n: number, at: number): Promise<void> => {
      let done = 0;
      if (plain === null) {
        const padded = Math.ceil(n / SECTOR) * SECTOR;
        b.fill(0, n, padded);
        done = await writeDirect(handle, b, padded, at);
        if (done >= n) return;
        // the file system takes O_DIRECT at open but not these transfers: plain writes from here
        plain = await open(path, 'r+');
      }
      await writeAll(plain, b.subarray(done), n - done, at + done);
    };
    const flush = async (): Promise<void> => {
      await inFlight;
      inFlight = fill > 0 ? write(staging[cur]!, fill, pos) : Promise.resolve();
      inFlight.catch(() => {}); // awaited before the next write or at the end; a failure is thrown there
      pos += fill;
      fill = 0;
      cur ^= 1;
    };
    for await (const chunk of body) {
      let from = 0;
      const whole = chunk.byteLength - (chunk.byteLength % SECTOR);
      if (plain === null && whole > 0 && chunk.byteOffset % SECTOR === 0 && (pos + fill) % SECTOR === 0) {
        await flush();
        await inFlight;
        // what the device does not take from there (memory off its alignment) goes through staging
        from = await writeDirect(handle, chunk, whole, pos);
        from -= from % SECTOR;
        pos += from;
      }
      while (from < chunk.byteLength) {
        const n = Math.min(STAGING_BYTES - fill, chunk.byteLength - from);
        staging[cur]!.set(chunk.subarray(from, from + n), fill);
        fill += n;
        from += n;
        if (fill === STAGING_BYTES) await flush();
      }
    }
    const end = pos + fill;
    await flush();
    await inFlight;
    // the last direct transfer was padded to a sector: cut the file to its bytes
    await handle.truncate(end);
    return plain === null ? 'direct' : 'plain';
  } finally {
    staging.forEach(giveStaging);
    if (plain !== null && plain !== handle) await plain.close();
    await handle.close();
  }
}

async function writeAll(h: FileHandle, b: Uint8Array, n: number, at: number): Promise<void> {
  let done = 0;
  while (done < n) {
    const { bytesWritten } = await h.write(b, done, n - done, at + done);
    if (bytesWritten === 0) throw new Error(`write of ${n - done} bytes at ${at + done} wrote nothing`);
    done += bytesWritten;
  }
}

/** As much of b[0, n) at `at` as a direct-I/O handle takes: the bytes written (short where the device refuses the memory: EINVAL, or 0 bytes). */
async function writeDirect(h: FileHandle, b: Uint8Array, n: number, at: number): Promise<number> {
  let done = 0;
  while (done < n) {
    let bytesWritten: number;
    try {
      ({ bytesWritten } = await h.write(b, done, n - done, at + done));
    } catch (err) {
      if (errorCode(err) === 'EINVAL') break;
      throw err;
    }
    if (bytesWritten === 0) break;
    done += bytesWritten;
  }
  return done;
}

/**
 * The file `path` opened for direct reads, or null where there is no direct
 * I/O (off, or refused by the file system: the caller then reads plainly).
 */
export async function openDirect(path: string): Promise<FileHandle | null> {
  if (!directIoAvailable) return null;
  try {
    return await open(path, constants.O_RDONLY | O_DIRECT);
  } catch (err) {
    if (errorCode(err) === 'EINVAL') return null;
    throw err;
  }
}

/**
 * Reads bytes `[start, start + out.byteLength)` of a file opened with
 * `openDirect` into `out`. Where the offset, `out`'s place in its buffer and
 * the length are sector-aligned (shard groups are: shard.ts aligns them and
 * pass 2's rows are a multiple of 512 bytes), the disk writes straight into
 * `out`; otherwise whole aligned blocks go to staging memory and the asked
 * bytes are copied out. Returns the bytes read (fewer at the end of the
 * file), or null where the device refuses direct transfers (the caller then
 * reads plainly).
 */
export async function readDirect(handle: FileHandle, start: number, out: Uint8Array): Promise<number | null> {
  let got = 0;
  const inPlace = start % SECTOR === 0 && out.byteOffset % SECTOR === 0 ? out.byteLength - (out.byteLength % SECTOR) : 0;
  if (inPlace > 0) {
    try {
      got = await readAll(handle, out, inPlace, start);
    } catch (err) {
      if (errorCode(err) !== 'EINVAL') throw err;
      got = 0;
    }
    // Short: the end of the file, or memory whose address the device refuses
    // (EINVAL, or on some kernels 0 bytes): staging reads the rest, or finds the end.
  }
  const staged = await readStaged(handle, start + got, out.subarray(got));
  if (staged !== null) return got + staged;
  if (got > 0) throw new Error(`direct reads refused after ${got} bytes were read so`);
  return null;
}

/** Reads up to `n` bytes at `at` into b[0, n), on any handle: the bytes read (fewer at the end of the file). */
export async function readAll(h: FileHandle, b: Uint8Array, n: number, at: number): Promise<number> {
  let got = 0;
  while (got < n) {
    const { bytesRead } = await h.read(b, got, n - got, at + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

// `out.byteLength` bytes from `start` through staging memory: the bytes read, or null if refused at once.
async function readStaged(handle: FileHandle, start: number, out: Uint8Array): Promise<number | null> {
  if (out.byteLength === 0) return 0;
  const b = takeStaging();
  try {
    let got = 0;
    while (got < out.byteLength) {
      const at = start + got;
      const base = at - (at % SECTOR);
      const skip = at - base;
      const want = Math.min(STAGING_BYTES, Math.ceil((skip + out.byteLength - got) / SECTOR) * SECTOR);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(b, 0, want, base));
      } catch (err) {
        if (got === 0 && errorCode(err) === 'EINVAL') return null;
        throw err;
      }
      const n = Math.min(bytesRead - skip, out.byteLength - got);
      if (n <= 0) break;
      out.set(b.subarray(skip, skip + n), got);
      got += n;
      if (bytesRead < want) break;
    }
    return got;
  } finally {
    giveStaging(b);
  }
}
