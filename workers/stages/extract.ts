/**
 * Extract stage (per shard): run the model over the shard's sentences,
 * store the activations in the shard format and the per-neuron partial
 * moments, both in the content-addressed cache. A shard already in the cache
 * (an earlier run, or this job's previous attempt) is not extracted again.
 *
 * Writes, in order: activations, moments, top sentences (renderInputs.ts),
 * meta (the cache entry is complete once meta exists), then the run's own
 * record `extracted/<shard>.json`.
 * A retry rewrites the same keys with the same bytes.
 *
 * The three steps (`fromCache`, `extractShard`, `storeShard`) are exported
 * for the embedded runner, which stores each shard on a stage thread while
 * the model runs over the next one in its own thread (ONNX Runtime's `run`
 * holds the calling thread).
 */
import { InputError } from '../../pipelines/errors.ts';
import { runKeys } from '../../pipelines/keys.ts';
import { accumulateMoments, emptyMoments, encodeMoments, type Moments } from '../../pipelines/moments.ts';
import { shardSentencesOf } from '../../pipelines/plan.ts';
import type { ExtractedSentence } from '../../pipelines/ports.ts';
import { ReusableMemory } from '../../pipelines/bytes.ts';
import { passMemory } from '../../pipelines/wasmKernels.ts';
import { encodeShardChunks } from '../../pipelines/shard.ts';
import { ExtractResultV1, type ExtractJob, type ExtractResult } from '../../schemas/jobs.ts';
import { splitObjectUrl, type StageContext } from './context.ts';
import { jsonBytes, readJson } from './manifest.ts';
import { topSentencesCacheKey } from '../../pipelines/renderKeys.ts';
import { ensureShardTopSentences, ShardTopSentences } from './renderInputs.ts';

/** Copies a block's moments into the moments of every neuron (`all.firstNeuron` is 0). */
function place(all: Moments, part: Moments): void {
  const at = part.firstNeuron;
  all.count.set(part.count, at);
  all.mean.set(part.mean, at);
  all.m2.set(part.m2, at);
  all.min.set(part.min, at);
  all.max.set(part.max, at);
}

export async function runExtract(ctx: StageContext, job: ExtractJob): Promise<ExtractResult> {
  return (await fromCache(ctx, job)) ?? (await storeShard(ctx, job, await extractShard(ctx, job)));
}

/** A shard's sentences through the model, and the counts its result reports. */
export interface ExtractedShard {
  readonly sentences: ExtractedSentence[];
  readonly dModel: number;
  readonly truncatedSentences: number;
  readonly truncatedWords: number;
  readonly emptyWords: number;
}

/** The result of a shard already in the cache (its run record written), or null to extract it. */
export async function fromCache(ctx: StageContext, job: ExtractJob): Promise<ExtractResult | null> {
  const store = ctx.store(job.output);
  const { shard } = job;
  if (!(await store.head(shard.cache.meta))) return null;
  const meta = await readJson(store, shard.cache.meta, ExtractResultV1);
  if (meta.nSentences !== shard.nSentences) {
    throw new InputError(`${store.location}${shard.cache.meta}: cache entry has ${meta.nSentences} sentences, shard ${shard.index} has ${shard.nSentences}`);
  }
  await ensureShardTopSentences(store, shard, job.topSentences);
  const result: ExtractResult = { ...meta, shard: shard.index, cached: true };
  await store.put(runKeys(job.runId).extracted(shard.index), jsonBytes(result), { contentType: 'application/json' });
  ctx.log(`shard ${shard.index}: from the cache (${meta.nTokens} tokens)`);
  return result;
}

/** Runs the model over the shard's sentences (read from the corpus). */
export async function extractShard(ctx: StageContext, job: ExtractJob): Promise<ExtractedShard> {
  const { shard } = job;
  const { storeUrl, key } = splitObjectUrl(job.corpusUrl);
  const text = await ctx.store(storeUrl).getRange(key, shard.byteStart, shard.byteEnd);
  const sentences = shardSentencesOf(text, shard, job.corpusUrl);

  const model = await ctx.model(job.model.spec);
  if (model.info.id !== job.model.id) {
    throw new InputError(`model '${job.model.spec}' is now ${model.info.id}; run ${job.runId} was planned with ${job.model.id}`);
  }
  const { aggregation, includeSpecialTokens, ignoreEmbeddings, batchSize } = job.extract;
  const extracted: ExtractedSentence[] = [];
  let truncatedSentences = 0;
  let truncatedWords = 0;
  let emptyWords = 0;
  for await (const s of model.extract(sentences, { aggregation, includeSpecialTokens, ignoreEmbeddings, layers: job.layers, batchSize })) {
    const i = extracted.length;
    if (s.nLayers !== job.layers.length || s.dModel !== model.info.dModel) {
      throw new InputError(`shard ${shard.index}, sentence ${i}: extractor gave [${s.nLayers} x ${s.nTokens} x ${s.dModel}], expected ${job.layers.length} layers of ${model.info.dModel}`);
    }
    if (s.truncatedWords > 0) truncatedSentences++;
    truncatedWords += s.truncatedWords;
    emptyWords += s.emptyWords.length;
    extracted.push(s);
    ctx.progress?.(extracted.length / sentences.length);
  }
  if (extracted.length !== sentences.length) {
    throw new InputError(`shard ${shard.index}: extractor returned ${extracted.length} sentences for ${sentences.length}`);
  }
  return { sentences: extracted, dModel: model.info.dModel, truncatedSentences, truncatedWords, emptyWords };
}

/**
 * Encodes the extracted shard (partial moments and top sentences on the way)
 * and writes it to the cache, then the run's record. Empties
 * `extracted.sentences` (the encoded groups hold everything).
 */
export async function storeShard(ctx: StageContext, job: ExtractJob, extracted: ExtractedShard): Promise<ExtractResult> {
  const store = ctx.store(job.output);
  const { shard } = job;
  const { dModel, sentences } = extracted;
  if (sentences.length !== shard.nSentences) throw new InputError(`shard ${shard.index}: ${sentences.length} extracted sentences, the shard has ${shard.nSentences}`);
  const nNeurons = job.layers.length * dModel;
  const moments = emptyMoments(nNeurons);
  const label = `shard ${shard.index} (sentences ${shard.firstSentence}-${shard.firstSentence + shard.nSentences - 1})`;
  const tops = new ShardTopSentences(nNeurons, job.topSentences, sentences.map((s) => s.nTokens));
  // Moments are taken on the values as stored (float16 rounded), so pass 2 and pass 1 see the same numbers.
  const memory = spares.pop() ?? new ReusableMemory();
  const encoded = encodeShardChunks({ sentences, layers: job.layers, dModel, dtype: job.extract.dtype, groupWidth: job.groupWidth }, (_g, values, first) => {
    const part = emptyMoments(values.cols, first);
    accumulateMoments(part, values, { columnOffset: first, label });
    place(moments, part);
    // The top-sentence scan reads the group where the encoder laid it (this
    // thread's pass memory) instead of a copy: 15 ms less per MiniLM shard.
    // The moments still copy it, chunk by chunk: first to read a freshly
    // gathered group, their kernel ran 2.5x slower in place than the copy
    // plus the kernel (BENCHMARKS.md), and the copy leaves the group in cache.
    tops.addGroup(values, first, true);
  }, memory);
  sentences.length = 0; // the encoded groups hold everything now

  await store.putStream(shard.cache.activations, chunksOf(encoded.chunks), { contentType: 'application/octet-stream', uncached: true });
  spares.push(memory); // written: free for the next shard (after a failed upload, parts may still be in flight)
  await store.put(shard.cache.moments, encodeMoments(moments), { contentType: 'application/octet-stream' });
  await store.put(topSentencesCacheKey(shard.cache.prefix, job.topSentences), tops.encode(), { contentType: 'application/octet-stream' });
  const result: ExtractResult = {
    version: 1,
    shard: shard.index,
    nSentences: shard.nSentences,
    nTokens: encoded.header.nTokens,
    truncatedSentences: extracted.truncatedSentences,
    truncatedWords: extracted.truncatedWords,
    emptyWords: extracted.emptyWords,
    cached: false,
    activationBytes: encoded.byteLength,
  };
  await store.put(shard.cache.meta, jsonBytes(result), { contentType: 'application/json' });
  await store.put(runKeys(job.runId).extracted(shard.index), jsonBytes(result), { contentType: 'application/json' });
  ctx.log(`shard ${shard.index}: extracted ${result.nTokens} tokens (${encoded.byteLength} bytes)`);
  return result;
}

// The memory earlier shards were encoded into, kept for the next ones in this
// process (fresh memory's page faults cost more than the copy into it: see
// ReusableMemory). Taken while in use, so concurrent jobs never share one.
// The first is lent by the thread's pass memory (pass 2's reducer reuses its pages); after a failed
// upload (parts may still be in flight) a replacement has its own.
const spares: ReusableMemory[] = [new ReusableMemory((bytes) => passMemory()?.buffer(bytes) ?? null)];

async function* chunksOf(chunks: readonly Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const c of chunks) yield c;
}
