/**
 * Byte layout of the HDF5 structures a NeuroX activations file needs, and
 * nothing more: superblock v0, version 1 object headers, a symbol-table root
 * group (v1 B-tree, symbol nodes, local heap), contiguous float datasets and
 * one variable-length UTF-8 string in a global heap. These are the structures
 * h5py writes by default (libver 'earliest'), so every HDF5 reader since
 * 1.8 reads them. h5wasm cannot create float16 datasets, hence this writer.
 * Reference: the HDF5 File Format Specification (version 0 superblock).
 * All integers little-endian; offsets and lengths are 8 bytes.
 */

const UNDEFINED_ADDRESS = 0xffffffffffffffffn;
/** HDF5's marker for "no free block" in a local heap (H5HL_FREE_NULL). */
const LOCAL_HEAP_NO_FREE_BLOCK = 1;
/** Group B-tree and symbol-node fan-out (h5py's defaults, stored in the superblock). */
export const GROUP_LEAF_K = 4;
export const GROUP_INTERNAL_K = 16;
export const SUPERBLOCK_SIZE = 96;
const SYMBOL_ENTRY_SIZE = 40;
const SNOD_SIZE = 8 + 2 * GROUP_LEAF_K * SYMBOL_ENTRY_SIZE;
const BTREE_NODE_SIZE = 24 + 2 * GROUP_INTERNAL_K * 8 + (2 * GROUP_INTERNAL_K + 1) * 8;
const GLOBAL_HEAP_MIN_SIZE = 4096;

export const pad8 = (n: number): number => Math.ceil(n / 8) * 8;

/** A little-endian byte writer over a fixed-size buffer. */
class Out {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  pos = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(v: number): this { this.view.setUint8(this.pos, v); this.pos += 1; return this; }
  u16(v: number): this { this.view.setUint16(this.pos, v, true); this.pos += 2; return this; }
  u32(v: number): this { this.view.setUint32(this.pos, v, true); this.pos += 4; return this; }
  u64(v: number | bigint): this { this.view.setBigUint64(this.pos, BigInt(v), true); this.pos += 8; return this; }
  ascii(s: string): this { for (let i = 0; i < s.length; i++) this.u8(s.charCodeAt(i)); return this; }
  raw(b: Uint8Array): this { this.bytes.set(b, this.pos); this.pos += b.length; return this; }
  skip(n: number): this { this.pos += n; return this; }
  at(pos: number): this { this.pos = pos; return this; }
}

// ---------------------------------------------------------------- messages

export interface Message { readonly type: number; readonly flags: number; readonly body: Uint8Array }

/** Dataspace message v1, simple extent with max dims = dims (as h5py writes). */
export function dataspace(dims: readonly number[]): Message {
  const o = new Out(8 + 16 * dims.length);
  o.u8(1).u8(dims.length).u8(1).skip(5);
  for (const d of dims) o.u64(d);
  for (const d of dims) o.u64(d);
  return { type: 0x0001, flags: 0, body: o.bytes };
}

/** Datatype message: IEEE little-endian float of 2 or 4 bytes. */
export function floatType(size: 2 | 4): Message {
  const [precision, expLoc, expSize, mantSize, bias] = size === 4 ? [32, 23, 8, 23, 127] : [16, 10, 5, 10, 15];
  const o = new Out(20);
  // version 1 | class 1 (float); bit field: LE, implied msb (0x20), sign bit position
  o.u8(0x11).u8(0x20).u8(precision - 1).u8(0).u32(size);
  o.u16(0).u16(precision).u8(expLoc).u8(expSize).u8(0).u8(mantSize).u32(bias);
  return { type: 0x0003, flags: 1, body: o.bytes };
}

/** Datatype message: variable-length UTF-8 string (h5py's `special_dtype(vlen=str)`). */
export function vlenStringType(): Message {
  const o = new Out(20);
  // version 1 | class 9 (vlen); type string, null-terminated, UTF-8; size = length + heap id
  o.u8(0x19).u8(0x01).u8(0x01).u8(0).u32(16);
  // base type: 1-byte unsigned integer
  o.u8(0x10).u8(0).u8(0).u8(0).u32(1).u16(0).u16(8);
  return { type: 0x0003, flags: 1, body: o.bytes };
}

/** Fill value message v2: allocation late, fill value undefined-but-default (as h5py writes). */
export function fillValue(writeTime: number): Message {
  return { type: 0x0005, flags: 1, body: Uint8Array.of(2, 2, writeTime, 1, 0, 0, 0, 0) };
}

/** Data layout message v3, contiguous storage. */
export function contiguousLayout(address: number, size: number): Message {
  const o = new Out(18);
  o.u8(3).u8(1).u64(address).u64(size);
  return { type: 0x0008, flags: 0, body: o.bytes };
}

export function symbolTable(btreeAddress: number, heapAddress: number): Message {
  const o = new Out(16);
  o.u64(btreeAddress).u64(heapAddress);
  return { type: 0x0011, flags: 0, body: o.bytes };
}

/** Version 1 object header holding `messages` (bodies padded to 8 bytes). */
export function objectHeader(messages: readonly Message[]): Uint8Array {
  const size = messages.reduce((n, m) => n + 8 + pad8(m.body.length), 0);
  const o = new Out(16 + size);
  o.u8(1).u8(0).u16(messages.length).u32(1).u32(size).u32(0);
  for (const m of messages) {
    o.u16(m.type).u16(pad8(m.body.length)).u8(m.flags).skip(3);
    o.raw(m.body).skip(pad8(m.body.length) - m.body.length);
  }
  return o.bytes;
}

/** Object header of a contiguous float dataset whose data starts right after the header. */
export function floatDatasetHeader(address: number, dims: readonly number[], size: 2 | 4): Uint8Array {
  const nbytes = dims.reduce((a, b) => a * b, 1) * size;
  const messages = (dataAddress: number) => [dataspace(dims), floatType(size), fillValue(2), contiguousLayout(dataAddress, nbytes)];
  const length = objectHeader(messages(0)).length;
  return objectHeader(messages(address + length));
}

// ---------------------------------------------------------------- file tail

export interface Link { readonly name: string; readonly headerAddress: number }

/**
 * Everything after the last sentence dataset: the global heap holding the
 * `sentence_to_index` JSON, that dataset, the root group's name heap, symbol
 * nodes, B-tree and object header. Returns the bytes to write at `address`
 * and the superblock to write at 0.
 */
export function fileTail(address: number, links: readonly Link[], sentenceIndexJson: Uint8Array): { tail: Uint8Array; superblock: Uint8Array } {
  // global heap collection with one object (the JSON text) and the free-space object
  const gcolAddress = address;
  const objectSpan = 16 + pad8(sentenceIndexJson.length);
  const gcolSize = Math.max(GLOBAL_HEAP_MIN_SIZE, 16 + objectSpan + 16);
  // sentence_to_index: a [1] dataset of one vlen string, its 16-byte element after its header
  const s2iAddress = gcolAddress + gcolSize;
  const s2iMessages = (dataAddress: number) => [dataspace([1]), vlenStringType(), fillValue(0), contiguousLayout(dataAddress, 16)];
  const s2iHeaderLength = objectHeader(s2iMessages(0)).length;
  const s2iHeader = objectHeader(s2iMessages(s2iAddress + s2iHeaderLength));
  const all = [...links, { name: 'sentence_to_index', headerAddress: s2iAddress }];
  all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)); // strcmp order (names are ASCII)
  for (let i = 1; i < all.length; i++) {
    if (all[i]!.name === all[i - 1]!.name) throw new Error(`hdf5: duplicate link name ${all[i]!.name}`);
  }
  // local heap: "" at offset 0, then each name NUL-terminated and padded to 8
  const nameOffsets: number[] = [];
  let heapDataSize = 8;
  for (const link of all) {
    nameOffsets.push(heapDataSize);
    heapDataSize += pad8(link.name.length + 1);
  }
  const heapAddress = s2iAddress + s2iHeader.length + 16;
  const snodAddress = heapAddress + 32 + heapDataSize;
  const perSnod = 2 * GROUP_LEAF_K;
  const nSnods = Math.ceil(all.length / perSnod);
  // B-tree levels, bottom-up: level 0 points at symbol nodes, higher levels at nodes below
  interface Node { children: number[]; keys: number[]; level: number; address: number }
  const perNode = 2 * GROUP_INTERNAL_K;
  const levels: Node[][] = [];
  let childAddresses = Array.from({ length: nSnods }, (_, i) => snodAddress + i * SNOD_SIZE);
  // a child's right key is the heap offset of the last name below it
  let childRightKeys = Array.from({ length: nSnods }, (_, i) => nameOffsets[Math.min((i + 1) * perSnod, all.length) - 1]!);
  let next = snodAddress + nSnods * SNOD_SIZE;
  for (let level = 0; ; level++) {
    const nodes: Node[] = [];
    for (let start = 0; start < childAddresses.length; start += perNode) {
      const end = Math.min(start + perNode, childAddresses.length);
      const leftKey = start === 0 ? 0 : childRightKeys[start - 1]!;
      nodes.push({ children: childAddresses.slice(start, end), keys: [leftKey, ...childRightKeys.slice(start, end)], level, address: next });
      next += BTREE_NODE_SIZE;
    }
    levels.push(nodes);
    if (nodes.length === 1) break;
    childAddresses = nodes.map((n) => n.address);
    childRightKeys = nodes.map((n) => n.keys[n.keys.length - 1]!);
  }
  const btreeRoot = levels[levels.length - 1]![0]!;
  const rootHeaderAddress = next;
  const rootHeader = objectHeader([symbolTable(btreeRoot.address, heapAddress)]);
  const end = rootHeaderAddress + rootHeader.length;

  const o = new Out(end - address);
  const rel = (abs: number) => abs - address;
  // global heap
  o.at(rel(gcolAddress)).ascii('GCOL').u8(1).skip(3).u64(gcolSize);
  o.u16(1).u16(0).u32(0).u64(sentenceIndexJson.length).raw(sentenceIndexJson).skip(pad8(sentenceIndexJson.length) - sentenceIndexJson.length);
  o.u16(0).u16(0).u32(0).u64(gcolSize - 16 - objectSpan);
  // sentence_to_index
  o.at(rel(s2iAddress)).raw(s2iHeader).u32(sentenceIndexJson.length).u64(gcolAddress).u32(1);
  // local heap
  o.at(rel(heapAddress)).ascii('HEAP').u8(0).skip(3).u64(heapDataSize).u64(LOCAL_HEAP_NO_FREE_BLOCK).u64(heapAddress + 32);
  all.forEach((link, i) => o.at(rel(heapAddress + 32 + nameOffsets[i]!)).ascii(link.name));
  // symbol nodes
  for (let s = 0; s < nSnods; s++) {
    const entries = all.slice(s * perSnod, (s + 1) * perSnod);
    o.at(rel(snodAddress + s * SNOD_SIZE)).ascii('SNOD').u8(1).u8(0).u16(entries.length);
    entries.forEach((link, i) => o.u64(nameOffsets[s * perSnod + i]!).u64(link.headerAddress).u32(0).u32(0).skip(16));
  }
  // B-tree nodes, siblings linked within each level
  for (const nodes of levels) {
    nodes.forEach((node, i) => {
      o.at(rel(node.address)).ascii('TREE').u8(0).u8(node.level).u16(node.children.length);
      o.u64(i > 0 ? nodes[i - 1]!.address : UNDEFINED_ADDRESS).u64(i + 1 < nodes.length ? nodes[i + 1]!.address : UNDEFINED_ADDRESS);
      node.children.forEach((child, c) => o.u64(node.keys[c]!).u64(child));
      o.u64(node.keys[node.children.length]!);
    });
  }
  o.at(rel(rootHeaderAddress)).raw(rootHeader);

  const sb = new Out(SUPERBLOCK_SIZE);
  sb.raw(Uint8Array.of(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a));
  sb.u8(0).u8(0).u8(0).u8(0).u8(0).u8(8).u8(8).u8(0);
  sb.u16(GROUP_LEAF_K).u16(GROUP_INTERNAL_K).u32(0);
  sb.u64(0).u64(UNDEFINED_ADDRESS).u64(end).u64(UNDEFINED_ADDRESS);
  // root group symbol table entry, caching its B-tree and heap addresses
  sb.u64(0).u64(rootHeaderAddress).u32(1).u32(0).u64(btreeRoot.address).u64(heapAddress);
  return { tail: o.bytes, superblock: sb.bytes };
}
