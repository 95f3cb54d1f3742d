/**
 * The small binary layout shared by the partial results that shards store in
 * object storage (moments, type scores): a 4-byte ASCII magic, a uint32
 * version, then fixed sections, all little-endian. Sections are copied out
 * on read, so a decoded partial never aliases (or pins) the input buffer.
 *
 * Readers name what is wrong (`moments: truncated: section 'mean' needs 6144
 * bytes at offset 16, 100 left`) and throw InputError: a corrupt partial is
 * bad input, never retried.
 */
import { InputError } from './errors.ts';

// Typed-array sections are written in host byte order; every platform Node
// runs on in practice is little-endian, and the layout says little-endian.
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function requireLittleEndian(): void {
  if (!littleEndian) throw new Error('partial layouts are little-endian; this host is big-endian');
}

type Section = Float64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;

export class LayoutWriter {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = 0;

  constructor(byteLength: number, magic: string, version: number) {
    requireLittleEndian();
    this.bytes = new Uint8Array(byteLength);
    this.view = new DataView(this.bytes.buffer);
    for (let i = 0; i < 4; i++) this.bytes[i] = magic.charCodeAt(i);
    this.offset = 4;
    this.u32(version);
  }

  u32(value: number): void {
    this.view.setUint32(this.offset, value, true);
    this.offset += 4;
  }

  section(values: Section): void {
    this.bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), this.offset);
    this.offset += values.byteLength;
  }

  /** Zero bytes up to a multiple of `n` (keeps later wide sections aligned). */
  pad(n: number): void {
    this.offset = Math.ceil(this.offset / n) * n;
  }

  finish(): Uint8Array {
    if (this.offset !== this.bytes.length) {
      throw new Error(`layout writer: wrote ${this.offset} bytes into a buffer of ${this.bytes.length}`);
    }
    return this.bytes;
  }
}

export class LayoutReader {
  private readonly view: DataView;
  private offset = 0;

  /** Checks magic and version; `what` names the layout in errors. */
  constructor(private readonly bytes: Uint8Array, private readonly what: string, magic: string, version: number) {
    requireLittleEndian();
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 8) throw new InputError(`${what}: ${bytes.length} bytes is too short for a header (8 bytes)`);
    const found = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
    if (found !== magic) throw new InputError(`${what}: bad magic ${JSON.stringify(found)}, expected ${JSON.stringify(magic)}`);
    this.offset = 4;
    const v = this.u32('version');
    if (v !== version) throw new InputError(`${what}: version ${v} is not supported (this build reads version ${version})`);
  }

  private need(n: number, name: string): void {
    const left = this.bytes.length - this.offset;
    if (n > left) {
      throw new InputError(`${this.what}: truncated: section '${name}' needs ${n} bytes at offset ${this.offset}, ${left} left`);
    }
  }

  u32(name: string): number {
    this.need(4, name);
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }

  private copy(n: number, width: number, name: string): ArrayBuffer {
    const size = n * width;
    this.need(size, name);
    const start = this.bytes.byteOffset + this.offset;
    this.offset += size;
    return this.bytes.buffer.slice(start, start + size) as ArrayBuffer;
  }

  f64(n: number, name: string): Float64Array {
    return new Float64Array(this.copy(n, 8, name));
  }

  i32(n: number, name: string): Int32Array {
    return new Int32Array(this.copy(n, 4, name));
  }

  u32s(n: number, name: string): Uint32Array {
    return new Uint32Array(this.copy(n, 4, name));
  }

  u16(n: number, name: string): Uint16Array {
    return new Uint16Array(this.copy(n, 2, name));
  }

  u8(n: number, name: string): Uint8Array {
    return new Uint8Array(this.copy(n, 1, name));
  }

  pad(n: number): void {
    const next = Math.ceil(this.offset / n) * n;
    this.need(next - this.offset, 'padding');
    this.offset = next;
  }

  /** Refuses trailing bytes (a wrong count in the header shows up here). */
  end(): void {
    if (this.offset !== this.bytes.length) {
      throw new InputError(`${this.what}: ${this.bytes.length - this.offset} unexpected trailing bytes after offset ${this.offset}`);
    }
  }
}
