/**
 * Row groups of flat, REQUIRED columns encoded straight from typed arrays:
 * the column chunks of every table this project writes (workers/parquet.ts).
 * hyparquet-writer writes the page headers and the footer (its thrift
 * writers); the pages' bodies are made here, a column at a time, because its
 * generic column writer cost 2-3 us a row (a value at a time: per-string
 * UTF-8 encoding, statistics by a generic comparison, a dictionary attempt
 * on every column, Snappy in JS): 25-45 ms of every pass-2 block part on the
 * MiniLM bench and 1.2-1.8 s of CPU per run (BENCHMARKS.md).
 *
 * Encodings, chosen per column chunk (every reader of Parquet 1.0 reads
 * them: pyarrow, DuckDB, hyparquet; test/parquet*.test.ts):
 * - INT32 and INT64 spanning fewer than 65,536 values, and STRING: a PLAIN
 *   dictionary page, then the values as RLE_DICTIONARY indices (RLE runs
 *   for repeats, bit-packed groups of 8 otherwise): layer, neuron, rank and
 *   token columns shrink to a few bits a row without a compressor;
 * - any other INT32/INT64, and DOUBLE: PLAIN.
 * One data page (v1) per column chunk, UNCOMPRESSED: the PLAIN columns are
 * float64 activations and scores, which Snappy left within 1-2% of their size.
 * Statistics: min and max of every chunk (NaN skipped, zeros signed as the
 * spec asks: min -0, max +0; strings in UTF-8 byte order), null count 0,
 * NaN count for DOUBLE.
 */
import type { ColumnChunk, RowGroup } from 'hyparquet';
import type { ByteWriter } from 'hyparquet-writer';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';

/** A column as written: INT64 values as a Float64Array of safe integers. */
export type FlatValues = Int32Array | Float64Array | readonly string[];

export interface FlatColumn {
  readonly name: string;
  readonly type: 'INT32' | 'INT64' | 'DOUBLE' | 'STRING';
  readonly values: FlatValues;
}

/** Dictionary-encode integer columns whose values span fewer than this. */
const INT_DICTIONARY_SPAN = 65_536;
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8 = new TextEncoder();

/**
 * Appends one row group of `rows` rows (every column that long) to `writer`
 * and returns its metadata, with offsets counted by `writer.offset`.
 */
export function writeRowGroup(writer: ByteWriter, columns: readonly FlatColumn[], rows: number): RowGroup {
  const start = writer.offset;
  const chunks: ColumnChunk[] = [];
  let totalBytes = 0n;
  for (const c of columns) {
    if (c.values.length !== rows) throw new Error(`parquet column ${c.name}: ${c.values.length} values in a row group of ${rows} rows`);
    const chunk = writeColumnChunk(writer, c);
    totalBytes += chunk.meta_data!.total_uncompressed_size;
    chunks.push(chunk);
  }
  return { columns: chunks, total_byte_size: totalBytes, num_rows: BigInt(rows), file_offset: BigInt(start), total_compressed_size: BigInt(writer.offset - start) };
}

interface Statistics {
  min_value?: number | bigint | Uint8Array;
  max_value?: number | bigint | Uint8Array;
  null_count: bigint;
  nan_count?: bigint;
}

function writeColumnChunk(writer: ByteWriter, c: FlatColumn): ColumnChunk {
  const start = writer.offset;
  const n = c.values.length;
  const physical = c.type === 'STRING' ? 'BYTE_ARRAY' : c.type;
  let dictionaryOffset: bigint | undefined;
  let statistics: Statistics;
  let encoding: 'PLAIN' | 'RLE_DICTIONARY';
  let body: Uint8Array;
  if (c.type === 'STRING') {
    const d = stringDictionary(c.values as readonly string[]);
    dictionaryOffset = BigInt(writer.offset);
    writeDictionaryPage(writer, d.page, d.size);
    statistics = { min_value: d.min, max_value: d.max, null_count: 0n };
    encoding = 'RLE_DICTIONARY';
    body = dictionaryIndices(d.ids, d.size);
  } else if (c.type === 'DOUBLE') {
    const v = c.values as Float64Array;
    statistics = doubleStatistics(v);
    encoding = 'PLAIN';
    body = plainFixed(v);
  } else {
    const v = c.values as Int32Array | Float64Array;
    const { min, max } = intRange(v);
    statistics = n === 0 ? { null_count: 0n } : { min_value: c.type === 'INT64' ? BigInt(min) : min, max_value: c.type === 'INT64' ? BigInt(max) : max, null_count: 0n };
    if (n > 0 && max - min < INT_DICTIONARY_SPAN) {
      const d = intDictionary(v, min, max);
      dictionaryOffset = BigInt(writer.offset);
      writeDictionaryPage(writer, c.type === 'INT64' ? plainInt64(d.values) : plainFixed(d.values as Int32Array), d.values.length);
      encoding = 'RLE_DICTIONARY';
      body = dictionaryIndices(d.ids, d.values.length);
    } else {
      encoding = 'PLAIN';
      body = c.type === 'INT64' ? plainInt64(v) : plainFixed(v as Int32Array);
    }
  }
  const dataOffset = BigInt(writer.offset);
  writePageHeader(writer, {
    type: 'DATA_PAGE',
    uncompressed_page_size: body.length,
    compressed_page_size: body.length,
    data_page_header: { num_values: n, encoding, definition_level_encoding: 'RLE', repetition_level_encoding: 'RLE' },
  });
  writer.appendBytes(body);
  const size = BigInt(writer.offset - start);
  return {
    file_offset: BigInt(start),
    meta_data: {
      type: physical,
      encodings: encoding === 'PLAIN' ? ['PLAIN', 'RLE'] : ['PLAIN', 'RLE', 'RLE_DICTIONARY'],
      path_in_schema: [c.name],
      codec: 'UNCOMPRESSED',
      num_values: BigInt(n),
      total_uncompressed_size: size,
      total_compressed_size: size,
      data_page_offset: dataOffset,
      dictionary_page_offset: dictionaryOffset,
      statistics: statistics as NonNullable<ColumnChunk['meta_data']>['statistics'],
    },
  };
}

function writeDictionaryPage(writer: ByteWriter, page: Uint8Array, size: number): void {
  writePageHeader(writer, {
    type: 'DICTIONARY_PAGE',
    uncompressed_page_size: page.length,
    compressed_page_size: page.length,
    dictionary_page_header: { num_values: size, encoding: 'PLAIN' },
  });
  writer.appendBytes(page);
}

// ---------------------------------------------------------------- PLAIN

/** INT32 or DOUBLE values as PLAIN: their own bytes on a little-endian host. */
function plainFixed(v: Int32Array | Float64Array): Uint8Array {
  if (littleEndian) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const width = v.BYTES_PER_ELEMENT;
  const out = new Uint8Array(v.length * width);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) {
    if (width === 4) view.setInt32(i * 4, v[i]!, true);
    else view.setFloat64(i * 8, v[i]!, true);
  }
  return out;
}

/** Safe integers as little-endian two's complement int64. */
function plainInt64(v: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(v.length * 8);
  if (littleEndian) {
    const words = new Int32Array(out.buffer);
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      const hi = Math.floor(x / 4294967296);
      words[2 * i] = x - hi * 4294967296; // in [0, 2^32): stored as its low 32 bits
      words[2 * i + 1] = hi;
    }
    return out;
  }
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) view.setBigInt64(i * 8, BigInt(v[i]!), true);
  return out;
}

// ---------------------------------------------------------------- statistics

function intRange(v: Int32Array | Float64Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return { min, max };
}

function doubleStatistics(v: Float64Array): Statistics {
  let min = Infinity;
  let max = -Infinity;
  let nan = 0;
  let seen = false;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x !== x) {
      nan++;
      continue;
    }
    seen = true;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (!seen) return { null_count: 0n, nan_count: BigInt(nan) };
  // the spec's signed zeros: a zero min is written -0, a zero max +0
  return { min_value: min === 0 ? -0 : min, max_value: max === 0 ? 0 : max, null_count: 0n, nan_count: BigInt(nan) };
}

// ---------------------------------------------------------------- dictionaries

/** Distinct values in first-seen order and each row's index into them. */
function intDictionary(v: Int32Array | Float64Array, min: number, max: number): { values: Float64Array | Int32Array; ids: Int32Array } {
  const slot = new Int32Array(max - min + 1).fill(-1);
  const ids = new Int32Array(v.length);
  const values: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const k = v[i]! - min;
    let id = slot[k]!;
    if (id < 0) {
      id = slot[k] = values.length;
      values.push(v[i]!);
    }
    ids[i] = id;
  }
  return { values: v instanceof Int32Array ? Int32Array.from(values) : Float64Array.from(values), ids };
}

/** A PLAIN BYTE_ARRAY dictionary page of the distinct strings, the rows' indices, and the min/max in UTF-8 byte order. */
function stringDictionary(v: readonly string[]): { page: Uint8Array; size: number; ids: Int32Array; min?: Uint8Array; max?: Uint8Array } {
  const index = new Map<string, number>();
  const ids = new Int32Array(v.length);
  const distinct: string[] = [];
  let chars = 0;
  for (let i = 0; i < v.length; i++) {
    const s = v[i]!;
    let id = index.get(s);
    if (id === undefined) {
      id = distinct.length;
      index.set(s, id);
      distinct.push(s);
      chars += s.length;
    }
    ids[i] = id;
  }
  // UTF-8 takes at most 3 bytes per UTF-16 unit
  let page = new Uint8Array(distinct.length * 4 + chars * 3);
  let at = 0;
  let min: Uint8Array | undefined;
  let max: Uint8Array | undefined;
  for (const s of distinct) {
    const { written } = utf8.encodeInto(s, page.subarray(at + 4));
    new DataView(page.buffer, page.byteOffset + at, 4).setUint32(0, written, true);
    const bytes = page.subarray(at + 4, at + 4 + written);
    if (min === undefined || compareBytes(bytes, min) < 0) min = bytes;
    if (max === undefined || compareBytes(bytes, max) > 0) max = bytes;
    at += 4 + written;
  }
  page = page.subarray(0, at);
  return { page, size: distinct.length, ids, min: min?.slice(), max: max?.slice() };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

// ---------------------------------------------------------------- RLE / bit-packed hybrid

/**
 * An RLE_DICTIONARY data page body: the bit width (one byte), then the
 * indices as the RLE / bit-packed hybrid. A run of 8 or more equal
 * indices becomes an RLE run (after the bit-packed values before it are
 * filled up to a multiple of 8 from the run); the rest is bit-packed, 8
 * values to a group, the last group padded with zeros.
 */
export function dictionaryIndices(ids: Int32Array, size: number): Uint8Array {
  const width = size <= 1 ? 0 : 32 - Math.clz32(size - 1);
  if (width > 24) throw new Error(`parquet dictionary of ${size} values: more than 2^24`);
  const out = new Bytes(16 + Math.ceil(ids.length / 8) * (width + 2));
  out.byte(width);
  const n = ids.length;
  let literal = 0; // first index not yet written
  let i = 0;
  while (i < n) {
    const v = ids[i]!;
    let j = i + 1;
    while (j < n && ids[j] === v) j++;
    if (j - i >= 8) {
      const pad = (8 - ((i - literal) & 7)) & 7;
      if (i + pad > literal) bitPacked(out, ids, literal, i + pad, width);
      out.varint((j - i - pad) * 2);
      for (let b = 0; b < width; b += 8) out.byte((v >>> b) & 0xff);
      literal = j;
    }
    i = j;
  }
  if (literal < n) bitPacked(out, ids, literal, n, width);
  return out.bytes();
}

/** ids[from, to) bit-packed, LSB first, in ceil((to - from) / 8) groups. */
function bitPacked(out: Bytes, ids: Int32Array, from: number, to: number, width: number): void {
  const groups = Math.ceil((to - from) / 8);
  out.varint(groups * 2 + 1);
  out.reserve(groups * width);
  let acc = 0;
  let bits = 0;
  for (let k = from; k < from + groups * 8; k++) {
    acc |= (k < to ? ids[k]! : 0) << bits; // bits < 8 before, width <= 24: within 31 bits
    bits += width;
    while (bits >= 8) {
      out.byte(acc & 0xff);
      acc >>>= 8;
      bits -= 8;
    }
  }
}

/** A growable byte buffer. */
class Bytes {
  private buf: Uint8Array;
  private at = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }
  reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.at + n + 16));
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
  }
  byte(b: number): void {
    if (this.at >= this.buf.length) this.reserve(1);
    this.buf[this.at++] = b;
  }
  varint(x: number): void {
    while (x >= 128) {
      this.byte((x % 128) | 128);
      x = Math.floor(x / 128);
    }
    this.byte(x);
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }
}
