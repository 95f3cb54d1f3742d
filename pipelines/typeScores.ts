/**
 * Pass 2 of top words: with each neuron's corpus mean mu (pass 1), per token
 * type and per neuron, the sums that NeuroX's score needs.
 *
 * NeuroX scores a type by mean over its occurrences of |x - mu| / sigma,
 * normalised by the best type; sigma cancels, so a type's score for a neuron
 * is `(sumAbs / count) / max over types of (sumAbs / count)`. Summing
 * |x - mu| (never z = |x - mu| / sigma, which rounds once more per token)
 * keeps exact ties exact. `sumX` gives the signed mean activation of the type
 * (NeuroX reports neither it nor the count).
 *
 * A `TypeScores` covers one neuron block `[firstNeuron, firstNeuron + nNeurons)`
 * and a set of shards. Types are kept in global first-occurrence order:
 * each carries the position of its first occurrence as (shard, token offset
 * within the shard), which makes merging shards exact and order-free for the
 * type order. Build one per shard with `TypeScoresBuilder`, combine with
 * `TypeScoresReducer` / `reduceTypeScores` (typeScoresReduce.ts), rank with
 * `rankTopWords` (topWords.ts).
 */
import { InputError } from './errors.ts';
import type { Matrix } from './matrix.ts';
import { blockColumn, throwFirstNonFinite, type BlockOptions } from './moments.ts';
import { Vocab } from './vocab.ts';
import { scratch, type Scratch } from './wasmKernels.ts';

export interface TypeScores {
  readonly firstNeuron: number;
  readonly nNeurons: number;
  /** `[nNeurons]` the means the sums were taken around (pass 1's). */
  readonly mu: Float64Array;
  /** Shard indices folded in, ascending, distinct. */
  readonly shards: Int32Array;
  /** `[nTypes]` in first-occurrence order over the shards, by (firstShard, firstOffset). */
  readonly tokens: readonly string[];
  /** `[nTypes]` shard of the type's first occurrence. */
  readonly firstShard: Int32Array;
  /** `[nTypes]` token offset of the first occurrence within that shard. */
  readonly firstOffset: Float64Array;
  /** `[nTypes]` occurrences. */
  readonly count: Float64Array;
  /** `[nTypes x nNeurons]` row-major: sum over occurrences of |x - mu|. */
  readonly sumAbs: Float64Array;
  /** `[nTypes x nNeurons]` row-major: sum over occurrences of x. */
  readonly sumX: Float64Array;
  /**
   * Where `sumAbs` lives in WebAssembly memory, when it does (a reducer's
   * tables): its byte offset there, and where scratch is free from (to the
   * end of the memory). The ranking's kernels then work beside the table
   * instead of on a copy of it. Valid while `sumAbs` is.
   */
  readonly kernelHome?: { readonly scratch: Scratch; readonly sumAbsOff: number; readonly freeOff: number };
}

export interface TypeScoresBlock {
  /** Index of the shard these rows belong to (orders types across shards). */
  readonly shard: number;
  /** First global neuron of the block. */
  readonly firstNeuron: number;
  /** `[nNeurons]` each neuron's corpus mean (the block's slice of pass 1's `mean`). */
  readonly mu: Float64Array;
}

/**
 * Collects one shard's rows (sentences or any token-aligned chunks), then
 * computes its `TypeScores` for one neuron block in `finish()`. It keeps
 * references to the added matrices (no copy) until `reset`.
 *
 * `setBlock` moves to another neuron block of the same rows (the grouping of
 * rows by type is kept); `reset` starts a new shard. Both keep the builder's
 * buffers: first touches of fresh memory are slow (about 7 ms per MB on this
 * project's VMs), so a pipeline reuses one builder. The arrays of a finished
 * `TypeScores` view those buffers: they stay valid until the next `finish`,
 * `setBlock` or `reset`; copy, encode or reduce them before.
 */
export class TypeScoresBuilder {
  private vocab = new Vocab();
  private firstOffset: number[] = [];
  private chunks: Chunk[] = [];
  private nRows = 0;
  private grouped = false;
  private typeOf = new Int32Array(0);
  private order = new Int32Array(0);
  private rowChunk = new Int32Array(0);
  private rowBase = new Int32Array(0);
  private count = new Float64Array(0);
  private start = new Int32Array(0);
  private sumAbs = new Float64Array(0);
  private sumX = new Float64Array(0);
  private shard = 0;
  private firstNeuron = 0;
  private mu = new Float64Array(0);

  constructor(block: TypeScoresBlock) {
    this.reset(block);
  }

  /** Starts a new shard (and neuron block), keeping the buffers. */
  reset(block: TypeScoresBlock): void {
    if (!Number.isInteger(block.shard) || block.shard < 0 || block.shard > 0x7fffffff) {
      throw new InputError(`type scores: bad shard index ${block.shard}`);
    }
    this.vocab = new Vocab();
    this.firstOffset = [];
    this.chunks = [];
    this.nRows = 0;
    this.grouped = false;
    this.shard = block.shard;
    this.setBlock(block);
  }

  /** Moves to another neuron block of the same rows; every added matrix must cover it. */
  setBlock(block: { readonly firstNeuron: number; readonly mu: Float64Array }): void {
    if (!Number.isInteger(block.firstNeuron) || block.firstNeuron < 0) {
      throw new InputError(`type scores: bad first neuron ${block.firstNeuron}`);
    }
    for (let j = 0; j < block.mu.length; j++) {
      if (!Number.isFinite(block.mu[j]!)) throw new InputError(`type scores: mean of neuron ${block.firstNeuron + j} is ${block.mu[j]}`);
    }
    for (const c of this.chunks) {
      blockColumn(c.m, block.firstNeuron, block.mu.length, { columnOffset: c.columnOffset, label: c.label });
    }
    this.firstNeuron = block.firstNeuron;
    this.mu = Float64Array.from(block.mu);
  }

  /**
   * Adds `tokens.length` rows: `m` is `[tokens.length x cols]`, token-major,
   * covering the block (see `BlockOptions.columnOffset`).
   */
  add(tokens: readonly string[], m: Matrix, options?: BlockOptions): void {
    const { k, columnOffset } = this.addChunk(tokens.length, m, options);
    for (let i = 0; i < tokens.length; i++) {
      const r = this.nRows + i;
      const before = this.vocab.size;
      const id = this.vocab.intern(tokens[i]!);
      if (id === before) this.firstOffset.push(r);
      this.setRow(r, id, k, i * m.cols - columnOffset);
    }
    this.nRows += tokens.length;
  }

  /**
   * `add` for tokens given as ids into `types`, as a shard stores them
   * (typeIds, types): the same rows and types as `add(ids mapped to
   * strings, m)`, with each type interned once instead of each token (pass 2
   * adds every shard once per neuron block).
   */
  addIds(types: readonly string[], typeIds: ArrayLike<number>, m: Matrix, options?: BlockOptions): void {
    for (let i = 0; i < typeIds.length; i++) {
      if (!(typeIds[i]! < types.length)) throw new InputError(`${this.labelOf(options)}: token ${i} has type ${typeIds[i]} of ${types.length}`);
    }
    const { k, columnOffset } = this.addChunk(typeIds.length, m, options);
    const local = new Int32Array(types.length).fill(-1);
    for (let i = 0; i < typeIds.length; i++) {
      const t = typeIds[i]!;
      const r = this.nRows + i;
      let id = local[t]!;
      if (id < 0) {
        const before = this.vocab.size;
        id = local[t] = this.vocab.intern(types[t]!);
        if (id === before) this.firstOffset.push(r);
      }
      this.setRow(r, id, k, i * m.cols - columnOffset);
    }
    this.nRows += typeIds.length;
  }

  // Checks `m` (n rows covering the block), makes room for n more rows and
  // keeps the matrix; the caller fills rows [nRows, nRows + n) and moves nRows.
  private addChunk(n: number, m: Matrix, options?: BlockOptions): { k: number; columnOffset: number } {
    const label = this.labelOf(options);
    if (m.rows !== n) {
      throw new InputError(`${label}: ${n} tokens but ${m.rows} activation rows`);
    }
    const columnOffset = options?.columnOffset ?? 0;
    blockColumn(m, this.firstNeuron, this.mu.length, { columnOffset, label });
    // Row offsets are int32: V8 indexes typed arrays fastest with small
    // integers (float64 offsets cost a conversion check per element, 3x).
    if (m.data.length + columnOffset > 0x7fffffff) {
      throw new InputError(`${label}: ${m.data.length} activations in one matrix; add at most 2^31 - 1 at a time`);
    }
    const total = this.nRows + n;
    if (total > this.typeOf.length) {
      const cap = Math.max(total, this.typeOf.length * 2, 1024);
      this.typeOf = grow(this.typeOf, cap, this.nRows);
      this.rowChunk = grow(this.rowChunk, cap, this.nRows);
      this.rowBase = grow(this.rowBase, cap, this.nRows);
      this.order = new Int32Array(cap);
    }
    const k = this.chunks.length;
    this.chunks.push({ m, columnOffset, label });
    this.grouped = false;
    return { k, columnOffset };
  }

  // How errors name the next chunk: the caller's label, else its sentence number.
  private labelOf(options?: BlockOptions): string {
    return options?.label ?? `sentence ${this.chunks.length}`;
  }

  // Row r of the shard: its type, its chunk, and where its neuron g sits in
  // that chunk's data (base + g: row i's neuron g is at i * cols + g - columnOffset).
  private setRow(r: number, type: number, chunk: number, base: number): void {
    this.typeOf[r] = type;
    this.rowChunk[r] = chunk;
    this.rowBase[r] = base;
  }

  /** Rows added since the last reset. */
  get rows(): number {
    return this.nRows;
  }

  /** The shard's sums for the current block; arrays view the builder's buffers (see the class doc). */
  finish(): TypeScores {
    const { shard, firstNeuron, mu } = this;
    const B = mu.length;
    const nTypes = this.vocab.size;
    if (!this.grouped) this.group();
    if (nTypes * B > this.sumAbs.length) {
      const cap = Math.max(nTypes * B, this.sumAbs.length * 2);
      this.sumAbs = new Float64Array(cap);
      this.sumX = new Float64Array(cap);
    }
    const { sumAbs, sumX } = this;
    this.sumTypes((t, abs, x) => {
      sumAbs.set(abs, t * B);
      sumX.set(x, t * B);
    });
    const n = nTypes * B;
    return {
      firstNeuron,
      nNeurons: B,
      mu,
      shards: Int32Array.of(shard),
      tokens: this.vocab.tokens.slice(),
      firstShard: new Int32Array(nTypes).fill(shard),
      firstOffset: Float64Array.from(this.firstOffset),
      count: this.count.subarray(0, nTypes),
      sumAbs: sumAbs.subarray(0, n),
      sumX: sumX.subarray(0, n),
    };
  }

  /**
   * Adds this shard's sums for the current block straight into `reducer`:
   * the same bytes as `reducer.add(builder.finish())`, without the shard's
   * types x neurons table. For in-process runs that reduce as they go.
   * Returns whether `visitor` was shown the rows (where the sink copied the
   * block whole into its kernel memory); else the caller visits them itself.
   */
  finishInto(reducer: TypeScoresSink, visitor?: RowsVisitor): boolean {
    let visited = false;
    const { shard, firstNeuron, mu } = this;
    if (!this.grouped) this.group();
    reducer.beginShard({ firstNeuron, nNeurons: mu.length, mu, shards: Int32Array.of(shard) });
    const tokens = this.vocab.tokens;
    const { count, firstOffset } = this;
    const grouped: GroupedShard = {
      shard,
      tokens,
      firstOffset,
      count,
      start: this.start,
      order: this.order,
      rows: this.nRows,
      copyRows: (k0, k1, f32, at) => this.copyRows(k0, k1, f32, at),
      copyBlock: (f32, at) => this.copyBlock(f32, at),
      throwNonFinite: () => this.throwNonFinite(),
      visitor: visitor && {
        bytes: visitor.bytes,
        visit: (sc, dataOff, rows, at) => {
          visited = true;
          visitor.visit(sc, dataOff, rows, at);
        },
      },
    };
    if (reducer.addGrouped?.(grouped)) return visited;
    this.sumTypes((t, abs, x) => reducer.addType(tokens[t]!, shard, firstOffset[t]!, count[t]!, abs, x, 0));
    return false;
  }

  // Rows order[k0..k1) of the block, one after another from f32[at].
  private copyRows(k0: number, k1: number, f32: Float32Array, at: number): void {
    const B = this.mu.length;
    for (let k = k0; k < k1; k++) f32.set(this.row(this.order[k]!), at + (k - k0) * B);
  }

  // The block's rows, [nRows x B] float32, copied to f32[at...] (row r at at + r * B).
  private copyBlock(f32: Float32Array, at: number): void {
    const B = this.mu.length;
    const one = this.chunks.length === 1 ? this.chunks[0]! : null;
    if (one && one.m.cols === B && this.firstNeuron === one.columnOffset) {
      f32.set(one.m.data, at);
      return;
    }
    for (let r = 0; r < this.nRows; r++) f32.set(this.row(r), at + r * B);
  }

  // Row r's values for the block (a view).
  private row(r: number): Float32Array {
    const base = this.rowBase[r]! + this.firstNeuron;
    return this.chunks[this.rowChunk[r]!]!.m.data.subarray(base, base + this.mu.length);
  }

  /**
   * Each type's sums for the current block, in type order, handed to `emit`
   * as `[B]` rows that are only valid during the call. The SIMD kernel
   * (wasmKernels.ts) runs on a copy of the block in its memory; without it,
   * or for blocks over 2 GiB, the JS loop gives the same bits.
   */
  private sumTypes(emit: (t: number, abs: Float64Array, x: Float64Array) => void): void {
    const { firstNeuron, mu, order, start, rowChunk, rowBase } = this;
    const B = mu.length;
    const nTypes = this.vocab.size;
    const nRows = this.nRows;
    const datas = this.chunks.map((c) => c.m.data);
    // Scratch layout (bytes): mu, abs, x f64 [B]; order i32 [nRows]; the block's f32 [nRows x B].
    const orderOff = 24 * B;
    const dataOff = Math.ceil((orderOff + 4 * nRows) / 16) * 16;
    const sc = scratch(dataOff + 4 * nRows * B);
    let abs: Float64Array;
    let x: Float64Array;
    let sumType: (t: number) => void;
    if (sc !== null) {
      const { f32, f64, i32, kernels } = sc;
      f64.set(mu, 0);
      i32.set(order.subarray(0, nRows), orderOff / 4);
      this.copyBlock(f32, dataOff / 4);
      abs = f64.subarray(B, 2 * B);
      x = f64.subarray(2 * B, 3 * B);
      sumType = (t) => kernels.typeSums(dataOff, B, orderOff, start[t]!, start[t + 1]!, 0, 8 * B, 16 * B);
    } else {
      abs = new Float64Array(B);
      x = new Float64Array(B);
      sumType = (t) => accumulateType(datas, rowChunk, rowBase, firstNeuron, order, start[t]!, start[t + 1]!, mu, abs, x);
    }
    for (let t = 0; t < nTypes; t++) {
      sumType(t);
      for (let j = 0; j < B; j++) {
        if (!Number.isFinite(abs[j]!)) this.throwNonFinite();
      }
      emit(t, abs, x);
    }
  }

  // Rows grouped by type (counting sort, stable): each type's sums stay in
  // cache while its rows stream through, one write per type row instead of
  // one per token, and every type's rows in corpus order.
  private group(): void {
    const nTypes = this.vocab.size;
    const nRows = this.nRows;
    if (nTypes + 1 > this.start.length) {
      const cap = Math.max(nTypes + 1, this.start.length * 2);
      this.start = new Int32Array(cap);
      this.count = new Float64Array(cap);
    }
    const { typeOf, order, start, count } = this;
    count.fill(0, 0, nTypes);
    for (let r = 0; r < nRows; r++) count[typeOf[r]!] = count[typeOf[r]!]! + 1;
    start[0] = 0;
    for (let t = 0; t < nTypes; t++) start[t + 1] = start[t]! + count[t]!;
    for (let r = 0; r < nRows; r++) {
      const t = typeOf[r]!;
      order[start[t]!] = r;
      start[t] = start[t]! + 1;
    }
    for (let t = nTypes; t > 0; t--) start[t] = start[t - 1]!;
    start[0] = 0;
    this.grouped = true;
  }

  private throwNonFinite(): never {
    const B = this.mu.length;
    for (const c of this.chunks) {
      throwFirstNonFinite(c.m, this.firstNeuron - c.columnOffset, B, c.columnOffset, c.label);
    }
    throw new Error('type scores: non-finite sum without a non-finite activation');
  }
}

interface Chunk {
  readonly m: Matrix;
  readonly columnOffset: number;
  readonly label: string;
}

function grow(a: Int32Array, n: number, keep: number): Int32Array<ArrayBuffer> {
  const g = new Int32Array(n);
  g.set(a.subarray(0, keep));
  return g;
}

/**
 * The pass-2 loop for one type (JS fallback of the SIMD kernel, same
 * arithmetic): over its rows `order[k0..k1)` in corpus order, for each neuron
 * of the block, outAbs = sum |x - mu|, outX = sum x; rows four at a time
 * (acc + ((r0 + r1) + (r2 + r3)): each sum loaded and stored once per four
 * values), then one at a time. Row r's neuron g is at
 * `datas[rowChunk[r]][rowBase[r] + g]`.
 */
function accumulateType(
  datas: readonly Float32Array[], rowChunk: Int32Array, rowBase: Int32Array, firstNeuron: number,
  order: Int32Array, k0: number, k1: number, mu: Float64Array, outAbs: Float64Array, outX: Float64Array,
): void {
  const B = mu.length;
  outAbs.fill(0);
  outX.fill(0);
  let k = k0;
  for (; k + 4 <= k1; k += 4) {
    const r0 = order[k]!;
    const r1 = order[k + 1]!;
    const r2 = order[k + 2]!;
    const r3 = order[k + 3]!;
    const a0 = datas[rowChunk[r0]!]!;
    const a1 = datas[rowChunk[r1]!]!;
    const a2 = datas[rowChunk[r2]!]!;
    const a3 = datas[rowChunk[r3]!]!;
    const b0 = rowBase[r0]! + firstNeuron;
    const b1 = rowBase[r1]! + firstNeuron;
    const b2 = rowBase[r2]! + firstNeuron;
    const b3 = rowBase[r3]! + firstNeuron;
    for (let j = 0; j < B; j++) {
      const m = mu[j]!;
      const x0 = a0[b0 + j]!;
      const x1 = a1[b1 + j]!;
      const x2 = a2[b2 + j]!;
      const x3 = a3[b3 + j]!;
      outAbs[j] = outAbs[j]! + (Math.abs(x0 - m) + Math.abs(x1 - m) + (Math.abs(x2 - m) + Math.abs(x3 - m)));
      outX[j] = outX[j]! + (x0 + x1 + (x2 + x3));
    }
  }
  for (; k < k1; k++) {
    const r = order[k]!;
    const a = datas[rowChunk[r]!]!;
    const b = rowBase[r]! + firstNeuron;
    for (let j = 0; j < B; j++) {
      const x = a[b + j]!;
      outAbs[j] = outAbs[j]! + Math.abs(x - mu[j]!);
      outX[j] = outX[j]! + x;
    }
  }
}

/** What `finishInto` feeds: `TypeScoresReducer` (typeScoresReduce.ts). */
export interface TypeScoresSink {
  beginShard(p: Pick<TypeScores, 'firstNeuron' | 'nNeurons' | 'mu' | 'shards'>): void;
  addType(token: string, shard: number, offset: number, count: number, sumAbs: Float64Array, sumX: Float64Array, from: number): void;
  /**
   * Sums and adds a whole grouped shard itself (the SIMD kernel into a table
   * in WebAssembly memory), with the same bytes as `addType` per type; false
   * (nothing added) when it cannot: then `addType` gets every type.
   */
  addGrouped?(g: GroupedShard): boolean;
}

/** A builder's shard for the current block, its rows grouped by type (`finishInto`). */
export interface GroupedShard {
  readonly shard: number;
  /** `[nTypes]` the shard's types in first-occurrence order. */
  readonly tokens: readonly string[];
  /** `[nTypes]` row of each type's first occurrence. */
  readonly firstOffset: readonly number[];
  /** `[>= nTypes]` occurrences per type. */
  readonly count: Float64Array;
  /** `[>= nTypes + 1]` type t's rows are `order[start[t]..start[t + 1])`, in row order. */
  readonly start: Int32Array;
  /** `[>= rows]` row indices grouped by type. */
  readonly order: Int32Array;
  readonly rows: number;
  /** Copies rows `order[k0..k1)` (grouped by type), `[k1 - k0 x nNeurons]` float32, to `f32[at...]`. */
  copyRows(k0: number, k1: number, f32: Float32Array, at: number): void;
  /** Copies every row in order, `[rows x nNeurons]` float32, to `f32[at...]`. */
  copyBlock(f32: Float32Array, at: number): void;
  /** Throws InputError naming the first NaN or infinite activation of the block. */
  throwNonFinite(): never;
  /** Shown the block's rows where the sink copied them whole into kernel memory, before it sums them (`finishInto`'s `visitor`). */
  readonly visitor?: RowsVisitor;
}

/**
 * Work on a shard's block rows while a sink holds them in its WebAssembly
 * memory (`[rows x nNeurons]` float32 at byte `dataOff` of `sc`, in row
 * order), so it needs no copy of its own: `bytes` of scratch for it at
 * byte `at` (16-aligned, past the rows). Pass 2 counts its histograms so.
 */
export interface RowsVisitor {
  readonly bytes: number;
  visit(sc: Scratch, dataOff: number, rows: number, at: number): void;
}
