/**
 * Pass 2, one job per neuron block: over the run's tokens grouped by type
 * once per process (pipelines/typeGrouping.ts), read every shard's group of
 * the block (one ranged GET each) into the reducer's kernel memory, count
 * the block's histograms there, and add |x - mu| and x per type segment by
 * segment (no per-shard partial ever touches the store); then rank every
 * neuron of the block (NeuroX's get_top_words), cut at the threshold and
 * top-k, and write the block's parts: top words, histograms and top
 * sentences as Parquet, and the partials the renders and the index read
 * (histograms, each neuron's first top words).
 *
 * One job per block instead of per shard x block (README, "Deliberate
 * differences"): per-shard partials are types x block x 16 bytes each, which
 * on MiniLM-sized blocks cost more to encode, store, read and merge than the
 * type sums themselves. Parallelism comes from the blocks (`blockNeurons`).
 * The job reads exactly the keys the plan fixes and makes its writes at fixed
 * keys, so a retry recomputes the same bytes.
 */
import { ReusableMemory } from '../../pipelines/bytes.ts';
import { passMemory } from '../../pipelines/wasmKernels.ts';
import { InputError } from '../../pipelines/errors.ts';
import { Histograms } from '../../pipelines/histogram.ts';
import { runKeys } from '../../pipelines/keys.ts';
import { renderKeys } from '../../pipelines/renderKeys.ts';
import { decodeGroup, decodeTokens, groupInto, groupNeurons, groupRange, readShardHeader, tokensRange, type ShardHeader, type ShardTokens } from '../../pipelines/shard.ts';
import { matrix } from '../../pipelines/matrix.ts';
import { throwFirstNonFinite } from '../../pipelines/moments.ts';
import { cutSegments, groupCorpusTypes, SEGMENT_BYTES, type CorpusGrouping, type ShardTypes } from '../../pipelines/typeGrouping.ts';
import type { ObjectInfo, ObjectStore } from '../../pipelines/ports.ts';
import { rankStateBytes, rankTopWordsColumns, type RankedTypes } from '../../pipelines/topWords.ts';
import { TypeScoresBuilder, type TypeScores } from '../../pipelines/typeScores.ts';
import type { Matrix } from '../../pipelines/matrix.ts';
import type { BlockOptions } from '../../pipelines/moments.ts';
import { TypeScoresReducer } from '../../pipelines/typeScoresReduce.ts';
import type { TypeScoresJob, TypeScoresResult } from '../../schemas/jobs.ts';
import type { TopWordsInput } from '../../schemas/parquet.ts';
import { encodeTopWords, PARQUET_CONTENT_TYPE } from '../parquet.ts';
import { fileMetadata } from './analyze.ts';
import { readPartial } from './render.ts';
import { checkBlockPart, writeBlockTables } from './renderInputs.ts';
import { TopSentences } from '../../pipelines/topSentences.ts';
import { encodeTopWordsHead, topWordsHead } from '../../pipelines/topWordsHead.ts';
import type { StageContext } from './context.ts';
import { readManifest } from './manifest.ts';
import { mapInOrder } from './ordered.ts';

// The previous job's reducer, kept for the next one in this process (its
// buffers grown to a block's types x neurons: growing them again per block
// was a tenth of pass 2). Taken while in use, so concurrent jobs never share.
let spare: TypeScoresReducer | null = null;
let spareBuffers: ReusableMemory[] | null = null;
/** Shards being read while one is summed. */
const READS_IN_FLIGHT = 2;
// The groups are read once per run, past the page cache where the store can (they were written so: extract.ts).
const UNCACHED = { uncached: true } as const;

/**
 * Shards' headers and token sections, kept across this process's pass-2
 * jobs: every block reads the same shards, and reading them again per block
 * (a stat and four ranged reads, the tokens' CRCs and strings) was about a
 * tenth of a block on the MiniLM bench. An entry stands for one version of
 * an object: its URL, size and ETag or modification time (a store that
 * reports neither is not cached). Token sections are kept up to
 * `CACHED_TOKENS` tokens in all (4 bytes each and the types' strings), for
 * one run at a time.
 */
const shardCache = new Map<string, { header: ShardHeader; tokens: ShardTokens | null }>();
const CACHED_TOKENS = 4_000_000;
const MAX_CACHED_SHARDS = 100_000;
let cachedTokens = 0;
/** The run the cache holds shards of: a job of another run empties it (a worker's memory stays one run's). */
let cachedRun = '';

function useShardCacheFor(runId: string): void {
  if (runId === cachedRun) return;
  shardCache.clear();
  cachedTokens = 0;
  cachedRun = runId;
}

function versionOf(store: ObjectStore, info: ObjectInfo): string | null {
  const stamp = info.etag ?? info.lastModified?.getTime();
  return stamp === undefined ? null : `${store.location}${info.key}|${info.size}|${stamp}`;
}

/** A shard's header and tokens, from this process's cache or the store. */
async function shardParts(store: ObjectStore, key: string, index: number): Promise<{ what: string; header: ShardHeader; tokens: ShardTokens; version: string | null }> {
  const what = `${store.location}${key}`;
  const info = await store.head(key);
  if (!info) throw new InputError(`${what}: activation shard ${index} is missing`);
  const version = versionOf(store, info);
  let entry = version === null ? undefined : shardCache.get(version);
  if (!entry) {
    entry = { header: await readShardHeader((a, b) => store.getRange(key, a, b), what, info.size), tokens: null };
    if (version !== null && shardCache.size < MAX_CACHED_SHARDS) shardCache.set(version, entry);
  }
  if (entry.tokens) return { what, header: entry.header, tokens: entry.tokens, version };
  const [ta, tb] = tokensRange(entry.header);
  const tokens = decodeTokens(entry.header, await store.getRange(key, ta, tb), what);
  if (version !== null && cachedTokens + entry.header.nTokens <= CACHED_TOKENS) {
    entry.tokens = tokens;
    cachedTokens += entry.header.nTokens;
  }
  return { what, header: entry.header, tokens, version };
}

/** The means a block's pass-2 job subtracts: raw little-endian float64. */
export function decodeMu(bytes: Uint8Array, expected: number, what: string): Float64Array {
  if (bytes.length !== expected * 8) throw new InputError(`${what}: ${bytes.length} bytes, expected ${expected * 8} (${expected} float64 means)`);
  return new Float64Array(bytes.slice().buffer);
}

export async function runTypeScores(ctx: StageContext, job: TypeScoresJob): Promise<TypeScoresResult> {
  const store = ctx.store(job.output);
  const manifest = await readManifest(store, job.runId);
  const { plan } = manifest;
  const block = plan.blocks[job.block.index];
  if (!block || block.start !== job.block.start || block.end !== job.block.end) {
    throw new InputError(`type-scores: block ${JSON.stringify(job.block)} is not block ${job.block.index} of run ${plan.runId}`);
  }
  useShardCacheFor(plan.runId);
  const keys = runKeys(plan.runId);
  const rk = renderKeys(plan.runId);
  const muKey = keys.mu(block.index);
  const boundsKey = rk.bounds(block.index);
  const topKey = rk.topSentencesBlock(block.index);
  // the block's small inputs and the shards' headers and tokens, read side by side
  const [mu, histograms, top, { grouping, shards }] = await Promise.all([
    store.get(muKey).then((b) => decodeMu(b, block.end - block.start, `${store.location}${muKey}`)),
    store.get(boundsKey).then((b) => Histograms.decode(b, `${store.location}${boundsKey}`)),
    readPartial(store, topKey, TopSentences.decode),
    corpusGroupingOf(store, plan),
  ]);
  checkBlockPart(`${store.location}${topKey}`, top.firstNeuron, top.firstNeuron + top.nNeurons, block);
  // A fresh reducer is sized for the corpus' types up front: grown by copies
  // from empty, its buffers were touched about three times their final size
  // (0.7 s of the first block's 1.4 s on the MiniLM bench).
  const reducer = spare ?? new TypeScoresReducer({ expectedTypes: grouping.tokens.length, memory: passMemory() });
  spare = null;
  const buffers = spareBuffers ?? Array.from({ length: READS_IN_FLIGHT + 1 }, () => new ReusableMemory());
  spareBuffers = null;
  if (reducer.beginCorpus(grouping, { firstNeuron: block.start, mu }, histograms.stateBytes)) {
    await sumSegments(ctx, store, plan, block, grouping, shards, reducer, histograms, buffers);
  } else {
    await sumShardByShard(ctx, store, plan, block, mu, reducer, histograms, buffers);
  }
  const merged = reducer.finish({ scratchBytes: rankStateBytes(grouping.tokens.length, block.end - block.start, plan.options.topK) });

  // NeuroX refuses numTokens with a threshold; the table applies both (threshold, then the first topK).
  const ranked = rankTopWordsColumns(merged, plan.options.topK, plan.options.minThreshold);
  const rows = topWordsRows(ranked, merged, block.start, plan.layers, plan.model.dModel);
  const n = rows.layer.length;
  spare = reducer; // `merged` is not used past this point
  spareBuffers = buffers;
  const key = keys.topWordsBlock(block.index);
  await Promise.all([
    store.put(rk.histogramsBlock(block.index), histograms.encode(), { contentType: 'application/octet-stream' }),
    store.put(rk.topWordsHead(block.index), encodeTopWordsHead(topWordsHead(rows, block.start, block.end - block.start)), { contentType: 'application/octet-stream' }),
    writeBlockTables(store, manifest, block.index, top, histograms),
    store.put(key, encodeTopWords(rows, { metadata: fileMetadata(manifest) }), { contentType: PARQUET_CONTENT_TYPE }),
  ]);
  return { version: 1, runId: plan.runId, block: block.index, nTypes: merged.tokens.length, rows: n, key };
}

type Plan = Awaited<ReturnType<typeof readManifest>>['plan'];
type Block = Plan['blocks'][number];

/**
 * The run's tokens grouped by type for pass 2 (pipelines/typeGrouping.ts),
 * kept for this process's later blocks of the run: every block reads the
 * same shards. Keyed by the shards' versions, so a shard rewritten since
 * (a retried extraction) is grouped again.
 */
let grouped: { key: string; grouping: CorpusGrouping } | null = null;

/** Every shard's header (and what names it), with the run's grouping. */
async function corpusGroupingOf(store: ObjectStore, plan: Plan): Promise<{ grouping: CorpusGrouping; shards: Array<{ what: string; header: ShardHeader }> }> {
  const parts: ShardTypes[] = [];
  const shards: Array<{ what: string; header: ShardHeader }> = [];
  const versions: Array<string | null> = [];
  await mapInOrder(
    plan.shards,
    READS_IN_FLIGHT,
    async (s) => await shardParts(store, s.cache.activations, s.index),
    ({ what, header, tokens, version }, s) => {
      shards.push({ what, header });
      parts.push({ shard: s.index, types: tokens.types, typeIds: tokens.typeIds });
      versions.push(version);
    },
  );
  const width = Math.max(1, ...plan.blocks.map((b) => b.end - b.start));
  // a store that reports no object versions cannot tell a rewritten shard: grouped afresh each block
  if (versions.includes(null)) return { grouping: groupCorpusTypes(parts, width, SEGMENT_BYTES), shards };
  const key = `${plan.runId}|${width}|${SEGMENT_BYTES}|${versions.join('|')}`;
  if (grouped?.key !== key) grouped = { key, grouping: groupCorpusTypes(parts, width, SEGMENT_BYTES) };
  return { grouping: grouped.grouping, shards };
}

/**
 * The block over the grouped corpus: each segment's shards read straight
 * into the reducer's kernel memory (float32 shards; float16 ones through a
 * buffer), their histograms counted on the rows there as each shard
 * arrives, then the segment summed in one kernel call. The next segment's
 * reads (into the reducer's other area) are under way while one is summed.
 */
async function sumSegments(
  ctx: StageContext, store: ObjectStore, plan: Plan, block: Block, grouping: CorpusGrouping,
  headers: ReadonlyArray<{ what: string; header: ShardHeader }>, reducer: TypeScoresReducer, histograms: Histograms, buffers: ReusableMemory[],
): Promise<void> {
  const B = block.end - block.start;
  const visitor = histograms.rowsVisitor;
  let done = 0;
  const segments = grouping.segments;
  const valuesOf = (si: number, i: number): Float32Array => {
    const seg = segments[si]!;
    return reducer.segmentRows(si).subarray(seg.rowStart[i]! * B, (seg.rowStart[i + 1] ?? seg.rows) * B);
  };
  const shardsOf = (si: number): typeof plan.shards => plan.shards.slice(segments[si]!.first, segments[si]!.end);
  const read = (si: number): Promise<void> => {
    const seg = segments[si]!;
    const shards = shardsOf(si);
    return mapInOrder(
      shards,
      READS_IN_FLIGHT,
      async (s, i) => {
        const key = s.cache.activations;
        const { what, header } = headers[seg.first + i]!;
        const [ga, gb] = checkedGroupRange(what, header, block);
        const out = valuesOf(si, i);
        if (out.length !== header.nTokens * B) throw new InputError(`${what}: ${header.nTokens} tokens, the plan's tokens of shard ${s.index} make ${out.length / B}`);
        // float32 groups land where the kernel sums them; float16 ones are widened there
        const into = header.dtype === 'float32' ? new Uint8Array(out.buffer, out.byteOffset, out.byteLength) : buffers[i % buffers.length]!.bytes(gb - ga);
        groupInto(header, block.index, await store.getRange(key, ga, gb, into, UNCACHED), out, what);
      },
      (_, s, i) => {
        reducer.visit(visitor, si, seg.rowStart[i]!, valuesOf(si, i).length / B);
        ctx.progress?.(++done / plan.shards.length);
      },
    );
  };
  let reading = read(0);
  for (let si = 0; si < segments.length; si++) {
    await reading;
    if (si + 1 < segments.length) {
      reading = read(si + 1);
      reading.catch(() => {}); // awaited below; a failure is thrown there
    }
    try {
      reducer.sumSegment(si, () => {
        shardsOf(si).forEach((s, i) => throwFirstNonFinite(matrix(valuesOf(si, i), valuesOf(si, i).length / B, B), 0, B, block.start, `shard ${s.index}`));
        throw new Error('type scores: non-finite sum without a non-finite activation');
      });
    } catch (err) {
      // the next segment's reads land in the thread's pass memory: let them finish before another job takes it
      await reading.catch(() => {});
      throw err;
    }
  }
}

/** Group `block.index`'s byte range in a shard, checked to hold the block's neurons. */
function checkedGroupRange(what: string, header: ShardHeader, block: Block): readonly [number, number] {
  const g = groupNeurons(header.nNeurons, header.groupWidth, block.index);
  if (g.start !== block.start || g.end !== block.end) {
    throw new InputError(`${what}: group ${block.index} holds neurons [${g.start}, ${g.end}), block ${block.index} is [${block.start}, ${block.end})`);
  }
  return groupRange(header, block.index);
}

/**
 * The block shard by shard, each shard's group read into reused memory and
 * added to the reducer through a builder: where WebAssembly memory cannot
 * hold the grouped corpus (or the kernels are off). Two fetches in flight
 * and one shard being summed: a buffer is free again 3 shards later.
 */
async function sumShardByShard(
  ctx: StageContext, store: ObjectStore, plan: Plan, block: Block, mu: Float64Array,
  reducer: TypeScoresReducer, histograms: Histograms, buffers: ReusableMemory[],
): Promise<void> {
  await mapInOrder(
    plan.shards,
    READS_IN_FLIGHT,
    async (s, i) => {
      const key = s.cache.activations;
      const { what, header, tokens } = await shardParts(store, key, s.index);
      const [ga, gb] = checkedGroupRange(what, header, block);
      const groupBytes = await store.getRange(key, ga, gb, buffers[i % buffers.length]!.bytes(gb - ga), UNCACHED);
      return { tokens, values: decodeGroup(header, block.index, groupBytes, what) };
    },
    ({ tokens, values }, s) => {
      const builder = new TypeScoresBuilder({ shard: s.index, firstNeuron: block.start, mu });
      addShard(builder, reducer, histograms, tokens.types, tokens.typeIds, values, { columnOffset: block.start, label: `shard ${s.index}` });
      ctx.progress?.((s.index + 1) / plan.shards.length);
    },
  );
}

/**
 * One shard's rows of a block into the reducer and the block's histograms:
 * the histograms are counted on the reducer's copy of the rows in its
 * WebAssembly memory where it makes one (a copy of 8 MB per shard and
 * block less on the MiniLM bench), else from `values`.
 */
function addShard(
  builder: TypeScoresBuilder, reducer: TypeScoresReducer, histograms: Histograms,
  types: readonly string[], typeIds: ArrayLike<number>, values: Matrix, options: BlockOptions,
): void {
  builder.addIds(types, typeIds, values, options);
  const counted = builder.finishInto(reducer, histograms.rowsVisitor);
  if (!counted) histograms.add(values);
}

/** A block's ranked types (neuron `firstNeuron + j`'s are rows `offsets[j]..offsets[j + 1]`) as top_words.parquet's columns. */
function topWordsRows(ranked: RankedTypes, ts: TypeScores, firstNeuron: number, layers: readonly number[], dModel: number): TopWordsInput & { readonly count: Float64Array } {
  const { offsets, type, score } = ranked;
  const n = type.length;
  const B = ts.nNeurons;
  const layer = new Int32Array(n);
  const neuron = new Int32Array(n);
  const globalNeuron = new Int32Array(n);
  const rank = new Int32Array(n);
  const token: string[] = new Array<string>(n);
  const count = new Float64Array(n);
  const mean = new Float64Array(n);
  for (let j = 0; j < B; j++) {
    const g = firstNeuron + j;
    const l = layers[Math.floor(g / dModel)]!;
    for (let r = offsets[j]!; r < offsets[j + 1]!; r++) {
      const t = type[r]!;
      const c = ts.count[t]!;
      layer[r] = l;
      neuron[r] = g % dModel;
      globalNeuron[r] = g;
      rank[r] = r - offsets[j]!;
      token[r] = ts.tokens[t]!;
      count[r] = c;
      mean[r] = ts.sumX[t * B + j]! / c; // topWords.ts topWord's arithmetic
    }
  }
  return { layer, neuron, globalNeuron, rank, token, score: Float64Array.from(score), count, mean };
}

/** The shape of a run's pass-2 jobs, for `warmTypeScores`. */
export interface TypeScoresWarmUp {
  /** Neurons of the widest block. */
  readonly blockNeurons: number;
  /** Tokens of the largest shard. */
  readonly shardTokens: number;
  /** Tokens of the largest pass-2 segment (`segmentTokens`); default `shardTokens`. */
  readonly segmentTokens?: number;
  /** Whether a block has several segments (`segmentTokens` below the run's tokens): the reducer then holds two row areas. */
  readonly severalSegments?: boolean;
  /** Bytes per stored activation (2 for float16, 4 for float32). */
  readonly valueBytes: number;
  /** The run's distinct tokens, when known: the reducer is then sized and kept for the first job. */
  readonly types: number | null;
  readonly topK: number;
}

/** Tokens of a plan's largest pass-2 segment (pipelines/typeGrouping.ts), from its shards' token counts. */
export function segmentTokens(shardTokens: readonly number[], blockNeurons: number): number {
  let most = 0;
  for (const [a, b] of cutSegments(shardTokens, blockNeurons, SEGMENT_BYTES)) {
    let n = 0;
    for (let i = a; i < b; i++) n += shardTokens[i]!;
    most = Math.max(most, n);
  }
  return most;
}

let warmed = false;

/**
 * Readies this thread for pass 2 before its first block, while it would
 * otherwise wait: a lane's first block cost about twice a later one (the
 * code's first runs, the Parquet writer's above all, and first touches of
 * its buffers). Runs the block code (grouping, reducer, histograms,
 * ranking, Parquet encoding) once over two synthetic shards of the run's
 * shape, writes nothing, and keeps a reducer for the first job, sized for
 * `types` when given and its memory touched (tables, a segment's rows, the
 * ranking's state beside the tables: about 0.2-0.3 s on the MiniLM bench). Results never depend on it: a job starts
 * from a reset reducer either way.
 */
export function warmTypeScores(w: TypeScoresWarmUp): void {
  const B = w.blockNeurons;
  const n = Math.max(1, w.shardTokens);
  if (!warmed) {
    warmed = true;
    const nTypes = Math.max(1, Math.min(n >> 2, 4096));
    const types = Array.from({ length: nTypes }, (_, t) => `warm${t}`);
    const typeIds = new Int32Array(n);
    const data = new Float32Array(n * B);
    let x = 12345;
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const u = x / 2 ** 32;
      typeIds[i] = Math.floor(nTypes * u * u); // a few frequent types, many rare ones
    }
    for (let i = 0; i < data.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      data[i] = x / 2 ** 31 - 1;
    }
    const mu = new Float64Array(B);
    const histograms = new Histograms({ firstNeuron: 0, min: new Float64Array(B).fill(-1), max: new Float64Array(B).fill(1) });
    const visitor = histograms.rowsVisitor;
    const grouping = groupCorpusTypes([0, 1].map((shard) => ({ shard, types, typeIds })), B, SEGMENT_BYTES);
    const reducer = new TypeScoresReducer({ expectedTypes: nTypes });
    if (reducer.beginCorpus(grouping, { firstNeuron: 0, mu }, visitor.bytes)) {
      grouping.segments.forEach((seg, si) => {
        const rows = reducer.segmentRows(si);
        for (let i = 0; i < seg.end - seg.first; i++) {
          rows.set(data, seg.rowStart[i]! * B);
          reducer.visit(visitor, si, seg.rowStart[i]!, n);
        }
        reducer.sumSegment(si, () => {
          throw new Error('warm-up: non-finite sums');
        });
      });
    }
    histograms.encode();
    const merged = reducer.finish({ scratchBytes: rankStateBytes(nTypes, B, w.topK) });
    encodeTopWords(topWordsRows(rankTopWordsColumns(merged, w.topK, 0), merged, 0, [0], B), { metadata: { warm: 'up' } });
  }
  if (spareBuffers === null && w.valueBytes !== 4) {
    // float16 groups are read into these: each one filled once, so the first job's reads do not fault its pages in
    spareBuffers = Array.from({ length: READS_IN_FLIGHT + 1 }, () => {
      const memory = new ReusableMemory();
      memory.bytes(n * B * w.valueBytes).fill(0);
      return memory;
    });
  }
  if (spare === null && w.types !== null) {
    spare = new TypeScoresReducer({ expectedTypes: w.types, memory: passMemory() });
    spare.prepare(B, Math.max(w.segmentTokens ?? n, Math.ceil(rankStateBytes(w.types, B, w.topK) / (4 * B))), w.severalSegments ? 2 : 1);
  }
}
