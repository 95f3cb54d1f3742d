/**
 * Reduce moments (one per run, after every extract job): merge the shards'
 * partial moments in shard order (so the bytes are the same on every run),
 * then write neuron_stats.parquet, the merged moments, each block's means
 * for pass 2, and pass 1's summary. Computed from the keys the plan fixes,
 * never from what arrived: a retried or duplicated extract cannot count twice.
 */
import { InputError } from '../../pipelines/errors.ts';
import { runKeys } from '../../pipelines/keys.ts';
import { decodeMoments, emptyMoments, encodeMoments, mergeMomentsInto, std, variance } from '../../pipelines/moments.ts';
import { ExtractResultV1, type ReduceMomentsJob, type ReduceMomentsResult } from '../../schemas/jobs.ts';
import { encodeNeuronStats, PARQUET_CONTENT_TYPE } from '../parquet.ts';
import { fileMetadata } from './analyze.ts';
import type { StageContext } from './context.ts';
import { jsonBytes, readJson, readManifest } from './manifest.ts';
import { mapInOrder } from './ordered.ts';
import { reduceTopSentences } from './renderInputs.ts';

export async function runReduceMoments(ctx: StageContext, job: ReduceMomentsJob): Promise<ReduceMomentsResult> {
  const store = ctx.store(job.output);
  const manifest = await readManifest(store, job.runId);
  const { plan } = manifest;
  const keys = runKeys(plan.runId);
  const acc = emptyMoments(plan.nNeurons);
  let nTokens = 0;
  let cachedShards = 0;
  let truncatedSentences = 0;
  let emptyWords = 0;
  await mapInOrder(
    plan.shards,
    4,
    async (s) => ({
      moments: decodeMomentsAt(await store.get(s.cache.moments), `${store.location}${s.cache.moments}`),
      record: await readJson(store, keys.extracted(s.index), ExtractResultV1),
    }),
    ({ moments, record }, s) => {
      if (moments.nNeurons !== plan.nNeurons || moments.firstNeuron !== 0) {
        throw new InputError(`${store.location}${s.cache.moments}: shard ${s.index} has moments of neurons [${moments.firstNeuron}, ${moments.firstNeuron + moments.nNeurons}), expected [0, ${plan.nNeurons})`);
      }
      mergeMomentsInto(acc, moments);
      nTokens += record.nTokens;
      cachedShards += record.cached ? 1 : 0;
      truncatedSentences += record.truncatedSentences;
      emptyWords += record.emptyWords;
      ctx.progress?.((s.index + 1) / plan.shards.length);
    },
  );

  const dModel = plan.model.dModel;
  const n = plan.nNeurons;
  const layer = new Int32Array(n);
  const neuron = new Int32Array(n);
  const globalNeuron = new Int32Array(n);
  for (let g = 0; g < n; g++) {
    layer[g] = plan.layers[Math.floor(g / dModel)]!;
    neuron[g] = g % dModel;
    globalNeuron[g] = g;
  }
  const v = variance(acc);
  const parquet = encodeNeuronStats(
    { layer, neuron, globalNeuron, count: acc.count, mean: acc.mean, variance: v, std: std(acc), min: acc.min, max: acc.max },
    { metadata: fileMetadata(manifest) },
  );
  // written side by side (a few dozen small objects: their latencies overlap); pass1.json last
  await Promise.all([
    store.put(keys.neuronStats, parquet, { contentType: PARQUET_CONTENT_TYPE }),
    store.put(keys.moments, encodeMoments(acc), { contentType: 'application/octet-stream' }),
    ...plan.blocks.map(async (b) => await store.put(keys.mu(b.index), new Uint8Array(acc.mean.slice(b.start, b.end).buffer), { contentType: 'application/octet-stream' })),
    reduceTopSentences(store, manifest, acc),
  ]);
  const result: ReduceMomentsResult = { version: 1, runId: plan.runId, nTokens, nNeurons: n, nShards: plan.shards.length, cachedShards, truncatedSentences, emptyWords, neuronStats: keys.neuronStats };
  await store.put(keys.pass1, jsonBytes(result), { contentType: 'application/json' });
  ctx.log(`run ${plan.runId}: moments of ${n} neurons over ${nTokens} tokens`);
  return result;
}

function decodeMomentsAt(bytes: Uint8Array, what: string): ReturnType<typeof decodeMoments> {
  try {
    return decodeMoments(bytes);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`${what}: ${err.message}`);
    throw err;
  }
}
