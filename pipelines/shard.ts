/**
 * The activation shard format (version 1): one object per shard of the
 * corpus, holding every selected layer's word-level activations and the
 * words themselves, laid out so that pass 2 reads one neuron group with one
 * ranged GET and never the rest.
 *
 * ```
 * [0, 8)    magic "NXSHARD\0"
 * [8, 12)   u32 LE format version (1)
 * [12, 16)  u32 LE header length H
 * [16, 16+H) header: UTF-8 JSON (ShardHeader), space-padded to 8 bytes
 * then 8-byte aligned sections, absolute offsets given in the header:
 *   sentenceTokens  u32[nSentences]   tokens per sentence
 *   typeIds         u32[nTokens]      type of each token (types numbered in first-occurrence order)
 *   typeOffsets     u32[nTypes + 1]   byte offsets of each type in typeBytes
 *   typeBytes       UTF-8             the types' text, concatenated
 *   group 0..G-1    dtype[nTokens x width]  row-major: (token t, neuron j) at t * width + j
 * ```
 * This writer starts each group at a multiple of `GROUP_ALIGN` (4096) bytes.
 * Sections sentenceTokens..typeBytes are contiguous: one GET gives every
 * token. Group k holds global neurons `[k * groupWidth, min((k+1) * groupWidth, nNeurons))`,
 * where global neuron `g = layerIndex * dModel + neuron` over the selected
 * layers (NeuroX's concatenation order). Every section carries a CRC-32 in the
 * header, so a corrupted object fails its job instead of skewing the results.
 */
import { crc32 } from 'node:zlib';
import { concatBytes, type ReusableMemory } from './bytes.ts';
import { InputError } from './errors.ts';
import { matrix, type Matrix, type SentenceActivations } from './matrix.ts';
import { decodeHalf, encodeHalf } from './float16.ts';
import { Vocab } from './vocab.ts';

export const SHARD_MAGIC = 'NXSHARD\0';
export const SHARD_VERSION = 1;
export const SHARD_PREAMBLE_BYTES = 16;
/**
 * Where groups start: a multiple of this many bytes (a page, a multiple of
 * any disk's sector), so that a local folder store writes each group with
 * direct I/O from where the encoder laid it (workers/store/direct.ts). A
 * writer choice, not a format rule: readers follow the header's offsets,
 * and shards written before (8-byte aligned) read the same.
 */
export const GROUP_ALIGN = 4096;
/** Where groups start in the encoder's memory: on a disk sector (512 bytes), for the same reason (direct I/O wants both). */
const GROUP_MEMORY_ALIGN = 512;

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

export type ShardDtype = 'float32' | 'float16';

/** `[byteOffset, byteLength, crc32]` of a section; the offset is 8-byte aligned. */
export type Section = readonly [offset: number, length: number, crc: number];

export interface ShardHeader {
  readonly format: 'neurox-shard';
  readonly version: 1;
  readonly dtype: ShardDtype;
  readonly nSentences: number;
  readonly nTokens: number;
  readonly nTypes: number;
  /** Model layer index of each stored layer (0 = embedding output). */
  readonly layers: readonly number[];
  readonly dModel: number;
  /** `layers.length * dModel`. */
  readonly nNeurons: number;
  readonly groupWidth: number;
  readonly sections: {
    readonly sentenceTokens: Section;
    readonly typeIds: Section;
    readonly typeOffsets: Section;
    readonly typeBytes: Section;
    readonly groups: readonly Section[];
  };
  /** Total object size in bytes. */
  readonly byteLength: number;
}

export interface ShardInput {
  /** Sentences in corpus order, each `[layers.length x nTokens x dModel]`. */
  readonly sentences: readonly SentenceActivations[];
  readonly layers: readonly number[];
  readonly dModel: number;
  readonly dtype: ShardDtype;
  /** Neurons per group: pass 2's block size. */
  readonly groupWidth: number;
}

/** Words of a shard, interned by exact string in first-occurrence order. */
export interface ShardTokens {
  /** `[nSentences]` tokens per sentence. */
  readonly sentenceTokens: Uint32Array;
  /** `[nTokens]` index into `types` of each token, in corpus order. */
  readonly typeIds: Uint32Array;
  /** `[nTypes]` distinct token strings, in order of first occurrence. */
  readonly types: readonly string[];
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8; // not `& ~7`: offsets may pass 2^31
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Number of groups for `nNeurons` neurons in groups of `groupWidth`. */
export function groupCount(nNeurons: number, groupWidth: number): number {
  return Math.ceil(nNeurons / groupWidth);
}

/** Global neuron range `[start, end)` of group `g`. */
export function groupNeurons(nNeurons: number, groupWidth: number, g: number): { start: number; end: number } {
  const start = g * groupWidth;
  if (!Number.isInteger(g) || g < 0 || start >= nNeurons) {
    throw new RangeError(`group ${g} is out of range [0, ${groupCount(nNeurons, groupWidth) - 1}]`);
  }
  return { start, end: Math.min(start + groupWidth, nNeurons) };
}

function checkInput(input: ShardInput): { nTokens: number; nNeurons: number } {
  const { sentences, layers, dModel, groupWidth, dtype } = input;
  if (dtype !== 'float32' && dtype !== 'float16') throw new InputError(`shard: dtype '${String(dtype)}' is not float32 or float16`);
  if (!Number.isInteger(dModel) || dModel < 1) throw new InputError(`shard: dModel ${dModel} must be a positive integer`);
  if (layers.length < 1) throw new InputError('shard: no layers');
  if (!Number.isInteger(groupWidth) || groupWidth < 1) throw new InputError(`shard: groupWidth ${groupWidth} must be a positive integer`);
  let nTokens = 0;
  sentences.forEach((s, i) => {
    if (s.nLayers !== layers.length) throw new InputError(`shard: sentence ${i} has ${s.nLayers} layers, expected ${layers.length}`);
    if (s.dModel !== dModel) throw new InputError(`shard: sentence ${i} has dModel ${s.dModel}, expected ${dModel}`);
    if (s.tokens.length !== s.nTokens) throw new InputError(`shard: sentence ${i}: ${s.tokens.length} tokens but ${s.nTokens} activation rows`);
    if (s.data.length !== s.nLayers * s.nTokens * s.dModel) {
      throw new InputError(`shard: sentence ${i}: ${s.data.length} values do not fill [${s.nLayers} x ${s.nTokens} x ${s.dModel}]`);
    }
    nTokens += s.nTokens;
  });
  return { nTokens, nNeurons: layers.length * dModel };
}

function crcOf(bytes: Uint8Array): number {
  return crc32(bytes) >>> 0;
}

/** Fills `out` (`[nTokens x width]` float32) with group `g` of the sentences. */
function gatherGroup(input: ShardInput, start: number, end: number, out: Float32Array): void {
  const { sentences, dModel } = input;
  const width = end - start;
  let row = 0;
  for (const s of sentences) {
    for (let t = 0; t < s.nTokens; t++) {
      // a group may straddle layers: copy one contiguous run per layer
      let g = start;
      while (g < end) {
        const l = Math.floor(g / dModel);
        const n = g - l * dModel;
        const run = Math.min(end - g, dModel - n);
        const src = (l * s.nTokens + t) * dModel + n;
        out.set(s.data.subarray(src, src + run), row * width + (g - start));
        g += run;
      }
      row++;
    }
  }
}

/** Encodes a shard into one buffer (see `encodeShardChunks` for uploads without the extra copy). */
export function encodeShard(input: ShardInput): Uint8Array {
  const { chunks, byteLength } = encodeShardChunks(input);
  return concatBytes(chunks, byteLength);
}

/**
 * Sees each group's values exactly as stored (float16 already rounded), as a
 * `[nTokens x width]` matrix whose column 0 is global neuron `firstNeuron`:
 * pass-1 statistics are taken here, on the bytes that pass 2 will read.
 */
export type GroupVisitor = (group: number, values: Matrix, firstNeuron: number) => void;

export interface EncodedShard {
  readonly header: ShardHeader;
  /** The object's bytes in order; concatenated they are `byteLength` long. */
  readonly chunks: readonly Uint8Array[];
  readonly byteLength: number;
}

/** Free bytes per neuron the shard encoder leaves after the group it visits (`encodeShardChunks` with memory). */
export const VISIT_SCRATCH_BYTES_PER_NEURON = 32;

/**
 * Encodes a shard as the chunks of its object, in order, for a streaming
 * upload: the group-major copy of the values is made once (the header needs
 * every section's CRC before the first byte goes out) and never concatenated.
 * With `memory`, the group chunks (and the visitor's values, which are only
 * valid during the call) point into it: reuse it only once they are written.
 * During a visit the memory after the visited values is free (later groups
 * are gathered after it), at least `VISIT_SCRATCH_BYTES_PER_NEURON` per
 * neuron of the group: a kernel may read the group in place and keep its
 * other arguments there (wasmKernels.ts `inPlace`; the top-sentence scan does).
 */
export function encodeShardChunks(input: ShardInput, onGroup?: GroupVisitor, memory?: ReusableMemory): EncodedShard {
  const { nTokens, nNeurons } = checkInput(input);
  const { sentences, dtype, groupWidth } = input;

  // --- tokens: interned in first-occurrence order
  const sentenceTokens = new Uint32Array(sentences.length);
  const typeIds = new Uint32Array(nTokens);
  const vocab = new Vocab();
  let t = 0;
  sentences.forEach((s, i) => {
    sentenceTokens[i] = s.nTokens;
    for (const tok of s.tokens) typeIds[t++] = vocab.intern(tok);
  });
  const nTypes = vocab.size;
  const typeBytesParts = vocab.tokens.map((tok) => encoder.encode(tok));
  const typeOffsets = new Uint32Array(nTypes + 1);
  let typeBytesLength = 0;
  typeBytesParts.forEach((p, i) => {
    typeBytesLength += p.length;
    typeOffsets[i + 1] = typeBytesLength;
  });
  const typeBytes = new Uint8Array(typeBytesLength);
  typeBytesParts.forEach((p, i) => typeBytes.set(p, typeOffsets[i]!));

  // --- groups
  // Every group's stored values side by side in one buffer (then, for
  // float16, one group's float32 values): `memory`'s when given.
  const nGroups = groupCount(nNeurons, groupWidth);
  // each group starts on a sector of `buffer` too (as in the file), so that
  // the store can write it to the disk from there (workers/store/direct.ts)
  const stored = align8(nTokens * nNeurons * (dtype === 'float32' ? 4 : 2)) + nGroups * GROUP_MEMORY_ALIGN;
  const scratch = dtype === 'float32' ? 0 : nTokens * Math.min(groupWidth, nNeurons) * 4;
  const visit = memory ? VISIT_SCRATCH_BYTES_PER_NEURON * Math.min(groupWidth, nNeurons) : 0;
  const buffer = memory ? memory.reserve(stored + scratch + visit) : new ArrayBuffer(stored + scratch);
  const groupBytes: Uint8Array[] = [];
  let at = 0;
  for (let g = 0; g < nGroups; g++) {
    const { start, end } = groupNeurons(nNeurons, groupWidth, g);
    const n = nTokens * (end - start);
    let values: Float32Array;
    if (dtype === 'float32') {
      values = new Float32Array(buffer, at, n);
      gatherGroup(input, start, end, values);
      groupBytes.push(new Uint8Array(buffer, at, n * 4));
      at = alignUp(at + n * 4, GROUP_MEMORY_ALIGN);
    } else {
      values = new Float32Array(buffer, stored, n);
      gatherGroup(input, start, end, values);
      const half = new Uint16Array(buffer, at, n);
      encodeHalf(values, half);
      groupBytes.push(new Uint8Array(buffer, at, n * 2));
      at = alignUp(at + n * 2, GROUP_MEMORY_ALIGN);
      if (onGroup) decodeHalf(half, values); // the visitor sees what is stored
    }
    onGroup?.(g, matrix(values, nTokens, end - start), start);
  }

  // --- layout: the header's length depends on the offsets it lists, which
  // depend on the header's length; pad the JSON to a fixed point.
  const bodies: Uint8Array[] = [
    new Uint8Array(sentenceTokens.buffer),
    new Uint8Array(typeIds.buffer),
    new Uint8Array(typeOffsets.buffer),
    typeBytes,
    ...groupBytes,
  ];
  const crcs = bodies.map(crcOf);
  let headerLength = 256;
  for (;;) {
    let at = SHARD_PREAMBLE_BYTES + headerLength;
    const sections: Section[] = bodies.map((b, i) => {
      if (i >= 4) at = alignUp(at, GROUP_ALIGN);
      const s: Section = [at, b.length, crcs[i]!];
      at = align8(at + b.length);
      return s;
    });
    const header: ShardHeader = {
      format: 'neurox-shard',
      version: SHARD_VERSION,
      dtype,
      nSentences: sentences.length,
      nTokens,
      nTypes,
      layers: [...input.layers],
      dModel: input.dModel,
      nNeurons,
      groupWidth,
      sections: {
        sentenceTokens: sections[0]!,
        typeIds: sections[1]!,
        typeOffsets: sections[2]!,
        typeBytes: sections[3]!,
        groups: sections.slice(4),
      },
      byteLength: at,
    };
    const json = encoder.encode(JSON.stringify(header));
    if (json.length > headerLength) {
      headerLength = align8(json.length + 64);
      continue;
    }
    const preamble = new Uint8Array(SHARD_PREAMBLE_BYTES + headerLength);
    preamble.set(encoder.encode(SHARD_MAGIC), 0);
    const view = new DataView(preamble.buffer);
    view.setUint32(8, SHARD_VERSION, true);
    view.setUint32(12, headerLength, true);
    preamble.fill(0x20, SHARD_PREAMBLE_BYTES);
    preamble.set(json, SHARD_PREAMBLE_BYTES);
    const chunks: Uint8Array[] = [preamble];
    let pos = preamble.length;
    bodies.forEach((b, i) => {
      const off = sections[i]![0];
      if (off > pos) chunks.push(new Uint8Array(off - pos));
      chunks.push(b);
      pos = off + b.length;
    });
    if (header.byteLength > pos) chunks.push(new Uint8Array(header.byteLength - pos));
    return { header, chunks, byteLength: header.byteLength };
  }
}

// ------------------------------------------------------------------ decoding

/** Length of the header JSON, from the first SHARD_PREAMBLE_BYTES bytes. `what` names the object in errors. */
export function decodePreamble(bytes: Uint8Array, what: string): { headerLength: number } {
  if (bytes.length < SHARD_PREAMBLE_BYTES) throw new InputError(`${what}: corrupt shard: ${bytes.length} bytes, shorter than the ${SHARD_PREAMBLE_BYTES}-byte preamble`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== SHARD_MAGIC) throw new InputError(`${what}: not an activation shard (bad magic)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== SHARD_VERSION) throw new InputError(`${what}: shard format version ${version} is not supported (expected ${SHARD_VERSION})`);
  const headerLength = view.getUint32(12, true);
  if (headerLength > 64 * 1024 * 1024) throw new InputError(`${what}: corrupt shard: header length ${headerLength}`);
  return { headerLength };
}

function isSection(x: unknown): x is Section {
  return Array.isArray(x) && x.length === 3 && x.every((v) => Number.isInteger(v) && v >= 0);
}

/**
 * Parses and checks the header. `bytes` starts at offset 0 and holds at least
 * the preamble and the header; `objectSize` (when known) is checked against it.
 */
export function decodeShardHeader(bytes: Uint8Array, what: string, objectSize?: number): ShardHeader {
  const { headerLength } = decodePreamble(bytes, what);
  const end = SHARD_PREAMBLE_BYTES + headerLength;
  if (bytes.length < end) throw new InputError(`${what}: corrupt shard: header needs ${end} bytes, got ${bytes.length}`);
  let h: ShardHeader;
  try {
    h = JSON.parse(decoder.decode(bytes.subarray(SHARD_PREAMBLE_BYTES, end))) as ShardHeader;
  } catch (err) {
    throw new InputError(`${what}: corrupt shard header: ${(err as Error).message}`);
  }
  const bad = (why: string): never => {
    throw new InputError(`${what}: corrupt shard header: ${why}`);
  };
  if (typeof h !== 'object' || h === null || h.format !== 'neurox-shard' || h.version !== SHARD_VERSION) bad('not a version 1 shard header');
  for (const k of ['nSentences', 'nTokens', 'nTypes', 'dModel', 'nNeurons', 'groupWidth', 'byteLength'] as const) {
    if (!Number.isInteger(h[k]) || h[k] < 0) bad(`${k} = ${String(h[k])}`);
  }
  if (h.dtype !== 'float32' && h.dtype !== 'float16') bad(`dtype = ${String(h.dtype)}`);
  if (!Array.isArray(h.layers) || h.layers.length * h.dModel !== h.nNeurons) bad(`${String(h.layers?.length)} layers x ${h.dModel} != ${h.nNeurons} neurons`);
  if (h.groupWidth < 1) bad('groupWidth = 0');
  const s = h.sections;
  if (typeof s !== 'object' || s === null || !Array.isArray(s.groups)) bad('no sections');
  const all: Section[] = [s.sentenceTokens, s.typeIds, s.typeOffsets, s.typeBytes, ...s.groups];
  for (const sec of all) {
    if (!isSection(sec) || sec[0] < end || sec[0] + sec[1] > h.byteLength) bad(`section ${JSON.stringify(sec)} outside [${end}, ${h.byteLength}]`);
  }
  if (s.sentenceTokens[1] !== 4 * h.nSentences) bad('sentenceTokens length');
  if (s.typeIds[1] !== 4 * h.nTokens) bad('typeIds length');
  if (s.typeOffsets[1] !== 4 * (h.nTypes + 1)) bad('typeOffsets length');
  if (s.groups.length !== groupCount(h.nNeurons, h.groupWidth)) bad(`${s.groups.length} groups for ${h.nNeurons} neurons in groups of ${h.groupWidth}`);
  const bytesPer = h.dtype === 'float32' ? 4 : 2;
  s.groups.forEach((g, k) => {
    const { start, end: e } = groupNeurons(h.nNeurons, h.groupWidth, k);
    if (g[1] !== h.nTokens * (e - start) * bytesPer) bad(`group ${k} has ${g[1]} bytes, expected ${h.nTokens * (e - start) * bytesPer}`);
  });
  if (objectSize !== undefined && objectSize !== h.byteLength) {
    throw new InputError(`${what}: corrupt shard: object is ${objectSize} bytes, header says ${h.byteLength}`);
  }
  return h;
}

/** Byte range `[start, end)` holding every token section (one GET). */
export function tokensRange(h: ShardHeader): readonly [number, number] {
  const last = h.sections.typeBytes;
  return [h.sections.sentenceTokens[0], last[0] + last[1]];
}

/** Byte range `[start, end)` of group `g`. */
export function groupRange(h: ShardHeader, g: number): readonly [number, number] {
  const sec = h.sections.groups[g];
  if (!sec) throw new RangeError(`group ${g} is out of range [0, ${h.sections.groups.length - 1}]`);
  return [sec[0], sec[0] + sec[1]];
}

/** The bytes of a section from a buffer that starts at `base`, CRC-checked. */
function sectionBytes(bytes: Uint8Array, base: number, sec: Section, name: string, what: string): Uint8Array {
  const from = sec[0] - base;
  if (from < 0 || from + sec[1] > bytes.length) throw new InputError(`${what}: corrupt shard: ${name} is outside the bytes read`);
  const out = bytes.subarray(from, from + sec[1]);
  if (crcOf(out) !== sec[2]) throw new InputError(`${what}: corrupt shard: ${name} fails its CRC-32 check`);
  return out;
}

/** Typed-array view when aligned, else a copy. */
function u32(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return new Uint32Array(bytes.slice().buffer);
}

/** Decodes the tokens from the bytes of `tokensRange(h)` (starting at its start). */
export function decodeTokens(h: ShardHeader, bytes: Uint8Array, what: string): ShardTokens {
  const base = tokensRange(h)[0];
  const s = h.sections;
  const sentenceTokens = u32(sectionBytes(bytes, base, s.sentenceTokens, 'sentenceTokens', what));
  const typeIds = u32(sectionBytes(bytes, base, s.typeIds, 'typeIds', what));
  const typeOffsets = u32(sectionBytes(bytes, base, s.typeOffsets, 'typeOffsets', what));
  const typeBytes = sectionBytes(bytes, base, s.typeBytes, 'typeBytes', what);
  let total = 0;
  for (const n of sentenceTokens) total += n;
  if (total !== h.nTokens) throw new InputError(`${what}: corrupt shard: sentences hold ${total} tokens, header says ${h.nTokens}`);
  const types: string[] = new Array<string>(h.nTypes);
  for (let i = 0; i < h.nTypes; i++) {
    const a = typeOffsets[i]!;
    const b = typeOffsets[i + 1]!;
    if (b < a || b > typeBytes.length) throw new InputError(`${what}: corrupt shard: type ${i} spans [${a}, ${b})`);
    types[i] = decoder.decode(typeBytes.subarray(a, b));
  }
  for (let i = 0; i < typeIds.length; i++) {
    if (typeIds[i]! >= h.nTypes) throw new InputError(`${what}: corrupt shard: token ${i} has type ${typeIds[i]} of ${h.nTypes}`);
  }
  return { sentenceTokens, typeIds, types };
}

/** Decodes group `g` from the bytes of `groupRange(h, g)`: a `[nTokens x width]` float32 matrix. */
export function decodeGroup(h: ShardHeader, g: number, bytes: Uint8Array, what: string): Matrix {
  const sec = h.sections.groups[g];
  if (!sec) throw new RangeError(`group ${g} is out of range [0, ${h.sections.groups.length - 1}]`);
  const raw = sectionBytes(bytes, sec[0], sec, `group ${g}`, what);
  const { start, end } = groupNeurons(h.nNeurons, h.groupWidth, g);
  const n = h.nTokens * (end - start);
  let values: Float32Array;
  if (h.dtype === 'float32') {
    values = raw.byteOffset % 4 === 0 ? new Float32Array(raw.buffer, raw.byteOffset, n) : new Float32Array(raw.slice().buffer);
  } else {
    const half = raw.byteOffset % 2 === 0 ? new Uint16Array(raw.buffer, raw.byteOffset, n) : new Uint16Array(raw.slice().buffer);
    values = new Float32Array(n);
    decodeHalf(half, values);
  }
  return matrix(values, h.nTokens, end - start);
}

/**
 * `decodeGroup` into `out` (`[nTokens x width]` float32) instead of a new
 * matrix: `bytes` are group `g`'s (as read with `groupRange`), CRC-checked.
 * For float32 shards `bytes` may be `out`'s own memory (pass 2 reads a
 * group straight into its kernel memory), and nothing is copied then.
 */
export function groupInto(h: ShardHeader, g: number, bytes: Uint8Array, out: Float32Array, what: string): void {
  const sec = h.sections.groups[g];
  if (!sec) throw new RangeError(`group ${g} is out of range [0, ${h.sections.groups.length - 1}]`);
  const raw = sectionBytes(bytes, sec[0], sec, `group ${g}`, what);
  const { start, end } = groupNeurons(h.nNeurons, h.groupWidth, g);
  const n = h.nTokens * (end - start);
  if (out.length !== n) throw new RangeError(`group ${g}: ${n} values into ${out.length} slots`);
  if (h.dtype === 'float16') {
    decodeHalf(raw.byteOffset % 2 === 0 ? new Uint16Array(raw.buffer, raw.byteOffset, n) : new Uint16Array(raw.slice().buffer), out);
  } else if (raw.buffer !== out.buffer || raw.byteOffset !== out.byteOffset) {
    new Uint8Array(out.buffer, out.byteOffset, 4 * n).set(raw);
  }
}

/** Reads bytes `[start, end)` of one object. */
export type RangeReader = (start: number, end: number) => Promise<Uint8Array>;

/** Reads and checks a shard's header with two ranged reads. */
export async function readShardHeader(read: RangeReader, what: string, objectSize?: number): Promise<ShardHeader> {
  const pre = await read(0, SHARD_PREAMBLE_BYTES);
  const { headerLength } = decodePreamble(pre, what);
  const rest = await read(SHARD_PREAMBLE_BYTES, SHARD_PREAMBLE_BYTES + headerLength);
  const all = new Uint8Array(SHARD_PREAMBLE_BYTES + rest.length);
  all.set(pre.subarray(0, SHARD_PREAMBLE_BYTES));
  all.set(rest, SHARD_PREAMBLE_BYTES);
  return decodeShardHeader(all, what, objectSize);
}

/** Decodes a whole shard back into sentences (tests and exports; pass 2 reads groups instead). */
export function decodeShard(bytes: Uint8Array, what: string): { header: ShardHeader; tokens: ShardTokens; sentences: SentenceActivations[] } {
  const header = decodeShardHeader(bytes, what, bytes.length);
  const [ta, tb] = tokensRange(header);
  const tokens = decodeTokens(header, bytes.subarray(ta, tb), what);
  const { nLayers, dModel } = { nLayers: header.layers.length, dModel: header.dModel };
  const sentences: SentenceActivations[] = [];
  const starts: number[] = [];
  let row = 0;
  for (const n of tokens.sentenceTokens) {
    starts.push(row);
    sentences.push({
      tokens: Array.from(tokens.typeIds.subarray(row, row + n), (id) => tokens.types[id]!),
      data: new Float32Array(nLayers * n * dModel),
      nLayers,
      nTokens: n,
      dModel,
    });
    row += n;
  }
  for (let g = 0; g < header.sections.groups.length; g++) {
    const [ga, gb] = groupRange(header, g);
    const m = decodeGroup(header, g, bytes.subarray(ga, gb), what);
    const { start } = groupNeurons(header.nNeurons, header.groupWidth, g);
    sentences.forEach((s, i) => {
      const r0 = starts[i]!;
      for (let t = 0; t < s.nTokens; t++) {
        for (let j = 0; j < m.cols; j++) {
          const gn = start + j;
          const l = Math.floor(gn / dModel);
          (s.data as Float32Array)[(l * s.nTokens + t) * dModel + (gn - l * dModel)] = m.data[(r0 + t) * m.cols + j]!;
        }
      }
    });
  }
  return { header, tokens, sentences };
}
