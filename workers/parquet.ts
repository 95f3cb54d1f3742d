/**
 * Parquet files of the tables in schemas/parquet.ts: row groups encoded
 * from typed arrays by parquetEncode.ts (dictionary and PLAIN pages,
 * uncompressed; page headers and footers by hyparquet-writer's thrift
 * writers), read with hyparquet (+ hyparquet-compressors, so files that
 * other tools wrote with ZSTD, GZIP, BROTLI or LZ4 read too).
 *
 * Writing is column-oriented: whole tables with `encodeTable`, or batch by
 * batch with `ParquetTableWriter`, which encodes a row group at a time and
 * streams it to an object store, so a table never has to fit in memory.
 */
import { parquetMetadata, parquetMetadataAsync, parquetSchema, parquetScan, type AsyncBuffer, type ColumnChunk, type DecodedArray, type FileMetaData, type RowGroup, type SchemaElement } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { ByteWriter } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { InputError, NotFoundError } from '../pipelines/errors.ts';
import type { ObjectStore } from '../pipelines/ports.ts';
import {
  histogramsTable, neuronStatsTable, topSentencesTable, topWordsTable,
  type HistogramsInput, type NeuronStatsInput, type ParquetColumnSpec, type ParquetColumnType, type ParquetTableSpec,
  type TableColumns, type TableInput, type TableRow, type TopSentencesInput, type TopWordsInput,
} from '../schemas/parquet.ts';
import { writeRowGroup } from './parquetEncode.ts';
import { openUpload, type ObjectUpload } from './store/upload.ts';

export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';
export const DEFAULT_ROW_GROUP_SIZE = 100_000;
const CREATED_BY = 'neurox-stream (parquetEncode.ts, hyparquet-writer 0.17.0 thrift)';

export interface ParquetWriteOptions {
  /** Rows per row group (default 100,000); the streaming writer fills each group before writing it. */
  readonly rowGroupSize?: number;
  /** Extra key-value metadata for the file footer (run id, model id, ...). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Converted column arrays, keyed by Parquet column name (INT64: safe integers in a Float64Array). */
type Encoded = Int32Array | Float64Array | string[];

// ---------------------------------------------------------------- schema

function schemaElement(c: ParquetColumnSpec): SchemaElement {
  switch (c.type) {
    case 'STRING':
      return { name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: 'REQUIRED' };
    default:
      return { name: c.name, type: c.type, repetition_type: 'REQUIRED' };
  }
}

/** The Parquet schema (flat, every column REQUIRED) of a table. */
export function parquetSchemaOf(spec: ParquetTableSpec): SchemaElement[] {
  return [{ name: 'schema', num_children: spec.columns.length }, ...spec.columns.map(schemaElement)];
}

function keyValues(spec: ParquetTableSpec, options?: ParquetWriteOptions): Array<{ key: string; value: string }> {
  const extra = Object.entries(options?.metadata ?? {}).map(([key, value]) => ({ key, value }));
  return [{ key: 'neurox.table', value: spec.table }, { key: 'neurox.table_version', value: String(spec.version) }, ...extra];
}

function rowGroupSizeOf(options?: ParquetWriteOptions): number {
  const n = options?.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE;
  if (!Number.isInteger(n) || n < 1) throw new InputError(`row group size ${n} must be a positive integer`);
  return n;
}

// ---------------------------------------------------------------- input checks

function bad(spec: ParquetTableSpec, c: ParquetColumnSpec, row: number, value: unknown, what: string): InputError {
  return new InputError(`${spec.table}.${c.name} row ${row}: ${String(value)} is not ${what}`);
}

function isArrayLike(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

function encodeColumn(spec: ParquetTableSpec, c: ParquetColumnSpec, v: unknown): Encoded {
  if (!isArrayLike(v)) throw new InputError(`${spec.table}: column ${c.field} is missing or not an array`);
  switch (c.type) {
    case 'INT32': {
      if (v instanceof Int32Array) return v;
      const out = new Int32Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (typeof x !== 'number' || !Number.isInteger(x) || x < -2147483648 || x > 2147483647) throw bad(spec, c, i, x, 'an INT32');
        out[i] = x;
      }
      return out;
    }
    case 'INT64': {
      const out = new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        const n = typeof x === 'bigint' ? Number(x) : x;
        if (typeof n !== 'number' || !Number.isSafeInteger(n) || (typeof x === 'bigint' && BigInt(n) !== x)) throw bad(spec, c, i, x, 'a safe integer (INT64 columns take integers up to 2^53)');
        out[i] = n;
      }
      return out;
    }
    case 'DOUBLE': {
      if (v instanceof Float64Array) return v;
      const out = new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (typeof x !== 'number') throw bad(spec, c, i, x, 'a number');
        out[i] = x;
      }
      return out;
    }
    case 'STRING': {
      if (!Array.isArray(v)) throw new InputError(`${spec.table}: column ${c.field} must be an array of strings`);
      for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') throw bad(spec, c, i, v[i], 'a string');
      return v as string[];
    }
  }
}

/** Checks and converts every column; returns them by column name with the row count. */
function encodeColumns<S extends ParquetTableSpec>(spec: S, input: TableInput<S>): { columns: Map<string, Encoded>; rows: number } {
  const record = input as unknown as Record<string, unknown>;
  const columns = new Map<string, Encoded>();
  let rows = -1;
  let first = '';
  for (const c of spec.columns) {
    const col = encodeColumn(spec, c, record[c.field]);
    if (rows < 0) {
      rows = col.length;
      first = c.field;
    } else if (col.length !== rows) {
      throw new InputError(`${spec.table}: column ${c.field} has ${col.length} rows but ${first} has ${rows}`);
    }
    columns.set(c.name, col);
  }
  const known = new Set(spec.columns.map((c) => c.field));
  for (const field of Object.keys(record)) {
    if (!known.has(field)) throw new InputError(`${spec.table}: unknown column ${field} (columns: ${[...known].join(', ')})`);
  }
  return { columns, rows: Math.max(rows, 0) };
}

/** Writes rows [start, end) of the columns as one row group. */
function writeGroup(writer: ByteWriter, spec: ParquetTableSpec, columns: Map<string, Encoded>, start: number, end: number): RowGroup {
  const whole = start === 0 && end === (columns.get(spec.columns[0]?.name ?? '')?.length ?? 0);
  return writeRowGroup(
    writer,
    spec.columns.map((c) => {
      const col = columns.get(c.name) as Encoded;
      return { name: c.name, type: c.type, values: whole ? col : sliceEncoded(col, start, end) };
    }),
    end - start,
  );
}

function writeFooter(writer: ByteWriter, spec: ParquetTableSpec, rowGroups: RowGroup[], options?: ParquetWriteOptions): void {
  let rows = 0n;
  for (const rg of rowGroups) rows += rg.num_rows;
  writeMetadata(writer, { version: 2, schema: parquetSchemaOf(spec), num_rows: rows, row_groups: rowGroups, key_value_metadata: keyValues(spec, options), created_by: CREATED_BY, metadata_length: 0 });
  writer.appendUint32(0x31524150); // PAR1
}

// ---------------------------------------------------------------- whole tables

/** One table, whole, as the bytes of a Parquet file. */
export function encodeTable<S extends ParquetTableSpec>(spec: S, input: TableInput<S>, options?: ParquetWriteOptions): Uint8Array {
  const { columns, rows } = encodeColumns(spec, input);
  const size = rowGroupSizeOf(options);
  const writer = new ByteWriter(4096 + rows * spec.columns.length * 8);
  writer.appendUint32(0x31524150); // PAR1
  const groups: RowGroup[] = [];
  for (let start = 0; start < rows; start += size) groups.push(writeGroup(writer, spec, columns, start, Math.min(rows, start + size)));
  writeFooter(writer, spec, groups, options);
  return writer.getBytes();
}

export const encodeNeuronStats = (c: NeuronStatsInput, o?: ParquetWriteOptions): Uint8Array => encodeTable(neuronStatsTable, c, o);
export const encodeTopWords = (c: TopWordsInput, o?: ParquetWriteOptions): Uint8Array => encodeTable(topWordsTable, c, o);
export const encodeTopSentences = (c: TopSentencesInput, o?: ParquetWriteOptions): Uint8Array => encodeTable(topSentencesTable, c, o);
export const encodeHistograms = (c: HistogramsInput, o?: ParquetWriteOptions): Uint8Array => encodeTable(histogramsTable, c, o);

// ---------------------------------------------------------------- streaming

function concatEncoded(parts: readonly Encoded[], type: ParquetColumnType): Encoded {
  if (parts.length === 1) return parts[0] as Encoded;
  if (type === 'STRING') return ([] as string[]).concat(...(parts as string[][]));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = type === 'INT32' ? new Int32Array(total) : new Float64Array(total);
  let at = 0;
  for (const p of parts) {
    (out as Int32Array).set(p as Int32Array, at);
    at += p.length;
  }
  return out;
}

function sliceEncoded(col: Encoded, start: number, end?: number): Encoded {
  return col.slice(start, end) as Encoded;
}

/**
 * Writes one table to `store` at `key`, batch by batch: batches are
 * gathered into row groups of `rowGroupSize` rows, each encoded and streamed
 * out as soon as it is full, so memory holds about one row group. The file
 * appears at `key` on `close()`; `abort()` (or any failure) leaves none.
 */
export class ParquetTableWriter<S extends ParquetTableSpec> {
  private readonly bytesOut = new ByteWriter();
  private readonly upload: ObjectUpload;
  private readonly rowGroupSize: number;
  private readonly rowGroups: RowGroup[] = [];
  private pending: Array<Map<string, Encoded>> = [];
  private pendingRows = 0;
  private written = 0;

  constructor(readonly spec: S, store: ObjectStore, readonly key: string, private readonly options?: ParquetWriteOptions) {
    this.rowGroupSize = rowGroupSizeOf(options);
    this.bytesOut.appendUint32(0x31524150); // PAR1
    this.upload = openUpload(store, key, { contentType: PARQUET_CONTENT_TYPE });
  }

  /** Rows accepted so far. */
  get rows(): number {
    return this.written + this.pendingRows;
  }

  async write(input: TableInput<S>): Promise<void> {
    const { columns, rows } = encodeColumns(this.spec, input);
    if (rows === 0) return;
    this.pending.push(columns);
    this.pendingRows += rows;
    if (this.pendingRows >= this.rowGroupSize) await this.flush(false);
  }

  /** Writes the full row groups pending (all pending rows when `all`). */
  private async flush(all: boolean): Promise<void> {
    const full = all ? this.pendingRows : this.pendingRows - (this.pendingRows % this.rowGroupSize);
    if (full === 0) return;
    const merged = new Map<string, Encoded>();
    for (const c of this.spec.columns) merged.set(c.name, concatEncoded(this.pending.map((p) => p.get(c.name) as Encoded), c.type));
    const head = new Map<string, Encoded>();
    const tail = new Map<string, Encoded>();
    for (const [name, col] of merged) {
      head.set(name, full === col.length ? col : sliceEncoded(col, 0, full));
      if (full < col.length) tail.set(name, sliceEncoded(col, full));
    }
    this.pending = tail.size > 0 ? [tail] : [];
    this.pendingRows -= full;
    this.written += full;
    for (let start = 0; start < full; start += this.rowGroupSize) {
      this.rowGroups.push(writeGroup(this.bytesOut, this.spec, head, start, Math.min(full, start + this.rowGroupSize)));
    }
    await this.drain();
  }

  /** Hands the encoded bytes to the upload and reuses the buffer (its `offset` keeps counting file bytes). */
  private async drain(): Promise<void> {
    const chunk = this.bytesOut.getBytes().slice();
    this.bytesOut.index = 0;
    await this.upload.write(chunk);
  }

  /** Writes what is pending and the footer; resolves when the file is stored. */
  async close(): Promise<{ rows: number; bytes: number }> {
    try {
      await this.flush(true);
      writeFooter(this.bytesOut, this.spec, this.rowGroups, this.options);
      await this.drain();
      await this.upload.close();
    } catch (err) {
      await this.upload.abort(err);
      throw err;
    }
    return { rows: this.written, bytes: this.upload.bytes };
  }

  async abort(reason?: unknown): Promise<void> {
    await this.upload.abort(reason);
  }
}

/** Writes batches to `store` at `key` as one Parquet file; leaves no file if a batch or the store fails. */
export async function writeTable<S extends ParquetTableSpec>(
  spec: S,
  store: ObjectStore,
  key: string,
  batches: Iterable<TableInput<S>> | AsyncIterable<TableInput<S>>,
  options?: ParquetWriteOptions,
): Promise<{ rows: number; bytes: number }> {
  const w = new ParquetTableWriter(spec, store, key, options);
  try {
    for await (const b of batches) await w.write(b);
  } catch (err) {
    await w.abort(err);
    throw err;
  }
  return await w.close();
}

/**
 * Writes the Parquet files `parts` (files of `spec` this module wrote, read
 * from `store` in order) to `key` as one file: their row groups' bytes are
 * copied as they are and one footer lists them all, offsets moved. The
 * concatenation of row groups costs a copy instead of a decode and re-encode
 * (0.2-0.3 s of every pipeline run on the MiniLM bench when hyparquet-writer
 * encoded the parts, about 1 us a row). Page indexes of the parts are
 * dropped (they live outside the row groups; this module writes none: one
 * page per column chunk). Resolves with the rows and
 * bytes written; leaves no file when a part is unreadable or of another
 * table.
 */
export async function concatParquetFiles<S extends ParquetTableSpec>(
  spec: S,
  store: ObjectStore,
  key: string,
  parts: readonly string[],
  options?: Pick<ParquetWriteOptions, 'metadata'> & ConcatOptions,
): Promise<{ rows: number; bytes: number }> {
  const upload = openUpload(store, key, { contentType: PARQUET_CONTENT_TYPE });
  const expected = JSON.stringify(parquetSchemaOf(spec).map(schemaShape));
  const rowGroups: RowGroup[] = [];
  let rows = 0n;
  try {
    await upload.write(new Uint8Array([0x50, 0x41, 0x52, 0x31])); // PAR1
    for (const [i, part] of parts.entries()) {
      const what = `${store.location}${part}`;
      const bytes = await store.get(part).catch(async (err: unknown) => {
        if (!(err instanceof NotFoundError) || !options?.missing) throw err;
        return await options.missing(i);
      });
      let meta: FileMetaData;
      try {
        meta = parquetMetadata(bytes);
      } catch (err) {
        throw new InputError(`${what}: not a readable Parquet file (${(err as Error).message})`);
      }
      if (JSON.stringify(meta.schema.map(schemaShape)) !== expected) throw new InputError(`${what}: not a ${spec.table} file (schema differs)`);
      options?.check?.(i, meta, what);
      // the part's row groups span [4, end): PAR1, then column chunks back to back
      let end = 4;
      for (const rg of meta.row_groups) {
        for (const c of rg.columns) {
          const m = c.meta_data;
          if (!m || c.file_path) throw new InputError(`${what}: a column chunk without inline metadata`);
          end = Math.max(end, Number(m.dictionary_page_offset ?? m.data_page_offset) + Number(m.total_compressed_size));
        }
      }
      if (end > bytes.length - 8) throw new InputError(`${what}: its row groups run past the footer`);
      const shift = BigInt(upload.bytes - 4);
      for (const rg of meta.row_groups) rowGroups.push(shiftRowGroup(rg, shift));
      rows += meta.num_rows;
      await upload.write(bytes.subarray(4, end));
    }
    const footer = new ByteWriter();
    writeFooter(footer, spec, rowGroups, options);
    await upload.write(footer.getBytes());
    await upload.close();
  } catch (err) {
    await upload.abort(err);
    throw err;
  }
  return { rows: Number(rows), bytes: upload.bytes };
}

export interface ConcatOptions {
  /** The bytes of part i when its key is missing (a part an older version did not write, say). */
  readonly missing?: (i: number) => Promise<Uint8Array>;
  /** Checks part i's footer (read by hyparquet) before its row groups are copied; throws to refuse it. */
  readonly check?: (i: number, meta: FileMetaData, what: string) => void;
}

/**
 * The smallest and largest value of an INT32 column over a file's row
 * groups, from the column chunks' statistics (null where a chunk has none).
 */
export function int32Range(meta: FileMetaData, column: string): { min: number; max: number } | null {
  let min = Infinity;
  let max = -Infinity;
  for (const rg of meta.row_groups) {
    const c = rg.columns.find((x) => x.meta_data?.path_in_schema.join('.') === column);
    const st = c?.meta_data?.statistics;
    if (!st) return null;
    const lo = Number(st.min_value ?? st.min);
    const hi = Number(st.max_value ?? st.max);
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) return null;
    min = Math.min(min, lo);
    max = Math.max(max, hi);
  }
  return { min, max };
}

/** What must agree between the parts' schemas (names, types, repetition, annotations). */
function schemaShape(e: SchemaElement): unknown[] {
  return [e.name, e.type ?? null, e.repetition_type ?? null, e.num_children ?? null, e.converted_type ?? null, e.logical_type?.type ?? null];
}

function shiftRowGroup(rg: RowGroup, shift: bigint): RowGroup {
  const moved = (o: bigint | undefined): bigint | undefined => (o === undefined ? undefined : o + shift);
  const columns = rg.columns.map((c): ColumnChunk => {
    const m = c.meta_data!;
    return {
      file_offset: c.file_offset + shift,
      meta_data: {
        ...m,
        data_page_offset: m.data_page_offset + shift,
        dictionary_page_offset: moved(m.dictionary_page_offset),
        index_page_offset: moved(m.index_page_offset),
        bloom_filter_offset: undefined,
        bloom_filter_length: undefined,
      },
    };
  });
  return { ...rg, columns, file_offset: moved(rg.file_offset) };
}

// ---------------------------------------------------------------- reading

/** Reads `key` of `store` by ranged GETs (footer first, then only the column chunks asked for). */
export async function storeFile(store: ObjectStore, key: string): Promise<AsyncBuffer> {
  const info = await store.head(key);
  if (!info) throw new NotFoundError(store.location + key);
  const size = info.size;
  return {
    byteLength: size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const b = await store.getRange(key, start, end ?? size);
      return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? (b.buffer as ArrayBuffer) : (b.slice().buffer as ArrayBuffer);
    },
  };
}

function asyncBuffer(source: Uint8Array | AsyncBuffer): AsyncBuffer {
  if (!(source instanceof Uint8Array)) return source;
  return { byteLength: source.byteLength, slice: (start, end) => source.slice(start, end).buffer as ArrayBuffer };
}

function checkSchema(spec: ParquetTableSpec, metadata: FileMetaData): void {
  const leaves = new Map(parquetSchema(metadata).children.map((ch) => [ch.element.name, ch]));
  for (const c of spec.columns) {
    const leaf = leaves.get(c.name);
    if (!leaf) throw new InputError(`${spec.table}: the file has no column ${c.name} (it has ${[...leaves.keys()].join(', ')})`);
    const e = leaf.element;
    const isString = e.type === 'BYTE_ARRAY' && (e.converted_type === 'UTF8' || e.logical_type?.type === 'STRING');
    const ok = leaf.children.length === 0 && (c.type === 'STRING' ? isString : e.type === c.type);
    if (!ok) throw new InputError(`${spec.table}: column ${c.name} is ${e.type ?? 'a group'}${e.converted_type ? ` (${e.converted_type})` : ''} in the file, expected ${c.type}`);
  }
}

function decodeColumn(spec: ParquetTableSpec, c: ParquetColumnSpec, data: DecodedArray, rowStart: number): Int32Array | Float64Array | string[] {
  const n = data.length;
  const nullAt = (i: number): never => { throw new InputError(`${spec.table}.${c.name} row ${rowStart + i} is null; every column is required`); };
  switch (c.type) {
    case 'INT32': {
      if (data instanceof Int32Array) return data;
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) { const x = data[i]; if (typeof x !== 'number') nullAt(i); out[i] = x as number; }
      return out;
    }
    case 'INT64': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const x = data[i];
        if (typeof x !== 'bigint' && typeof x !== 'number') nullAt(i);
        const v = Number(x);
        if (!Number.isSafeInteger(v)) throw new InputError(`${spec.table}.${c.name} row ${rowStart + i}: ${String(x)} is beyond 2^53 and cannot be read as a number`);
        out[i] = v;
      }
      return out;
    }
    case 'DOUBLE': {
      if (data instanceof Float64Array) return data;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) { const x = data[i]; if (typeof x !== 'number') nullAt(i); out[i] = x as number; }
      return out;
    }
    case 'STRING': {
      const out: string[] = new Array<string>(n);
      for (let i = 0; i < n; i++) { const x = data[i]; if (typeof x !== 'string') nullAt(i); out[i] = x as string; }
      return out;
    }
  }
}

/** Reads a table one row group at a time (bounded memory for big tables). */
export async function* scanTable<S extends ParquetTableSpec>(spec: S, source: Uint8Array | AsyncBuffer): AsyncIterable<TableColumns<S>> {
  const file = asyncBuffer(source);
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    throw new InputError(`${spec.table}: not a readable Parquet file (${(err as Error).message})`);
  }
  checkSchema(spec, metadata);
  const scan = await parquetScan({ file, metadata, columns: spec.columns.map((c) => c.name), compressors });
  for (const range of scan.ranges) {
    const batch: Record<string, unknown> = {};
    for (const c of spec.columns) {
      batch[c.field] = decodeColumn(spec, c, await scan.readColumn({ column: c.name, ...range }), range.rowStart);
    }
    yield batch as TableColumns<S>;
  }
}

/** Reads a whole table into columns. */
export async function readTable<S extends ParquetTableSpec>(spec: S, source: Uint8Array | AsyncBuffer): Promise<TableColumns<S>> {
  const parts: Array<Record<string, Encoded>> = [];
  for await (const b of scanTable(spec, source)) parts.push(b as unknown as Record<string, Encoded>);
  const out: Record<string, unknown> = {};
  for (const c of spec.columns) {
    const cols = parts.map((p) => p[c.field] as Encoded);
    out[c.field] = cols.length > 0 ? concatEncoded(cols, c.type === 'INT64' ? 'DOUBLE' : c.type) : decodeColumn(spec, c, [], 0);
  }
  return out as TableColumns<S>;
}

/** Number of rows of a columns object (all columns have this length). */
export function rowCount<S extends ParquetTableSpec>(spec: S, columns: TableColumns<S> | TableInput<S>): number {
  const first = spec.columns[0];
  return first ? (columns as unknown as Record<string, ArrayLike<unknown>>)[first.field]?.length ?? 0 : 0;
}

/** Columns to row objects (for printing and JSON; keep columns for computation). */
export function tableRows<S extends ParquetTableSpec>(spec: S, columns: TableColumns<S>): Array<TableRow<S>> {
  const n = rowCount(spec, columns);
  const rec = columns as unknown as Record<string, ArrayLike<unknown>>;
  const rows: Array<TableRow<S>> = [];
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {};
    for (const c of spec.columns) row[c.field] = rec[c.field]?.[i];
    rows.push(row as TableRow<S>);
  }
  return rows;
}
