/**
 * Top-k sentences per neuron by max |activation|, and each neuron's signed
 * max/min, accumulated during pass 1 over shards and merged exactly.
 *
 * A sentence's score for a neuron is the largest |activation| over its tokens;
 * the entry keeps the signed activation at that token and the token's index.
 * Within a sentence, ties between tokens go to the first token.
 *
 * Order (total, so merging is exact and independent of shard order):
 * higher |activation| first; equal |activation| -> lower sentence index
 * first. Sentence indices are global (position in the corpus) and unique, so
 * no two entries compare equal. NaN activations never enter a top list nor
 * the max/min (a sentence whose values for a neuron are all NaN is not a
 * candidate for that neuron).
 *
 * Layout: neuron `i` of the accumulator is global neuron `firstNeuron + i`;
 * its entries are slots `[i*k, i*k + filled[i])`, best first.
 */
import { InputError } from './errors.ts';
import type { Matrix, SentenceActivations } from './matrix.ts';
import { inPlace as kernelsInPlace, scratch } from './wasmKernels.ts';

export const DEFAULT_TOP_SENTENCES = 10;

/** One row of `top_sentences.parquet`. `rank` is 0-based (0 = best). */
export interface TopSentenceRow {
  readonly layer: number;
  readonly neuron: number;
  readonly globalNeuron: number;
  readonly rank: number;
  readonly sentenceIndex: number;
  readonly maxActivation: number;
  readonly tokenIndex: number;
}

/** Columnar form of the rows (what a Parquet writer wants), all of length nRows. */
export interface TopSentenceColumns {
  readonly layer: Int32Array;
  readonly neuron: Int32Array;
  readonly globalNeuron: Int32Array;
  readonly rank: Int32Array;
  readonly sentenceIndex: Int32Array;
  readonly maxActivation: Float32Array;
  readonly tokenIndex: Int32Array;
}

/** One entry of a neuron's top list. */
export interface TopSentence {
  readonly sentenceIndex: number;
  readonly maxActivation: number;
  readonly tokenIndex: number;
}

const MAGIC = 0x5354584e; // "NXTS" little-endian
const VERSION = 1;
const HEADER_BYTES = 32;

export class TopSentences {
  /** Number of sentences added (over all merged accumulators). */
  sentences = 0;
  /** Entries per neuron in use, `[nNeurons]`. */
  readonly filled: Int32Array;
  /** Signed activation at the entry's token, `[nNeurons x k]`. */
  readonly values: Float32Array;
  /** Global sentence index of the entry, `[nNeurons x k]` (-1 = empty slot). */
  readonly sentenceIdx: Int32Array;
  /** Token index of the entry within its sentence, `[nNeurons x k]`. */
  readonly tokenIdx: Int32Array;
  /** Signed max / min of each neuron over every token seen, `[nNeurons]` (-Inf / +Inf before any). */
  readonly max: Float32Array;
  readonly min: Float32Array;

  // per-sentence scratch, `[nNeurons]`
  private readonly bestAbs: Float32Array;
  private readonly bestVal: Float32Array;
  private readonly bestTok: Int32Array;

  constructor(readonly nNeurons: number, readonly k: number = DEFAULT_TOP_SENTENCES, readonly firstNeuron = 0) {
    if (!Number.isInteger(nNeurons) || nNeurons < 0) throw new InputError(`top sentences: neuron count ${nNeurons} is not a non-negative integer`);
    if (!Number.isInteger(k) || k < 1) throw new InputError(`top sentences: k ${k} is not a positive integer`);
    if (!Number.isInteger(firstNeuron) || firstNeuron < 0) throw new InputError(`top sentences: first neuron ${firstNeuron} is not a non-negative integer`);
    this.filled = new Int32Array(nNeurons);
    this.values = new Float32Array(nNeurons * k);
    this.sentenceIdx = new Int32Array(nNeurons * k).fill(-1);
    this.tokenIdx = new Int32Array(nNeurons * k);
    this.max = new Float32Array(nNeurons).fill(-Infinity);
    this.min = new Float32Array(nNeurons).fill(Infinity);
    this.bestAbs = new Float32Array(nNeurons);
    this.bestVal = new Float32Array(nNeurons);
    this.bestTok = new Int32Array(nNeurons);
  }

  /** Adds one sentence given NeuroX-style, `[nTokens x nNeurons]` (token-major). */
  add(sentenceIndex: number, m: Matrix): void {
    if (m.cols !== this.nNeurons) {
      throw new InputError(`top sentences: sentence ${sentenceIndex} has ${m.cols} neurons, expected ${this.nNeurons}`);
    }
    this.begin(sentenceIndex);
    this.scan(m.data, 0, m.rows, m.cols, 0, m.cols);
    this.commit(sentenceIndex);
  }

  /**
   * Adds one sentence as the extractor gives it, `[nLayers x nTokens x dModel]`
   * (layer-major), without transposing: layer l feeds neurons `[l*dModel, (l+1)*dModel)`.
   */
  addSentence(sentenceIndex: number, s: SentenceActivations): void {
    const width = s.nLayers * s.dModel;
    if (width !== this.nNeurons) {
      throw new InputError(`top sentences: sentence ${sentenceIndex} has ${s.nLayers} x ${s.dModel} = ${width} neurons, expected ${this.nNeurons}`);
    }
    if (s.data.length !== s.nLayers * s.nTokens * s.dModel) {
      throw new InputError(`top sentences: sentence ${sentenceIndex} has ${s.data.length} values, expected ${s.nLayers} x ${s.nTokens} x ${s.dModel}`);
    }
    this.begin(sentenceIndex);
    for (let l = 0; l < s.nLayers; l++) {
      this.scan(s.data, l * s.nTokens * s.dModel, s.nTokens, s.dModel, l * s.dModel, s.dModel);
    }
    this.commit(sentenceIndex);
  }

  /**
   * Adds consecutive sentences given as one block of rows, `[nTokens x nNeurons]`
   * (a shard's neuron group as stored: sentence i owns the next
   * `sentenceTokens[i]` rows); sentence i gets index `firstSentence + i`.
   * `inPlace`: the memory right after the rows is free (the shard encoder's
   * visit, shard.ts `encodeShardChunks`), so the kernel may read them where
   * they lie (wasmKernels.ts `inPlace`) instead of a copy. Same numbers.
   */
  addRows(values: Matrix, sentenceTokens: ArrayLike<number>, firstSentence = 0, inPlace = false): void {
    if (values.cols !== this.nNeurons) {
      throw new InputError(`top sentences: block has ${values.cols} neurons, expected ${this.nNeurons}`);
    }
    let total = 0;
    for (let i = 0; i < sentenceTokens.length; i++) total += sentenceTokens[i]!;
    if (total !== values.rows) throw new InputError(`top sentences: ${sentenceTokens.length} sentences have ${total} tokens but the block has ${values.rows} rows`);
    const B = this.nNeurons;
    // The kernel's other arguments (bytes from `out`): bestAbs, bestVal, bestTok, max, min [B] each (4 bytes).
    const outBytes = Math.ceil((20 * B) / 16) * 16;
    const here = inPlace ? kernelsInPlace(values.data, outBytes) : null;
    // else the block's f32 [rows x B] is copied after the arguments
    const sc = here ?? scratch(outBytes + 4 * values.data.length);
    const at = here ? here.data : outBytes;
    const out = here ? here.free : 0;
    if (!here) sc?.f32.set(values.data, outBytes / 4);
    if (sc !== null) {
      const { f32, i32, kernels } = sc;
      const f = out / 4;
      const bestAbs = f32.subarray(f, f + B);
      const bestVal = f32.subarray(f + B, f + 2 * B);
      const bestTok = i32.subarray(f + 2 * B, f + 3 * B);
      f32.set(this.max, f + 3 * B);
      f32.set(this.min, f + 4 * B);
      let start = 0;
      for (let i = 0; i < sentenceTokens.length; i++) {
        const s = firstSentence + i;
        const n = sentenceTokens[i]!;
        this.begin(s);
        bestAbs.fill(-1);
        kernels.sentenceScan(at + 4 * start * B, n, B, out, out + 4 * B, out + 8 * B, out + 12 * B, out + 16 * B);
        this.commit(s, bestAbs, bestVal, bestTok);
        start += n;
      }
      this.max.set(f32.subarray(f + 3 * B, f + 4 * B));
      this.min.set(f32.subarray(f + 4 * B, f + 5 * B));
      return;
    }
    let start = 0;
    for (let i = 0; i < sentenceTokens.length; i++) {
      const s = firstSentence + i;
      const n = sentenceTokens[i]!;
      this.begin(s);
      this.scan(values.data, start * values.cols, n, values.cols, 0, values.cols);
      this.commit(s);
      start += n;
    }
  }

  /**
   * Copies `part` (neurons `[part.firstNeuron, +part.nNeurons)`, same k) into
   * this accumulator's matching neurons: how per-group parts of one shard
   * become one partial for all neurons.
   */
  place(part: TopSentences): this {
    const at = part.firstNeuron - this.firstNeuron;
    if (part.k !== this.k || at < 0 || at + part.nNeurons > this.nNeurons) {
      throw new InputError(
        `top sentences: cannot place neurons [${part.firstNeuron}, ${part.firstNeuron + part.nNeurons}) k=${part.k} into [${this.firstNeuron}, ${this.firstNeuron + this.nNeurons}) k=${this.k}`,
      );
    }
    const k = this.k;
    this.filled.set(part.filled, at);
    this.values.set(part.values, at * k);
    this.sentenceIdx.set(part.sentenceIdx, at * k);
    this.tokenIdx.set(part.tokenIdx, at * k);
    this.max.set(part.max, at);
    this.min.set(part.min, at);
    this.sentences = Math.max(this.sentences, part.sentences);
    return this;
  }

  private begin(sentenceIndex: number): void {
    if (!Number.isInteger(sentenceIndex) || sentenceIndex < 0 || sentenceIndex > 0x7fffffff) {
      throw new InputError(`top sentences: sentence index ${sentenceIndex} is not an integer in [0, 2147483647]`);
    }
    this.bestAbs.fill(-1);
  }

  /**
   * One sentence's rows for neurons `[col, col + n)`: token t's value of
   * neuron col + j is `data[src + t * stride + j]`. Neuron by neuron over the
   * sentence's tokens (a sentence's rows stay in cache), so the running best,
   * max and min live in registers instead of being loaded and stored per
   * value (pass 1 sees every value here once).
   */
  private scan(data: Float32Array, src: number, rows: number, stride: number, col: number, n: number): void {
    const { bestAbs, bestVal, bestTok, max, min } = this;
    const end = src + rows * stride;
    for (let j = 0; j < n; j++) {
      const c = col + j;
      let best = -1;
      let val = 0;
      let tok = 0;
      let hi = max[c]!;
      let lo = min[c]!;
      for (let p = src + j, t = 0; p < end; p += stride, t++) {
        const v = data[p]!;
        const a = v < 0 ? -v : v;
        // strictly greater: the first token wins ties; NaN fails every comparison
        if (a > best) {
          best = a;
          val = v;
          tok = t;
        }
        if (v > hi) hi = v;
        if (v < lo) lo = v;
      }
      bestAbs[c] = best;
      bestVal[c] = val;
      bestTok[c] = tok;
      max[c] = hi;
      min[c] = lo;
    }
  }

  private commit(sentenceIndex: number, bestAbs = this.bestAbs, bestVal = this.bestVal, bestTok = this.bestTok): void {
    const { k, filled, values } = this;
    for (let c = 0; c < this.nNeurons; c++) {
      const a = bestAbs[c]!;
      if (a < 0) continue; // no token, or all NaN
      const f = filled[c]!;
      if (f === k) {
        const w = values[c * k + k - 1]!;
        const wa = w < 0 ? -w : w;
        // sentences arrive once each; an equal score with a lower index still wins
        if (a < wa || (a === wa && sentenceIndex > this.sentenceIdx[c * k + k - 1]!)) continue;
      }
      this.insert(c, bestVal[c]!, sentenceIndex, bestTok[c]!);
    }
    this.sentences++;
  }

  private insert(c: number, value: number, sentence: number, token: number): void {
    const { k, values, sentenceIdx, tokenIdx } = this;
    const base = c * k;
    const f = this.filled[c]!;
    let pos = f < k ? f : k - 1;
    // shift worse entries down one slot (the last one falls off when full)
    while (pos > 0 && before(value, sentence, values[base + pos - 1]!, sentenceIdx[base + pos - 1]!)) {
      values[base + pos] = values[base + pos - 1]!;
      sentenceIdx[base + pos] = sentenceIdx[base + pos - 1]!;
      tokenIdx[base + pos] = tokenIdx[base + pos - 1]!;
      pos--;
    }
    values[base + pos] = value;
    sentenceIdx[base + pos] = sentence;
    tokenIdx[base + pos] = token;
    if (f < k) this.filled[c] = f + 1;
  }

  /**
   * Merges `other` (same neurons, same k) into this accumulator. Exact and
   * order-independent: any split of a corpus into shards, merged in any order,
   * gives the same result as one accumulator fed every sentence.
   */
  merge(other: TopSentences): this {
    if (other.nNeurons !== this.nNeurons || other.k !== this.k || other.firstNeuron !== this.firstNeuron) {
      throw new InputError(
        `top sentences: cannot merge neurons [${other.firstNeuron}, ${other.firstNeuron + other.nNeurons}) k=${other.k} into [${this.firstNeuron}, ${this.firstNeuron + this.nNeurons}) k=${this.k}`,
      );
    }
    const { k } = this;
    const v = new Float32Array(k);
    const s = new Int32Array(k);
    const t = new Int32Array(k);
    for (let c = 0; c < this.nNeurons; c++) {
      const base = c * k;
      const fa = this.filled[c]!;
      const fb = other.filled[c]!;
      let i = 0;
      let j = 0;
      let n = 0;
      while (n < k && (i < fa || j < fb)) {
        const takeA = j >= fb || (i < fa && before(this.values[base + i]!, this.sentenceIdx[base + i]!, other.values[base + j]!, other.sentenceIdx[base + j]!));
        if (i < fa && j < fb && this.sentenceIdx[base + i] === other.sentenceIdx[base + j]) {
          throw new InputError(`top sentences: sentence ${this.sentenceIdx[base + i]} was counted in both merged parts (neuron ${this.firstNeuron + c})`);
        }
        if (takeA) {
          v[n] = this.values[base + i]!;
          s[n] = this.sentenceIdx[base + i]!;
          t[n] = this.tokenIdx[base + i]!;
          i++;
        } else {
          v[n] = other.values[base + j]!;
          s[n] = other.sentenceIdx[base + j]!;
          t[n] = other.tokenIdx[base + j]!;
          j++;
        }
        n++;
      }
      this.values.set(v.subarray(0, n), base);
      this.sentenceIdx.set(s.subarray(0, n), base);
      this.tokenIdx.set(t.subarray(0, n), base);
      this.filled[c] = n;
      if (other.max[c]! > this.max[c]!) this.max[c] = other.max[c]!;
      if (other.min[c]! < this.min[c]!) this.min[c] = other.min[c]!;
    }
    this.sentences += other.sentences;
    return this;
  }

  /** A copy of global neurons `[start, end)` (within this accumulator's), e.g. one neuron block. */
  slice(start: number, end: number): TopSentences {
    const a = start - this.firstNeuron;
    const b = end - this.firstNeuron;
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b > this.nNeurons || b < a) {
      throw new InputError(`top sentences: cannot slice neurons [${start}, ${end}) out of [${this.firstNeuron}, ${this.firstNeuron + this.nNeurons})`);
    }
    const k = this.k;
    const out = new TopSentences(b - a, k, start);
    out.filled.set(this.filled.subarray(a, b));
    out.values.set(this.values.subarray(a * k, b * k));
    out.sentenceIdx.set(this.sentenceIdx.subarray(a * k, b * k));
    out.tokenIdx.set(this.tokenIdx.subarray(a * k, b * k));
    out.max.set(this.max.subarray(a, b));
    out.min.set(this.min.subarray(a, b));
    out.sentences = this.sentences;
    return out;
  }

  /**
   * Adds `offset` to every sentence index. Shard partials are cached with
   * sentence indices local to their shard (the cache is keyed by content, and
   * the same shard can sit at another position in another corpus); the reducer
   * shifts each by its shard's first sentence before merging. Order is kept:
   * all entries move by the same amount.
   */
  shift(offset: number): this {
    if (!Number.isInteger(offset)) throw new InputError(`top sentences: offset ${offset} is not an integer`);
    const { sentenceIdx, k } = this;
    for (let c = 0; c < this.nNeurons; c++) {
      for (let r = 0; r < this.filled[c]!; r++) {
        const s = sentenceIdx[c * k + r]! + offset;
        if (s < 0 || s > 0x7fffffff) throw new InputError(`top sentences: sentence ${sentenceIdx[c * k + r]} shifted by ${offset} is out of range`);
        sentenceIdx[c * k + r] = s;
      }
    }
    return this;
  }

  /** The top list of accumulator neuron `i` (global neuron `firstNeuron + i`), best first. */
  top(i: number): TopSentence[] {
    if (!Number.isInteger(i) || i < 0 || i >= this.nNeurons) {
      throw new InputError(`neuron ${this.firstNeuron + i} is out of range [${this.firstNeuron}, ${this.firstNeuron + this.nNeurons - 1}]`);
    }
    const out: TopSentence[] = [];
    for (let r = 0; r < this.filled[i]!; r++) {
      const p = i * this.k + r;
      out.push({ sentenceIndex: this.sentenceIdx[p]!, maxActivation: this.values[p]!, tokenIndex: this.tokenIdx[p]! });
    }
    return out;
  }

  /**
   * The rows of `top_sentences.parquet`, ordered by global neuron then rank.
   * `layers[i]` is the model layer of the i-th stored layer (a run may keep a
   * subset); by default layer i.
   */
  toColumns(dModel: number, layers?: readonly number[]): TopSentenceColumns {
    if (!Number.isInteger(dModel) || dModel < 1) throw new InputError(`top sentences: dModel ${dModel} is not a positive integer`);
    let rows = 0;
    for (let c = 0; c < this.nNeurons; c++) rows += this.filled[c]!;
    const cols: TopSentenceColumns = {
      layer: new Int32Array(rows),
      neuron: new Int32Array(rows),
      globalNeuron: new Int32Array(rows),
      rank: new Int32Array(rows),
      sentenceIndex: new Int32Array(rows),
      maxActivation: new Float32Array(rows),
      tokenIndex: new Int32Array(rows),
    };
    let r = 0;
    for (let c = 0; c < this.nNeurons; c++) {
      const g = this.firstNeuron + c;
      for (let rank = 0; rank < this.filled[c]!; rank++, r++) {
        const p = c * this.k + rank;
        cols.layer[r] = layerOf(g, dModel, layers);
        cols.neuron[r] = g % dModel;
        cols.globalNeuron[r] = g;
        cols.rank[r] = rank;
        cols.sentenceIndex[r] = this.sentenceIdx[p]!;
        cols.maxActivation[r] = this.values[p]!;
        cols.tokenIndex[r] = this.tokenIdx[p]!;
      }
    }
    return cols;
  }

  /** Row objects (convenient for small outputs and tests). */
  rows(dModel: number, layers?: readonly number[]): TopSentenceRow[] {
    const c = this.toColumns(dModel, layers);
    return Array.from(c.rank, (rank, r) => ({
      layer: c.layer[r]!,
      neuron: c.neuron[r]!,
      globalNeuron: c.globalNeuron[r]!,
      rank,
      sentenceIndex: c.sentenceIndex[r]!,
      maxActivation: c.maxActivation[r]!,
      tokenIndex: c.tokenIndex[r]!,
    }));
  }

  /**
   * Versioned little-endian bytes: a 32-byte header ("NXTS", version,
   * nNeurons, k, firstNeuron, sentences as float64), then filled, values,
   * sentenceIdx, tokenIdx `[nNeurons x k]`, max, min.
   */
  encode(): Uint8Array {
    const n = this.nNeurons;
    const nk = n * this.k;
    const bytes = HEADER_BYTES + 4 * (n + 3 * nk + 2 * n);
    const buf = new ArrayBuffer(bytes);
    const dv = new DataView(buf);
    dv.setUint32(0, MAGIC, true);
    dv.setUint32(4, VERSION, true);
    dv.setUint32(8, n, true);
    dv.setUint32(12, this.k, true);
    dv.setUint32(16, this.firstNeuron, true);
    dv.setFloat64(24, this.sentences, true);
    let off = HEADER_BYTES;
    for (const arr of [this.filled, this.values, this.sentenceIdx, this.tokenIdx, this.max, this.min]) {
      new Uint8Array(buf, off, arr.byteLength).set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
      off += arr.byteLength;
    }
    return new Uint8Array(buf);
  }

  static decode(bytes: Uint8Array, what = 'top sentences'): TopSentences {
    assertLittleEndian();
    if (bytes.byteLength < HEADER_BYTES) throw new InputError(`${what}: ${bytes.byteLength} bytes is shorter than the header`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (dv.getUint32(0, true) !== MAGIC) throw new InputError(`${what}: not a top-sentences file (bad magic)`);
    const version = dv.getUint32(4, true);
    if (version !== VERSION) throw new InputError(`${what}: version ${version} is not supported (expected ${VERSION})`);
    const n = dv.getUint32(8, true);
    const k = dv.getUint32(12, true);
    const first = dv.getUint32(16, true);
    const expected = HEADER_BYTES + 4 * (n + 3 * n * k + 2 * n);
    if (bytes.byteLength !== expected) throw new InputError(`${what}: ${bytes.byteLength} bytes, expected ${expected} for ${n} neurons x k=${k}`);
    const acc = new TopSentences(n, k, first);
    acc.sentences = dv.getFloat64(24, true);
    // copy: the input may sit at an offset not aligned for 4-byte views
    const body = bytes.slice(HEADER_BYTES);
    let off = 0;
    for (const arr of [acc.filled, acc.values, acc.sentenceIdx, acc.tokenIdx, acc.max, acc.min]) {
      new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength).set(body.subarray(off, off + arr.byteLength));
      off += arr.byteLength;
    }
    for (let c = 0; c < n; c++) {
      const f = acc.filled[c]!;
      if (f < 0 || f > k) throw new InputError(`${what}: neuron ${first + c} has ${f} entries, expected 0..${k}`);
    }
    return acc;
  }
}

/** Model layer of global neuron `g`: `layers[floor(g / dModel)]`, or that index itself. */
export function layerOf(g: number, dModel: number, layers?: readonly number[]): number {
  const i = Math.floor(g / dModel);
  if (!layers) return i;
  const l = layers[i];
  if (l === undefined) throw new InputError(`neuron ${g} is beyond the ${layers.length} stored layers of ${dModel} neurons`);
  return l;
}

/** Entry (va, sa) ranks before (vb, sb): higher |value|, then lower sentence index. */
function before(va: number, sa: number, vb: number, sb: number): boolean {
  const a = va < 0 ? -va : va;
  const b = vb < 0 ? -vb : vb;
  return a > b || (a === b && sa < sb);
}

function assertLittleEndian(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('top sentences: big-endian hosts are not supported');
}
