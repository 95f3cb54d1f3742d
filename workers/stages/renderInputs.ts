/**
 * What the renders need, computed inside passes 1 and 2 (hooks called by the
 * extract, reduce-moments and finish steps):
 *
 * - pass 1, per shard: the shard's top sentences per neuron, ranked on the
 *   values as stored, with sentence indices local to the shard, kept in the
 *   shard's cache entry (so a later run reusing the shard reuses them);
 * - pass 1, reduce: merged in shard order (each shifted by its first
 *   sentence) into one part per neuron block; and each block's empty
 *   histograms (bins between every neuron's min and max);
 * - pass 2 (the type-scores job of each block, workers/stages/typeScores.ts)
 *   fills the block's histograms while it reads the shards;
 * - finish: the blocks' parts written as top_sentences.parquet and
 *   histograms.parquet.
 *
 * Every write is at a key fixed by the plan, so retries rewrite the same bytes.
 */
import { InputError } from '../../pipelines/errors.ts';
import { Histograms } from '../../pipelines/histogram.ts';
import type { Matrix } from '../../pipelines/matrix.ts';
import type { Moments } from '../../pipelines/moments.ts';
import type { PlannedShard } from '../../pipelines/plan.ts';
import type { ObjectStore } from '../../pipelines/ports.ts';
import { renderKeys, topSentencesCacheKey } from '../../pipelines/renderKeys.ts';
import { decodeGroup, decodeTokens, groupRange, readShardHeader, tokensRange } from '../../pipelines/shard.ts';
import { TopSentences } from '../../pipelines/topSentences.ts';
import type { Manifest } from '../../schemas/manifest.ts';
import { histogramsTable, topSentencesTable, type ParquetTableSpec, type TableInput } from '../../schemas/parquet.ts';
import { concatParquetFiles, encodeTable, int32Range, PARQUET_CONTENT_TYPE } from '../parquet.ts';
import { fileMetadata } from './analyze.ts';
import { mapInOrder } from './ordered.ts';

const BINARY = { contentType: 'application/octet-stream' } as const;
const PARQUET = { contentType: PARQUET_CONTENT_TYPE } as const;

// ---------------------------------------------------------------- pass 1, per shard

/** A shard's top sentences, fed the shard's neuron groups as they are encoded (`[nTokens x width]` each). */
export class ShardTopSentences {
  private readonly acc: TopSentences;

  constructor(nNeurons: number, k: number, private readonly sentenceTokens: readonly number[]) {
    this.acc = new TopSentences(nNeurons, k);
  }

  /** One group of the shard: neurons `[first, first + values.cols)`. */
  /** `inPlace`: as TopSentences.addRows (the shard encoder's visit). */
  addGroup(values: Matrix, first: number, inPlace = false): void {
    const part = new TopSentences(values.cols, this.acc.k, first);
    part.addRows(values, this.sentenceTokens, 0, inPlace);
    this.acc.place(part);
  }

  encode(): Uint8Array {
    return this.acc.encode();
  }
}

/**
 * For a shard found in the cache: its top-sentences partial for `k`, computed
 * from the cached activations when the entry predates it or was made with
 * another k (one read per group; the model is not run).
 */
export async function ensureShardTopSentences(store: ObjectStore, shard: PlannedShard | { cache: { prefix: string; activations: string } }, k: number): Promise<void> {
  const key = topSentencesCacheKey(shard.cache.prefix, k);
  if (await store.head(key)) return;
  const act = shard.cache.activations;
  const what = `${store.location}${act}`;
  const header = await readShardHeader((a, b) => store.getRange(act, a, b), what);
  const [ta, tb] = tokensRange(header);
  const tokens = decodeTokens(header, await store.getRange(act, ta, tb), what);
  const tops = new ShardTopSentences(header.nNeurons, k, Array.from(tokens.sentenceTokens));
  for (let g = 0; g < header.sections.groups.length; g++) {
    const [ga, gb] = groupRange(header, g);
    tops.addGroup(decodeGroup(header, g, await store.getRange(act, ga, gb), what), g * header.groupWidth);
  }
  await store.put(key, tops.encode(), BINARY);
}

// ---------------------------------------------------------------- pass 1, reduce

/**
 * Merges every shard's top sentences into top_sentences.parquet and per-block
 * parts, and writes each block's empty histograms from the merged moments'
 * min and max (`moments` covers every neuron of the run).
 */
export async function reduceTopSentences(store: ObjectStore, manifest: Manifest, moments: Moments): Promise<void> {
  const { plan } = manifest;
  const k = plan.options.topSentences;
  const rk = renderKeys(plan.runId);
  const acc = new TopSentences(plan.nNeurons, k);
  await mapInOrder(
    plan.shards,
    4,
    async (s) => {
      const key = topSentencesCacheKey(s.cache.prefix, k);
      return TopSentences.decode(await store.get(key), `${store.location}${key}`);
    },
    (part, s) => {
      if (part.nNeurons !== plan.nNeurons || part.k !== k) {
        throw new InputError(`${store.location}${topSentencesCacheKey(s.cache.prefix, k)}: shard ${s.index} has ${part.nNeurons} neurons x k=${part.k}, expected ${plan.nNeurons} x ${k}`);
      }
      acc.merge(part.shift(s.firstSentence));
    },
  );
  // top_sentences.parquet is written at the end (writeTopSentencesParquet), off pass 1's critical path
  await Promise.all(plan.blocks.map(async (b) => {
    const empty = new Histograms({ firstNeuron: b.start, min: moments.min.subarray(b.start, b.end), max: moments.max.subarray(b.start, b.end), bins: plan.options.histogramBins });
    await Promise.all([store.put(rk.topSentencesBlock(b.index), acc.slice(b.start, b.end).encode(), BINARY), store.put(rk.bounds(b.index), empty.encode(), BINARY)]);
  }));
}

// ---------------------------------------------------------------- finish

/**
 * Writes top_sentences.parquet from the blocks' Parquet parts (written by
 * pass 2, `blockTablesParts`), in block order: their row groups are copied,
 * not decoded. A part that is missing (a run an older version started) is
 * made from the block's top sentences here; one that is another block's or
 * corrupt fails it, naming the part.
 */
export async function writeTopSentencesParquet(store: ObjectStore, manifest: Manifest): Promise<number> {
  const rk = renderKeys(manifest.plan.runId);
  return writeFromBlocks(store, manifest, topSentencesTable, rk.topSentences, rk.topSentencesPart, rk.topSentencesBlock, TopSentences.decode, (t) => t.toColumns(manifest.plan.model.dModel, manifest.plan.layers));
}

/** Concatenates the blocks' histograms, in block order, into histograms.parquet (as `writeTopSentencesParquet`). */
export async function writeHistogramsParquet(store: ObjectStore, manifest: Manifest): Promise<number> {
  const rk = renderKeys(manifest.plan.runId);
  return writeFromBlocks(store, manifest, histogramsTable, rk.histograms, rk.histogramsPart, rk.histogramsBlock, Histograms.decode, (h) => h.toColumns(manifest.plan.model.dModel, manifest.plan.layers));
}

/**
 * One block's rows of top_sentences.parquet and histograms.parquet as the
 * Parquet parts the finish concatenates, written by the block's pass-2 job
 * (where the blocks run side by side, instead of one after another at the
 * end). `top` and `histograms` are the block's (checked by the caller).
 */
export async function writeBlockTables(store: ObjectStore, manifest: Manifest, block: number, top: TopSentences, histograms: Histograms): Promise<void> {
  const { plan } = manifest;
  const rk = renderKeys(plan.runId);
  const options = { metadata: fileMetadata(manifest) };
  await Promise.all([
    store.put(rk.topSentencesPart(block), encodeTable(topSentencesTable, top.toColumns(plan.model.dModel, plan.layers), options), PARQUET),
    store.put(rk.histogramsPart(block), encodeTable(histogramsTable, histograms.toColumns(plan.model.dModel, plan.layers), options), PARQUET),
  ]);
}

/**
 * Writes a table at `key` from each block's Parquet part (at
 * `partKey(block)`), in block order, streaming; a missing part is encoded
 * from the block's binary partial (at `binaryKey(block)`). A part whose rows
 * are another block's neurons (by its global_neuron statistics, or the
 * partial's range), or that is corrupt, fails it, naming the part.
 */
async function writeFromBlocks<P extends { readonly firstNeuron: number; readonly nNeurons: number }, S extends ParquetTableSpec>(
  store: ObjectStore, manifest: Manifest, spec: S, key: string, partKey: (block: number) => string, binaryKey: (block: number) => string,
  decode: (bytes: Uint8Array, what: string) => P, rows: (part: P) => TableInput<S>,
): Promise<number> {
  const { blocks } = manifest.plan;
  const metadata = fileMetadata(manifest);
  const { rows: n } = await concatParquetFiles(spec, store, key, blocks.map((b) => partKey(b.index)), {
    metadata,
    missing: async (i) => {
      const b = blocks[i]!;
      const what = `${store.location}${binaryKey(b.index)}`;
      const part = decode(await store.get(binaryKey(b.index)), what);
      checkBlockPart(what, part.firstNeuron, part.firstNeuron + part.nNeurons, b);
      return encodeTable(spec, rows(part), { metadata });
    },
    check: (i, meta, what) => {
      const b = blocks[i]!;
      if (meta.num_rows === 0n) return;
      const range = int32Range(meta, 'global_neuron');
      if (range === null) throw new InputError(`${what}: no global_neuron statistics to check its block by`);
      if (range.min < b.start || range.max >= b.end) checkBlockPart(what, range.min, range.max + 1, b);
    },
  });
  return n;
}

/** InputError naming `what` unless the part covers exactly neurons `[first, end)` of block `b`. */
export function checkBlockPart(what: string, first: number, end: number, b: { readonly index: number; readonly start: number; readonly end: number }): void {
  if (first !== b.start || end !== b.end) throw new InputError(`${what}: part of neurons [${first}, ${end}), block ${b.index} is [${b.start}, ${b.end})`);
}
