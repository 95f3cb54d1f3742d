/**
 * Pass 2, one job per neuron block: for every shard in order, read the
 * block's neuron group (one ranged GET) and the shard's tokens, add
 * |x - mu| and x per type into one reducer (no per-shard partial ever
 * touches the store), then rank every neuron of the block (NeuroX's
 * get_top_words), cut at the threshold and top-k, and write the block's rows
 * as a Parquet part; the block's histogram counts are filled on the way.
 *
 * One job per block instead of per shard x block (README, "Deliberate
 * differences"): per-shard partials are types x block x 16 bytes each, which
 * on MiniLM-sized blocks cost more to encode, store, read and merge than the
 * type sums themselves. Parallelism comes from the blocks (`blockNeurons`).
 * The job reads exactly the keys the plan fixes and makes its writes at fixed
 * keys, so a retry recomputes the same bytes.
 */
import { ReusableMemory } from '../../pipelines/bytes.ts';
import { InputError } from '../../pipelines/errors.ts';
import { Histograms } from '../../pipelines/histogram.ts';
import { runKeys } from '../../pipelines/keys.ts';
import { renderKeys } from '../../pipelines/renderKeys.ts';
import { decodeGroup, decodeTokens, groupNeurons, groupRange, readShardHeader, tokensRange } from '../../pipelines/shard.ts';
import { rankTopWordsCut } from '../../pipelines/topWords.ts';
import { TypeScoresBuilder } from '../../pipelines/typeScores.ts';
import { TypeScoresReducer } from '../../pipelines/typeScoresReduce.ts';
import type { TypeScoresJob, TypeScoresResult } from '../../schemas/jobs.ts';
import { encodeTopWords, PARQUET_CONTENT_TYPE } from '../parquet.ts';
import { fileMetadata } from './analyze.ts';
import type { StageContext } from './context.ts';
import { readManifest } from './manifest.ts';
import { mapInOrder } from './ordered.ts';

// The previous job's reducer, kept for the next one in this process (its
// buffers grown to a block's types x neurons: growing them again per block
// was a tenth of pass 2). Taken while in use, so concurrent jobs never share.
let spare: TypeScoresReducer | null = null;
let spareBuffers: ReusableMemory[] | null = null;

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
  const keys = runKeys(plan.runId);
  const muKey = keys.mu(block.index);
  const mu = decodeMu(await store.get(muKey), block.end - block.start, `${store.location}${muKey}`);
  const boundsKey = renderKeys(plan.runId).bounds(block.index);
  const histograms = Histograms.decode(await store.get(boundsKey), `${store.location}${boundsKey}`);
  const shardHeader = async (s: (typeof plan.shards)[number]) => {
    const key = s.cache.activations;
    const what = `${store.location}${key}`;
    const info = await store.head(key);
    if (!info) throw new InputError(`${what}: activation shard ${s.index} is missing`);
    return { key, what, header: await readShardHeader((a, b) => store.getRange(key, a, b), what, info.size) };
  };
  // A fresh reducer is sized for the corpus' types up front: grown by copies
  // from empty, its buffers were touched about three times their final size
  // (0.7 s of the first block's 1.4 s on the MiniLM bench). Reading every
  // shard's token section once more costs a few ms.
  let reducer = spare;
  if (reducer === null) {
    const types = new Set<string>();
    await mapInOrder(
      plan.shards,
      2,
      async (s) => {
        const { key, what, header } = await shardHeader(s);
        const [ta, tb] = tokensRange(header);
        return decodeTokens(header, await store.getRange(key, ta, tb), what);
      },
      (tokens) => {
        for (const t of tokens.types) types.add(t);
      },
    );
    reducer = new TypeScoresReducer({ expectedTypes: types.size });
  }
  spare = null;
  reducer.reset();

  // fetch the next shard's bytes while this one is summed, each group into
  // reused memory (with 2 fetches in flight and one shard being summed, a
  // buffer is free again 3 shards later)
  const width = 2;
  const buffers = spareBuffers ?? Array.from({ length: width + 1 }, () => new ReusableMemory());
  spareBuffers = null;
  await mapInOrder(
    plan.shards,
    width,
    async (s, i) => {
      const { key, what, header } = await shardHeader(s);
      const g = groupNeurons(header.nNeurons, header.groupWidth, block.index);
      if (g.start !== block.start || g.end !== block.end) {
        throw new InputError(`${what}: group ${block.index} holds neurons [${g.start}, ${g.end}), block ${block.index} is [${block.start}, ${block.end})`);
      }
      const [ta, tb] = tokensRange(header);
      const [ga, gb] = groupRange(header, block.index);
      const [tokenBytes, groupBytes] = await Promise.all([store.getRange(key, ta, tb), store.getRange(key, ga, gb, buffers[i % buffers.length]!.bytes(gb - ga))]);
      return { tokens: decodeTokens(header, tokenBytes, what), values: decodeGroup(header, block.index, groupBytes, what) };
    },
    ({ tokens, values }, s) => {
      histograms.add(values);
      const builder = new TypeScoresBuilder({ shard: s.index, firstNeuron: block.start, mu });
      builder.addIds(tokens.types, tokens.typeIds, values, { columnOffset: block.start, label: `shard ${s.index}` });
      builder.finishInto(reducer);
      ctx.progress?.((s.index + 1) / plan.shards.length);
    },
  );
  const merged = reducer.finish();

  // NeuroX refuses numTokens with a threshold; the table applies both (threshold, then the first topK).
  const lists = rankTopWordsCut(merged, plan.options.topK, plan.options.minThreshold);
  let n = 0;
  for (const l of lists) n += l.length;
  const layer = new Int32Array(n);
  const neuron = new Int32Array(n);
  const globalNeuron = new Int32Array(n);
  const rank = new Int32Array(n);
  const token: string[] = new Array<string>(n);
  const score = new Float64Array(n);
  const count = new Float64Array(n);
  const mean = new Float64Array(n);
  const dModel = plan.model.dModel;
  let r = 0;
  lists.forEach((list, j) => {
    const g = block.start + j;
    list.forEach((w, k) => {
      layer[r] = plan.layers[Math.floor(g / dModel)]!;
      neuron[r] = g % dModel;
      globalNeuron[r] = g;
      rank[r] = k;
      token[r] = w.token;
      score[r] = w.score;
      count[r] = w.count;
      mean[r] = w.mean;
      r++;
    });
  });
  spare = reducer; // `merged` and `lists` are not used past this point
  spareBuffers = buffers;
  await store.put(renderKeys(plan.runId).histogramsBlock(block.index), histograms.encode(), { contentType: 'application/octet-stream' });
  const key = keys.topWordsBlock(block.index);
  await store.put(key, encodeTopWords({ layer, neuron, globalNeuron, rank, token, score, count, mean }, { metadata: fileMetadata(manifest) }), { contentType: PARQUET_CONTENT_TYPE });
  return { version: 1, runId: plan.runId, block: block.index, nTypes: merged.tokens.length, rows: n, key };
}
