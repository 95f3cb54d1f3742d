/**
 * Reduce type scores (per neuron block, after the block's pass-2 jobs):
 * merge the shards' per-type sums in shard order, rank every neuron of the
 * block (NeuroX's get_top_words), cut at the threshold and top-k, and write
 * the block's rows as a Parquet part. Reads exactly the keys the plan fixes.
 */
import { InputError } from '../../pipelines/errors.ts';
import { runKeys } from '../../pipelines/keys.ts';
import { rankTopWords } from '../../pipelines/topWords.ts';
import { decodeTypeScores, TypeScoresReducer } from '../../pipelines/typeScoresReduce.ts';
import type { ReduceTypesJob, ReduceTypesResult } from '../../schemas/jobs.ts';
import { encodeTopWords, PARQUET_CONTENT_TYPE } from '../parquet.ts';
import { fileMetadata } from './analyze.ts';
import type { StageContext } from './context.ts';
import { readManifest } from './manifest.ts';
import { mapInOrder } from './ordered.ts';
import { reduceHistograms } from './renderInputs.ts';

export async function runReduceTypes(ctx: StageContext, job: ReduceTypesJob): Promise<ReduceTypesResult> {
  const store = ctx.store(job.output);
  const manifest = await readManifest(store, job.runId);
  const { plan } = manifest;
  const block = plan.blocks[job.block];
  if (!block) throw new InputError(`reduce-types: block ${job.block} is out of range [0, ${plan.blocks.length - 1}]`);
  const keys = runKeys(plan.runId);
  const reducer = new TypeScoresReducer();
  await mapInOrder(
    plan.shards,
    4,
    async (s) => {
      const key = keys.typeScores(block.index, s.index);
      try {
        return decodeTypeScores(await store.get(key));
      } catch (err) {
        if (err instanceof InputError) throw new InputError(`${store.location}${key}: ${err.message}`);
        throw err;
      }
    },
    (part, s) => {
      if (part.shards.length !== 1 || part.shards[0] !== s.index) throw new InputError(`${keys.typeScores(block.index, s.index)} holds shards [${Array.from(part.shards).join(', ')}], expected [${s.index}]`);
      reducer.add(part);
      ctx.progress?.((s.index + 1) / plan.shards.length);
    },
  );
  const merged = reducer.finish();
  // NeuroX refuses numTokens with a threshold; this product applies both (threshold first, then the cut).
  const lists = rankTopWords(merged, { minThreshold: plan.options.minThreshold });
  const { topK } = plan.options;
  let n = 0;
  for (const l of lists) n += topK > 0 ? Math.min(topK, l.length) : l.length;
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
    const kept = topK > 0 ? list.slice(0, topK) : list;
    kept.forEach((w, k) => {
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
  await reduceHistograms(store, manifest, block.index);
  const key = keys.topWordsBlock(block.index);
  await store.put(key, encodeTopWords({ layer, neuron, globalNeuron, rank, token, score, count, mean }, { metadata: fileMetadata(manifest) }), { contentType: PARQUET_CONTENT_TYPE });
  return { version: 1, runId: plan.runId, block: block.index, nTypes: merged.tokens.length, rows: n, key };
}
