/**
 * Render stage (per neuron block, after pass 2): for the block's selected
 * neurons, the SVGs of their top sentences (one colour scale per neuron, so
 * its sentences compare), their activation histograms and top-word bars, at
 * the keys of pipelines/renderKeys.ts. Inputs are fixed by the plan (the
 * block's merged top sentences and histograms, its top words' head, one
 * ranged read of the block's group per shard holding a top sentence), so a
 * retried job rewrites the same bytes at the same keys.
 */
import { InputError } from '../../pipelines/errors.ts';
import { Histograms, type HistogramBin } from '../../pipelines/histogram.ts';
import { runKeys } from '../../pipelines/keys.ts';
import type { ObjectStore } from '../../pipelines/ports.ts';
import { renderKeys } from '../../pipelines/renderKeys.ts';
import { TopSentences } from '../../pipelines/topSentences.ts';
import { decodeTopWordsHead, HEAD_TOP_WORDS } from '../../pipelines/topWordsHead.ts';
import type { TopWordBar } from '../../pipelines/plots/index.ts';
import type { RenderIndexJob, RenderJob, RenderResult } from '../../schemas/render.ts';
import { jobIds, type Plan } from '../../pipelines/plan.ts';
import { selectNeurons } from '../../pipelines/renderSelection.ts';
import { neuronStatsTable } from '../../schemas/parquet.ts';
import type { Manifest } from '../../schemas/manifest.ts';
import { readTable, storeFile } from '../parquet.ts';
import type { PlannedJob } from './index.ts';
import { column, readBlockSentences } from '../render/cacheReader.ts';
import { neuronSvgs, type RenderFile, type SentenceStyle } from '../render/neuronSvgs.ts';
import type { StageContext } from './context.ts';
import { jsonBytes, readManifest, withStages, writeManifest } from './manifest.ts';
import { checkBlockPart } from './renderInputs.ts';

/** Top words drawn per neuron. */
export const PLOT_TOP_WORDS = HEAD_TOP_WORDS;
export const SVG_CONTENT_TYPE = 'image/svg+xml';

/** Decodes a stored partial, naming its key when it is malformed. */
export async function readPartial<T>(store: ObjectStore, key: string, decode: (b: Uint8Array, what: string) => T): Promise<T> {
  return decode(await store.get(key), `${store.location}${key}`);
}

/** A neuron's bins when they can be placed on an axis (finite bounds, some values), else null. */
export function plottableHistogram(h: Histograms, j: number): HistogramBin[] | null {
  if (!Number.isFinite(h.min[j]!) || !Number.isFinite(h.max[j]!)) return null;
  const bins = h.histogram(j);
  return bins.some((b) => b.count > 0) ? bins : null;
}

/** The block's first top words (at most `max`, HEAD_TOP_WORDS or fewer) by global neuron, best first. */
export async function blockTopWords(store: ObjectStore, runId: string, block: { readonly index: number; readonly start: number; readonly end: number }, max = PLOT_TOP_WORDS): Promise<Map<number, TopWordBar[]>> {
  if (max > HEAD_TOP_WORDS) throw new Error(`top words: ${max} per neuron asked, pass 2 keeps ${HEAD_TOP_WORDS} for the renders and the index`);
  const key = renderKeys(runId).topWordsHead(block.index);
  const head = await readPartial(store, key, decodeTopWordsHead);
  checkBlockPart(`${store.location}${key}`, head.firstNeuron, head.firstNeuron + head.nNeurons, block);
  const out = new Map<number, TopWordBar[]>();
  for (let j = 0; j < head.nNeurons; j++) {
    const a = head.offsets[j]!;
    const b = Math.min(head.offsets[j + 1]!, a + max);
    if (b === a) continue;
    const list: TopWordBar[] = [];
    for (let e = a; e < b; e++) list.push({ token: head.token[e]!, score: head.score[e]!, count: head.count[e]!, mean: head.mean[e]! });
    out.set(head.firstNeuron + j, list);
  }
  return out;
}

/** Writes files under the run's prefix, `concurrency` at a time. */
export async function putFiles(store: ObjectStore, runId: string, files: readonly RenderFile[], concurrency = 8): Promise<void> {
  const rk = renderKeys(runId);
  await putAll(store, files.map((f) => ({ key: rk.of(f.path), body: f.svg, contentType: SVG_CONTENT_TYPE })), concurrency);
}

/** Writes objects, `concurrency` at a time (a store's latency, not its bandwidth, bounds many small puts). */
export async function putAll(store: ObjectStore, objects: ReadonlyArray<{ key: string; body: Uint8Array | string; contentType: string }>, concurrency = 8): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, objects.length) }, async () => {
      for (let i = next++; i < objects.length; i = next++) {
        const o = objects[i]!;
        await store.put(o.key, o.body, { contentType: o.contentType });
      }
    }),
  );
}

/** The render jobs of a run whose passes are done: one per block, with the block's selected neurons. */
export async function renderJobs(ctx: StageContext, manifest: Manifest): Promise<Array<PlannedJob<RenderJob>>> {
  const { plan, request } = manifest;
  const store = ctx.store(request.output);
  const stats = await readTable(neuronStatsTable, await storeFile(store, runKeys(plan.runId).neuronStats));
  const selected = selectNeurons(plan.options.render, stats.variance, plan.layers, plan.model.dModel);
  return plan.blocks.map((b) => ({
    id: jobIds.render(plan.runId, b.index),
    data: { version: 1, runId: plan.runId, output: request.output, block: b.index, neurons: Array.from(selected.filter((g) => g >= b.start && g < b.end)) },
  }));
}

export function renderIndexJob(plan: Plan, output: string): PlannedJob<RenderIndexJob> {
  return { id: jobIds.renderIndex(plan.runId), data: { version: 1, runId: plan.runId, output } };
}

/** After pass 2: the manifest says the renders are running. */
export async function markRendering(ctx: StageContext, manifest: Manifest, now = new Date()): Promise<Manifest> {
  const next = withStages(withStages(manifest, 'done', ['type-scores'], now), 'running', ['render', 'render-index'], now);
  await writeManifest(ctx.store(manifest.request.output), next);
  return next;
}

export async function runRender(ctx: StageContext, job: RenderJob): Promise<RenderResult> {
  const store = ctx.store(job.output);
  const { plan } = await readManifest(store, job.runId);
  const block = plan.blocks[job.block];
  if (!block) throw new InputError(`render: block ${job.block} is out of range [0, ${plan.blocks.length - 1}]`);
  for (const g of job.neurons) {
    if (g < block.start || g >= block.end) throw new InputError(`render: neuron ${g} is not in block ${block.index} [${block.start}, ${block.end})`);
  }
  const rk = renderKeys(plan.runId);
  if (job.neurons.length === 0) {
    const none: RenderResult = { version: 1, runId: plan.runId, block: block.index, neurons: 0, files: 0 };
    await store.put(rk.rendered(block.index), jsonBytes(none), { contentType: 'application/json' });
    return none;
  }
  const top = await readPartial(store, rk.topSentencesBlock(block.index), TopSentences.decode);
  const hist = await readPartial(store, rk.histogramsBlock(block.index), Histograms.decode);
  for (const [name, p] of [['top sentences', top], ['histograms', hist]] as const) {
    if (p.firstNeuron !== block.start || p.nNeurons !== block.end - block.start) {
      throw new InputError(`render: ${name} of block ${block.index} hold neurons [${p.firstNeuron}, ${p.firstNeuron + p.nNeurons}), expected [${block.start}, ${block.end})`);
    }
  }
  const words = await blockTopWords(store, plan.runId, block);
  const wanted = new Set<number>();
  for (const g of job.neurons) for (const e of top.top(g - block.start)) wanted.add(e.sentenceIndex);
  const sentences = await readBlockSentences(store, plan.shards, block, wanted);
  const style: SentenceStyle = { textDirection: plan.options.textDirection };
  const dModel = plan.model.dModel;
  let files = 0;
  for (const [i, g] of job.neurons.entries()) {
    const j = g - block.start;
    const layer = plan.layers[Math.floor(g / dModel)]!;
    const neuron = g % dModel;
    const rendered = top.top(j).map((e, rank) => {
      const s = sentences.get(e.sentenceIndex)!;
      const values = column(s.values, j);
      // the cache is what pass 1 ranked: a mismatch means the inputs changed under the run
      if (values[e.tokenIndex] !== e.maxActivation) {
        throw new InputError(`render: neuron ${layer}:${neuron}, sentence ${e.sentenceIndex}: cached activation ${values[e.tokenIndex]} at token ${e.tokenIndex} is not the ranked ${e.maxActivation}`);
      }
      return { rank, sentenceIndex: e.sentenceIndex, tokens: s.tokens, values };
    });
    const out = neuronSvgs(
      {
        layer,
        neuron,
        sentences: rendered,
        scale: Math.max(Math.abs(top.max[j]!), Math.abs(top.min[j]!)),
        histogram: plottableHistogram(hist, j),
        topWords: words.get(g) ?? [],
      },
      style,
    );
    await putFiles(store, plan.runId, out);
    files += out.length;
    ctx.progress?.((i + 1) / job.neurons.length);
  }
  ctx.log(`run ${plan.runId}: rendered ${job.neurons.length} neurons of block ${block.index} (${files} SVGs)`);
  const result: RenderResult = { version: 1, runId: plan.runId, block: block.index, neurons: job.neurons.length, files };
  await store.put(rk.rendered(block.index), jsonBytes(result), { contentType: 'application/json' });
  return result;
}
