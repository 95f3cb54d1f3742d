/**
 * Combining per-shard `TypeScores` (typeScores.ts) and storing them as bytes.
 *
 * Sums add (float64), counts add, a type's first position is the earliest
 * (shard, offset) it has, and the merged types are ordered by that position:
 * global first-occurrence order, whatever order the partials arrive in. A
 * shard may be added once; partials must share the neuron block and the very
 * same mu (bit for bit), or the sums are not comparable.
 *
 * Float addition is commutative but not associative: `reduceTypeScores`
 * adds partials in ascending shard order, so a plan's result is the same
 * bytes on every run.
 */
import { InputError } from './errors.ts';
import { LayoutReader, LayoutWriter } from './partialBytes.ts';
import type { CorpusGrouping } from './typeGrouping.ts';
import type { GroupedShard, RowsVisitor, TypeScores, TypeScoresSink } from './typeScores.ts';
import { KernelMemory, type Scratch } from './wasmKernels.ts';

// `addGrouped` copies a shard's block up to this size (bytes) whole, in
// order, and sums its rows in place: one bulk copy runs at twice the speed
// of the same rows copied one by one (0.13-0.27 s of pass 2 per 1M tokens x
// 768, BENCHMARKS.md). Bigger blocks have their rows gathered by type into
// batches of BATCH_BYTES, which stay in the core's cache while the kernel
// reads them: scratch stays small whatever the shard.
const IN_PLACE_BYTES = 256 << 20;
const BATCH_BYTES = 1 << 20;

export class TypeScoresReducer implements TypeScoresSink {
  private block: { firstNeuron: number; nNeurons: number; mu: Float64Array } | null = null;
  private ids = new Map<string, number>();
  private tokens: string[] = [];
  private firstShard: number[] = [];
  private firstOffset: number[] = [];
  private shards = new Set<number>();
  private count: Float64Array = new Float64Array(0);
  // The [types x nNeurons] tables. With WebAssembly they live in the private
  // memory `mem` (sumAbs at byte 0, sumX at byte `region`, the kernel's
  // scratch after both), where `addGrouped` sums a shard into them in one
  // kernel call; without it (or past the 2 GiB scratch limit), JS arrays.
  private sumAbs: Float64Array = new Float64Array(0);
  private sumX: Float64Array = new Float64Array(0);
  private mem: KernelMemory | null | undefined;
  private region = 0;

  /**
   * `expectedTypes` sizes the buffers up front: growing them later copies,
   * and first touches of fresh memory are slow on this project's VMs.
   */
  constructor(options?: { expectedTypes?: number; inPlaceBytes?: number; memory?: KernelMemory | null }) {
    this.capacity = Math.max(0, Math.floor(options?.expectedTypes ?? 0));
    this.inPlaceBytes = options?.inPlaceBytes ?? IN_PLACE_BYTES;
    // the kernels' memory to lay the tables in (wasmKernels.ts `passMemory`); default: an instance of its own
    if (options?.memory) this.mem = options.memory;
  }

  private capacity: number;
  // Blocks up to this many bytes are summed in place (IN_PLACE_BYTES; tests lower it).
  private readonly inPlaceBytes: number;
  // A block summed over a grouped corpus (`beginCorpus`): the grouping and where its scratch lies.
  private corpus: { grouping: CorpusGrouping; layout: CorpusLayout; sc: Scratch } | null = null;

  /**
   * Starts a block that is summed segment by segment over a corpus grouped
   * once per run (typeGrouping.ts): the tables sized for the grouping's
   * types and the scratch for its largest segment's rows (two such areas
   * when it has several segments, alternating, so that the caller can fill
   * segment s + 1's while it sums s) plus `visitBytes` for a `RowsVisitor`,
   * all reserved now, so that the memory does not grow (and the views
   * `segmentRows` hands out stay valid) until `finish`. The caller puts each
   * segment's rows at `segmentRows`, may `visit` them, and sums them with
   * `sumSegment`, segments in order. False, with nothing
   * started, where WebAssembly memory cannot hold it: add shards instead.
   */
  beginCorpus(g: CorpusGrouping, block: { firstNeuron: number; mu: Float64Array }, visitBytes = 0): boolean {
    const B = block.mu.length;
    if (B > g.blockNeurons) throw new InputError(`type scores: a block of ${B} neurons, the corpus was grouped for ${g.blockNeurons}`);
    this.reset();
    this.checkBlock({ firstNeuron: block.firstNeuron, nNeurons: B, mu: block.mu, shards: Int32Array.of() });
    this.capacity = Math.max(this.capacity, g.tokens.length);
    this.reserve(g.tokens.length, B);
    if (!this.mem) return this.abandon();
    // two areas for the rows when there are several segments: the next one's are read while one is summed
    const layout = corpusLayout(this.region, B, g.maxSegmentTypes, g.maxRows, g.segments.length > 1 ? 2 : 1);
    const sc = this.mem.ensure(layout.visitOff + visitBytes);
    if (sc === null) return this.abandon();
    this.views(sc);
    sc.f64.set(this.block!.mu, layout.muOff / 8);
    // finish takes the types' tokens and first occurrences from the grouping
    this.tokens = g.tokens as string[];
    this.count.set(g.count);
    for (const s of g.shards) this.shards.add(s);
    this.corpus = { grouping: g, layout, sc };
    return true;
  }

  private abandon(): false {
    this.reset();
    return false;
  }

  private corpusOf(what: string): { grouping: CorpusGrouping; layout: CorpusLayout; sc: Scratch } {
    if (this.corpus === null) throw new Error(`type scores: ${what} without beginCorpus`);
    return this.corpus;
  }

  /** Where segment `s`'s rows go: `[rows x nNeurons]` float32 in the reducer's memory, valid until `finish` or `reset`. */
  segmentRows(s: number): Float32Array {
    const { grouping, layout, sc } = this.corpusOf('segmentRows');
    const seg = grouping.segments[s];
    if (!seg) throw new RangeError(`segment ${s} is out of range [0, ${grouping.segments.length - 1}]`);
    const at = layout.dataOffs[s % 2]! / 4;
    return sc.f32.subarray(at, at + seg.rows * this.block!.nNeurons);
  }

  /** Shows `visitor` rows `[row, row + rows)` of segment `s`'s rows, where they lie. */
  visit(visitor: RowsVisitor, s: number, row: number, rows: number): void {
    const { layout, sc } = this.corpusOf('visit');
    visitor.visit(sc, layout.dataOffs[s % 2]! + 4 * row * this.block!.nNeurons, rows, layout.visitOff);
  }

  /**
   * Sums segment `s` (its rows at `segmentRows(s)`) into the tables; where a
   * type's |x - mu| sum is NaN or infinite, calls `nonFinite` (which throws,
   * naming the activation) with nothing of that type added.
   */
  sumSegment(s: number, nonFinite: () => never): void {
    const { grouping, layout, sc } = this.corpusOf('sumSegment');
    const seg = grouping.segments[s]!;
    const { i32, kernels } = sc;
    i32.set(seg.rowOf, layout.rowOfOff / 4);
    i32.set(seg.start, layout.startOff / 4);
    i32.set(seg.order, layout.orderOff / 4);
    const B = this.block!.nNeurons;
    if (kernels.typeSumsInPlace(layout.dataOffs[s % 2]!, B, layout.orderOff, layout.startOff, seg.nTypes, layout.rowOfOff, layout.muOff, layout.outOff, 0, this.region) >= 0) nonFinite();
  }

  /** Starts over (next neuron block), keeping the buffers. */
  reset(): void {
    this.block = null;
    this.corpus = null;
    this.ids = new Map();
    this.tokens = [];
    this.firstShard = [];
    this.firstOffset = [];
    this.shards = new Set();
  }

  add(p: TypeScores): void {
    this.beginShard(p);
    for (let t = 0; t < p.tokens.length; t++) {
      this.addType(p.tokens[t]!, p.firstShard[t]!, p.firstOffset[t]!, p.count[t]!, p.sumAbs, p.sumX, t * p.nNeurons);
    }
  }

  /** Checks a partial's block, mean and shards before its types are added (also used by `TypeScoresBuilder.finishInto`). */
  beginShard(p: Pick<TypeScores, 'firstNeuron' | 'nNeurons' | 'mu' | 'shards'>): void {
    if (this.corpus !== null) throw new InputError('type scores: shards cannot be added to a block begun over a grouped corpus');
    this.checkBlock(p);
    for (const s of p.shards) {
      if (this.shards.has(s)) throw new InputError(`type scores: shard ${s} was already added: it would be counted twice`);
    }
    for (const s of p.shards) this.shards.add(s);
  }

  /** Adds one type's count and sums (`sumAbs[from..from+nNeurons)`, same for sumX) after `beginShard`. */
  addType(token: string, shard: number, offset: number, n: number, pa: Float64Array, px: Float64Array, from: number): void {
    const B = this.block!.nNeurons;
    const before = this.tokens.length;
    const id = this.countType(token, shard, offset, n);
    const o = id * B;
    if (id === before) {
      // Reused buffers are not cleared: a new type's row is assigned.
      this.sumAbs.set(pa.subarray(from, from + B), o);
      this.sumX.set(px.subarray(from, from + B), o);
      return;
    }
    const { sumAbs, sumX } = this;
    for (let j = 0; j < B; j++) {
      sumAbs[o + j] = sumAbs[o + j]! + pa[from + j]!;
      sumX[o + j] = sumX[o + j]! + px[from + j]!;
    }
  }

  private checkBlock(p: Pick<TypeScores, 'firstNeuron' | 'nNeurons' | 'mu' | 'shards'>): { firstNeuron: number; nNeurons: number; mu: Float64Array } {
    const b = this.block;
    if (b === null) {
      this.block = { firstNeuron: p.firstNeuron, nNeurons: p.nNeurons, mu: Float64Array.from(p.mu) };
      return this.block;
    }
    if (p.firstNeuron !== b.firstNeuron || p.nNeurons !== b.nNeurons) {
      throw new InputError(
        `type scores: shard ${p.shards[0]} covers neurons [${p.firstNeuron}, ${p.firstNeuron + p.nNeurons - 1}], ` +
          `expected [${b.firstNeuron}, ${b.firstNeuron + b.nNeurons - 1}]`,
      );
    }
    for (let j = 0; j < b.nNeurons; j++) {
      if (p.mu[j] !== b.mu[j]) {
        throw new InputError(
          `type scores: shard ${p.shards[0]} used mean ${p.mu[j]} for neuron ${b.firstNeuron + j}, ` +
            `other shards ${b.mu[j]}: recompute it from the reduced moments`,
        );
      }
    }
    return b;
  }

  /**
   * Sizes the tables for the expected types of `nNeurons`-neuron blocks and
   * the scratch for segments of `rows` rows (`areas` of them: 2 where blocks
   * have several segments, as `beginCorpus` lays out), and touches all of it once: a
   * lane that calls this while it would wait spares its first block the
   * page faults (3-7 ms per MB on this project's VMs, BENCHMARKS.md). Changes no result.
   */
  prepare(nNeurons: number, rows: number, areas: 1 | 2 = 1): void {
    if (!Number.isInteger(nNeurons) || nNeurons < 1 || !Number.isInteger(rows) || rows < 0) {
      throw new InputError(`type scores: cannot prepare for ${rows} rows of ${nNeurons} neurons`);
    }
    if (this.block !== null && this.block.nNeurons !== nNeurons) {
      throw new InputError(`type scores: cannot prepare for blocks of ${nNeurons} neurons while one of ${this.block.nNeurons} is being reduced`);
    }
    this.reserve(this.capacity, nNeurons);
    if (!this.mem) return;
    // addGrouped's and beginCorpus's layout at most: ids, starts and order i32, mu and out f64, the rows f32
    const sc = this.mem.ensure(corpusLayout(this.region, nNeurons, this.capacity, rows, areas).visitOff);
    if (sc === null) return;
    this.views(sc);
    sc.u8.fill(0, 8 * this.tokens.length * nNeurons, this.region); // rows of types not yet added
    sc.u8.fill(0, this.region + 8 * this.tokens.length * nNeurons);
  }

  private reserve(nTypes: number, B: number): void {
    const cap = Math.max(nTypes, this.capacity);
    if (cap > this.count.length) {
      const n = Math.max(cap, Math.ceil(this.count.length * 1.5));
      this.count = grow(this.count, n, this.tokens.length);
    }
    if (cap * B > this.sumAbs.length) this.resize(Math.max(cap * B, Math.ceil(this.sumAbs.length * 1.5)), this.tokens.length * B);
  }

  // Tables of `n` values each, keeping the first `keep`.
  private resize(n: number, keep: number): void {
    if (this.mem === undefined) this.mem = KernelMemory.create();
    if (this.mem !== null) {
      const region = Math.ceil((8 * n) / 16) * 16;
      const sc = this.mem.ensure(2 * region);
      if (sc !== null) {
        // sumX moves up to its new place (copyWithin copies overlapping ranges correctly).
        if (keep > 0) sc.u8.copyWithin(region, this.region, this.region + 8 * keep);
        this.region = region;
        this.views(sc);
        return;
      }
      // Past the scratch limit: JS arrays from here on.
      const abs = new Float64Array(n);
      const x = new Float64Array(n);
      abs.set(this.sumAbs.subarray(0, keep));
      x.set(this.sumX.subarray(0, keep));
      this.mem = null;
      this.sumAbs = abs;
      this.sumX = x;
      return;
    }
    this.sumAbs = grow(this.sumAbs, n, keep);
    this.sumX = grow(this.sumX, n, keep);
  }

  // Views of the tables in (possibly grown) WebAssembly memory.
  private views(sc: Scratch): void {
    if (this.sumAbs.buffer === sc.f64.buffer && this.sumAbs.length === this.region / 8) return;
    this.sumAbs = new Float64Array(sc.f64.buffer, 0, this.region / 8);
    this.sumX = new Float64Array(sc.f64.buffer, this.region, this.region / 8);
  }

  /**
   * `TypeScoresSink.addGrouped`: the shard's types summed by the SIMD kernel
   * straight into the tables, on the whole block copied in (up to
   * IN_PLACE_BYTES) or in batches of rows gathered by type.
   */
  addGrouped(g: GroupedShard): boolean {
    const B = this.block!.nNeurons;
    const nTypes = g.tokens.length;
    let fresh = 0;
    for (let t = 0; t < nTypes; t++) if (!this.ids.has(g.tokens[t]!)) fresh++;
    // Reserved up front: countType below reserves nothing more, so the
    // memory does not grow (which would detach the views) while it is used.
    this.reserve(this.tokens.length + fresh, B);
    if (!this.mem) return false;
    const inPlace = 4 * g.rows * B <= this.inPlaceBytes;
    // A multiple of 4 rows: a type split over batches is split between groups of 4.
    const batch = Math.max(4, Math.floor(BATCH_BYTES / (4 * B)) & ~3);
    // Scratch after the tables (bytes). In place: rowOf, start, order i32;
    // gathered: segments i32 [3 x batch]. Then mu, out f64; the rows f32.
    const segOff = 2 * this.region;
    const muOff = Math.ceil((segOff + 4 * (inPlace ? 2 * nTypes + 1 + g.rows : 3 * batch)) / 16) * 16;
    const outOff = muOff + 8 * B;
    const dataOff = outOff + 16 * B;
    // in place, the visitor's scratch after the rows
    const visitOff = Math.ceil((dataOff + 4 * g.rows * B) / 16) * 16;
    const sc = this.mem.ensure(inPlace ? visitOff + (g.visitor?.bytes ?? 0) : dataOff + 4 * batch * B);
    if (sc === null) return false;
    this.views(sc);
    const { i32, f64, f32, kernels } = sc;
    const rowOf = new Int32Array(nTypes);
    // 1 for a row new to the tables: the kernel copies the type's sums in, as `addType` does.
    const isNew = new Uint8Array(nTypes);
    for (let t = 0; t < nTypes; t++) {
      const before = this.tokens.length;
      rowOf[t] = this.countType(g.tokens[t]!, g.shard, g.firstOffset[t]!, g.count[t]!);
      isNew[t] = rowOf[t] === before ? 1 : 0;
    }
    f64.set(this.block!.mu, muOff / 8);
    const { start } = g;
    if (inPlace) {
      const startOff = segOff + 4 * nTypes;
      const orderOff = startOff + 4 * (nTypes + 1);
      for (let t = 0; t < nTypes; t++) i32[segOff / 4 + t] = (rowOf[t]! << 1) | isNew[t]!;
      i32.set(start.subarray(0, nTypes + 1), startOff / 4);
      i32.set(g.order.subarray(0, g.rows), orderOff / 4);
      g.copyBlock(f32, dataOff / 4);
      // while the rows just copied are still in cache (the sums' table traffic evicts them)
      g.visitor?.visit(sc, dataOff, g.rows, visitOff);
      if (kernels.typeSumsInPlace(dataOff, B, orderOff, startOff, nTypes, segOff, muOff, outOff, 0, this.region) >= 0) g.throwNonFinite();
      return true;
    }
    let t = 0;
    let k = 0;
    while (t < nTypes) {
      let rows = 0;
      let nSegs = 0;
      while (t < nTypes && rows < batch) {
        const end = start[t + 1]!;
        let take = Math.min(end - k, batch - rows);
        if (k + take < end) take -= take % 4;
        if (take === 0) break;
        g.copyRows(k, k + take, f32, dataOff / 4 + rows * B);
        const q = segOff / 4 + 3 * nSegs++;
        i32[q] = rowOf[t]!;
        i32[q + 1] = take;
        i32[q + 2] = (k === start[t]! ? 1 : 0) | (k + take === end ? 2 | (isNew[t]! << 2) : 0);
        rows += take;
        k += take;
        if (k === end) t++;
      }
      if (kernels.typeSumsInto(dataOff, B, segOff, nSegs, muOff, outOff, 0, this.region) >= 0) g.throwNonFinite();
    }
    return true;
  }

  // The table row of `token` (a new one at the end, reserved, when it has
  // none), its count raised by n and its first occurrence moved earlier if
  // (shard, offset) is. The caller adds or copies the sums.
  private countType(token: string, shard: number, offset: number, n: number): number {
    let id = this.ids.get(token);
    if (id === undefined) {
      id = this.tokens.length;
      this.reserve(id + 1, this.block!.nNeurons);
      this.ids.set(token, id);
      this.tokens.push(token);
      this.firstShard.push(shard);
      this.firstOffset.push(offset);
      this.count[id] = n;
      return id;
    }
    if (shard < this.firstShard[id]! || (shard === this.firstShard[id]! && offset < this.firstOffset[id]!)) {
      this.firstShard[id] = shard;
      this.firstOffset[id] = offset;
    }
    this.count[id] = this.count[id]! + n;
    return id;
  }

  /**
   * The merged partial; InputError when nothing was added. Its arrays view
   * the reducer's buffers until the next `reset`.
   */
  finish(options?: { scratchBytes?: number }): TypeScores {
    const b = this.block;
    if (b === null) throw new InputError('type scores: nothing to reduce');
    const n = this.tokens.length;
    const B = b.nNeurons;
    const { firstShard, firstOffset } = this;
    const grouping = this.corpus?.grouping;
    const before = (x: number, y: number): number => firstShard[x]! - firstShard[y]! || firstOffset[x]! - firstOffset[y]!;
    // Shards added in order (every pipeline run) leave the rows in
    // first-occurrence order already: checked in one pass, not sorted. A
    // grouped corpus numbers its types in that order.
    let ordered = true;
    for (let i = 1; i < n && ordered && !grouping; i++) ordered = before(i - 1, i) < 0;
    const perm = ordered ? null : Array.from({ length: n }, (_, i) => i).sort(before);
    let count = this.count.subarray(0, n);
    let sumAbs = this.sumAbs.subarray(0, n * B);
    let sumX = this.sumX.subarray(0, n * B);
    // Only when partials came in out of shard order do rows need moving.
    if (perm && !perm.every((v, i) => v === i)) {
      count = Float64Array.from(perm, (i) => this.count[i]!);
      sumAbs = new Float64Array(n * B);
      sumX = new Float64Array(n * B);
      perm.forEach((from, to) => {
        sumAbs.set(this.sumAbs.subarray(from * B, (from + 1) * B), to * B);
        sumX.set(this.sumX.subarray(from * B, (from + 1) * B), to * B);
      });
    }
    // `scratchBytes` free after the tables in their memory (the rows there are done with)
    let kernelHome: TypeScores['kernelHome'];
    if (this.mem && sumAbs.buffer === this.sumAbs.buffer) {
      const sc = this.mem.ensure(2 * this.region + (options?.scratchBytes ?? 0));
      if (sc !== null) {
        this.views(sc);
        sumAbs = this.sumAbs.subarray(0, n * B);
        sumX = this.sumX.subarray(0, n * B);
        kernelHome = { scratch: sc, sumAbsOff: 0, freeOff: 2 * this.region };
      }
    }
    return {
      ...(kernelHome ? { kernelHome } : {}),
      firstNeuron: b.firstNeuron,
      nNeurons: B,
      mu: Float64Array.from(b.mu),
      shards: Int32Array.from([...this.shards].sort((x, y) => x - y)),
      tokens: grouping?.tokens ?? (perm ? perm.map((i) => this.tokens[i]!) : this.tokens.slice()),
      firstShard: grouping?.firstShard ?? (perm ? Int32Array.from(perm, (i) => firstShard[i]!) : Int32Array.from(firstShard)),
      firstOffset: grouping?.firstOffset ?? (perm ? Float64Array.from(perm, (i) => firstOffset[i]!) : Float64Array.from(firstOffset)),
      count,
      sumAbs,
      sumX,
    };
  }
}

/** Byte offsets of `beginCorpus`'s scratch, past the two tables (`region` bytes each). */
interface CorpusLayout {
  readonly rowOfOff: number;
  readonly startOff: number;
  readonly orderOff: number;
  readonly muOff: number;
  readonly outOff: number;
  /** Where segment s's rows go: `dataOffs[s % 2]` (two areas when the block has several segments, one otherwise). */
  readonly dataOffs: readonly [number, number];
  readonly visitOff: number;
}

function corpusLayout(region: number, B: number, nTypes: number, rows: number, areas: 1 | 2 = 1): CorpusLayout {
  const align16 = (n: number): number => Math.ceil(n / 16) * 16;
  // the rows on page boundaries: pass 2 reads shard groups into them with direct I/O (workers/store/direct.ts)
  const alignPage = (n: number): number => Math.ceil(n / 4096) * 4096;
  const rowOfOff = 2 * region;
  const startOff = rowOfOff + 4 * nTypes;
  const orderOff = startOff + 4 * (nTypes + 1);
  const muOff = align16(orderOff + 4 * rows);
  const outOff = muOff + 8 * B;
  const dataOff = alignPage(outOff + 16 * B);
  const otherDataOff = areas === 2 ? alignPage(dataOff + 4 * rows * B) : dataOff;
  return { rowOfOff, startOff, orderOff, muOff, outOff, dataOffs: [dataOff, otherDataOff], visitOff: align16(otherDataOff + 4 * rows * B) };
}

function grow(a: Float64Array, n: number, keep: number): Float64Array {
  const g = new Float64Array(n);
  g.set(a.subarray(0, keep));
  return g;
}

/**
 * Reduces partials in ascending order of their first shard (the order they
 * are given in does not matter): the deterministic reduce of a plan.
 */
export function reduceTypeScores(parts: readonly TypeScores[]): TypeScores {
  const ordered = [...parts].sort((a, b) => (a.shards[0] ?? 0) - (b.shards[0] ?? 0));
  const r = new TypeScoresReducer();
  for (const p of ordered) r.add(p);
  return r.finish();
}

// ------------------------------------------------------------------ bytes

const MAGIC = 'NXTS';
const VERSION = 1;

/**
 * Layout v1 (little-endian):
 * 'NXTS', u32 version, u32 firstNeuron, u32 nNeurons, u32 nTypes,
 * u32 nShards, u32 tokenUnits, u32 0 (pad);
 * float64: mu [nNeurons], count [nTypes], firstOffset [nTypes],
 * sumAbs [nTypes x nNeurons], sumX [nTypes x nNeurons];
 * int32: shards [nShards], firstShard [nTypes];
 * uint32: tokenLength [nTypes] (UTF-16 code units);
 * uint16: tokens, concatenated as UTF-16 code units [tokenUnits] (exact for
 * any JS string, lone surrogates included); zero padding to 8 bytes.
 */
export function encodeTypeScores(p: TypeScores): Uint8Array {
  const nTypes = p.tokens.length;
  const B = p.nNeurons;
  const tokenUnits = p.tokens.reduce((s, t) => s + t.length, 0);
  const size = 32 + 8 * (B + 2 * nTypes + 2 * nTypes * B) + 4 * (p.shards.length + 2 * nTypes) + 2 * tokenUnits;
  const w = new LayoutWriter(Math.ceil(size / 8) * 8, MAGIC, VERSION);
  for (const v of [p.firstNeuron, B, nTypes, p.shards.length, tokenUnits, 0]) w.u32(v);
  for (const s of [p.mu, p.count, p.firstOffset, p.sumAbs, p.sumX]) w.section(s);
  w.section(p.shards);
  w.section(p.firstShard);
  w.section(Uint32Array.from(p.tokens, (t) => t.length));
  const units = new Uint16Array(tokenUnits);
  let u = 0;
  for (const t of p.tokens) for (let i = 0; i < t.length; i++) units[u++] = t.charCodeAt(i);
  w.section(units);
  w.pad(8);
  return w.finish();
}

/** Inverse of `encodeTypeScores`; InputError naming the problem for anything malformed. */
export function decodeTypeScores(bytes: Uint8Array): TypeScores {
  const r = new LayoutReader(bytes, 'type scores', MAGIC, VERSION);
  const firstNeuron = r.u32('firstNeuron');
  const B = r.u32('nNeurons');
  const nTypes = r.u32('nTypes');
  const nShards = r.u32('nShards');
  const tokenUnits = r.u32('tokenUnits');
  r.u32('padding');
  const mu = r.f64(B, 'mu');
  const count = r.f64(nTypes, 'count');
  const firstOffset = r.f64(nTypes, 'firstOffset');
  const sumAbs = r.f64(nTypes * B, 'sumAbs');
  const sumX = r.f64(nTypes * B, 'sumX');
  const shards = r.i32(nShards, 'shards');
  const firstShard = r.i32(nTypes, 'firstShard');
  const lengths = r.u32s(nTypes, 'tokenLength');
  const units = r.u16(tokenUnits, 'tokens');
  r.pad(8);
  r.end();

  const tokens: string[] = [];
  let u = 0;
  for (let t = 0; t < nTypes; t++) {
    const len = lengths[t]!;
    if (u + len > tokenUnits) throw new InputError(`type scores: token ${t} runs past the token data (${tokenUnits} code units)`);
    let s = '';
    // Chunked: String.fromCharCode with very many arguments overflows the stack.
    for (let i = u; i < u + len; i += 4096) s += String.fromCharCode(...units.subarray(i, Math.min(u + len, i + 4096)));
    tokens.push(s);
    u += len;
  }
  if (u !== tokenUnits) throw new InputError(`type scores: token lengths add up to ${u} code units, header says ${tokenUnits}`);
  validate({ firstNeuron, nNeurons: B, mu, shards, tokens, firstShard, firstOffset, count, sumAbs, sumX });
  return { firstNeuron, nNeurons: B, mu, shards, tokens, firstShard, firstOffset, count, sumAbs, sumX };
}

function validate(p: TypeScores): void {
  const at = 'type scores:';
  for (let j = 0; j < p.nNeurons; j++) {
    if (!Number.isFinite(p.mu[j]!)) throw new InputError(`${at} mean of neuron ${p.firstNeuron + j} is ${p.mu[j]}`);
  }
  const shardSet = new Set<number>();
  for (let i = 0; i < p.shards.length; i++) {
    const s = p.shards[i]!;
    if (s < 0 || (i > 0 && s <= p.shards[i - 1]!)) throw new InputError(`${at} shard list is not ascending and distinct at shard ${s}`);
    shardSet.add(s);
  }
  const seen = new Set<string>();
  for (let t = 0; t < p.tokens.length; t++) {
    const token = p.tokens[t]!;
    const name = `${at} type ${t} (${JSON.stringify(token)})`;
    if (seen.has(token)) throw new InputError(`${name} appears twice`);
    seen.add(token);
    if (!shardSet.has(p.firstShard[t]!)) throw new InputError(`${name}: first shard ${p.firstShard[t]} is not in the shard list`);
    const off = p.firstOffset[t]!;
    if (!Number.isInteger(off) || off < 0) throw new InputError(`${name}: bad first offset ${off}`);
    if (t > 0) {
      const ps = p.firstShard[t - 1]!;
      const s = p.firstShard[t]!;
      if (s < ps || (s === ps && off <= p.firstOffset[t - 1]!)) throw new InputError(`${name} is out of first-occurrence order`);
    }
    const c = p.count[t]!;
    if (!Number.isInteger(c) || c < 1) throw new InputError(`${name}: count ${c} is not a positive integer`);
  }
  for (let i = 0; i < p.sumAbs.length; i++) {
    if (!(p.sumAbs[i]! >= 0) || !Number.isFinite(p.sumAbs[i]!) || !Number.isFinite(p.sumX[i]!)) {
      const t = Math.floor(i / p.nNeurons);
      throw new InputError(`${at} type ${t}, neuron ${p.firstNeuron + (i % p.nNeurons)}: bad sums ${p.sumAbs[i]}, ${p.sumX[i]}`);
    }
  }
}
