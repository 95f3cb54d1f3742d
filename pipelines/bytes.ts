/** Byte-array helpers shared by the pure code and the store adapters. */

/** Concatenates chunks into one array (one copy); pass `total` when the sum of their lengths is known. */
export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  const out = new Uint8Array(total ?? chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Memory reused from one use to the next (a shard's encoded groups, a ranged
 * read). Fresh memory costs a page fault per 4 KiB on first touch: on the
 * firecracker VMs this project is measured on, 3-4 ms per MB, 90 times the
 * cost of writing it once mapped, so a shard's groups (50 MB on the MiniLM
 * bench) cost 150-190 ms in new buffers and 20-30 ms in reused ones, and
 * reading 400 MB in 4.6 MB ranges 230-390 ms against 50-60 ms. What is
 * carved from it stays valid until the next `reserve`.
 */
export class ReusableMemory {
  private buffer = new ArrayBuffer(0);

  /**
   * `backing`, when given, lends the memory instead (a WebAssembly memory
   * another stage reuses, wasmKernels.ts `passMemory`): its buffer of at
   * least the bytes asked, or null to use this object's own.
   */
  constructor(private readonly backing?: (bytes: number) => ArrayBuffer | null) {}

  /** At least `bytes` bytes; grows by a quarter more than asked, never shrinks. */
  reserve(bytes: number): ArrayBuffer {
    const lent = this.backing?.(bytes);
    if (lent) return lent;
    if (this.buffer.byteLength < bytes) this.buffer = new ArrayBuffer(Math.ceil((bytes * 1.25) / 8) * 8);
    return this.buffer;
  }

  /** The first `bytes` bytes, as a view. */
  bytes(bytes: number): Uint8Array {
    return new Uint8Array(this.reserve(bytes), 0, bytes);
  }
}
