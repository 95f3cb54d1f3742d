/**
 * Type scores (pass 2, per shard x neuron block): read the block's neuron
 * group of the shard (one ranged GET) and its tokens, subtract the corpus
 * means from pass 1, and store per-type sums for the block. The activations
 * never leave the object store whole.
 */
import { InputError } from '../../pipelines/errors.ts';
import { runKeys } from '../../pipelines/keys.ts';
import { decodeGroup, decodeTokens, groupNeurons, groupRange, readShardHeader, tokensRange } from '../../pipelines/shard.ts';
import { encodeTypeScores } from '../../pipelines/typeScoresReduce.ts';
import { TypeScoresBuilder } from '../../pipelines/typeScores.ts';
import type { TypeScoresJob, TypeScoresResult } from '../../schemas/jobs.ts';
import type { StageContext } from './context.ts';
import { histogramPart } from './renderInputs.ts';

/** The means a block's pass-2 jobs subtract: raw little-endian float64. */
export function decodeMu(bytes: Uint8Array, expected: number, what: string): Float64Array {
  if (bytes.length !== expected * 8) throw new InputError(`${what}: ${bytes.length} bytes, expected ${expected * 8} (${expected} float64 means)`);
  return new Float64Array(bytes.slice().buffer);
}

export async function runTypeScores(ctx: StageContext, job: TypeScoresJob): Promise<TypeScoresResult> {
  const store = ctx.store(job.output);
  const keys = runKeys(job.runId);
  const { block } = job;
  const muKey = keys.mu(block.index);
  const mu = decodeMu(await store.get(muKey), block.end - block.start, `${store.location}${muKey}`);

  const what = `${store.location}${job.activations}`;
  const info = await store.head(job.activations);
  if (!info) throw new InputError(`${what}: activation shard is missing (shard ${job.shard})`);
  const header = await readShardHeader((a, b) => store.getRange(job.activations, a, b), what, info.size);
  const g = groupNeurons(header.nNeurons, header.groupWidth, block.index);
  if (g.start !== block.start || g.end !== block.end) {
    throw new InputError(`${what}: group ${block.index} holds neurons [${g.start}, ${g.end}), block ${block.index} is [${block.start}, ${block.end})`);
  }
  const [ta, tb] = tokensRange(header);
  const tokens = decodeTokens(header, await store.getRange(job.activations, ta, tb), what);
  const [ga, gb] = groupRange(header, block.index);
  const values = decodeGroup(header, block.index, await store.getRange(job.activations, ga, gb), what);

  await histogramPart(store, job.runId, block.index, job.shard, values);
  const words = Array.from(tokens.typeIds, (id) => tokens.types[id]!);
  const builder = new TypeScoresBuilder({ shard: job.shard, firstNeuron: block.start, mu });
  builder.add(words, values, { columnOffset: block.start, label: `shard ${job.shard}` });
  const scores = builder.finish();
  const key = keys.typeScores(block.index, job.shard);
  await store.put(key, encodeTypeScores(scores), { contentType: 'application/octet-stream' });
  return { version: 1, shard: job.shard, block: block.index, nTypes: scores.tokens.length, key };
}
