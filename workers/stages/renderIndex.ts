/**
 * Render-index stage (once per run, after the render jobs): the per-run
 * index (summary, one file per layer, word -> neurons) and the static HTML
 * page, plus each layer's variance distribution. Every neuron is listed with
 * its stats, top words and top sentences (with their text, read from the
 * corpus); the neurons the render selection picked also get their SVG paths.
 */
import { InputError } from '../../pipelines/errors.ts';
import { Histograms } from '../../pipelines/histogram.ts';
import { renderHtmlIndex } from '../../pipelines/htmlIndex.ts';
import { runKeys } from '../../pipelines/keys.ts';
import { shardSentencesOf } from '../../pipelines/plan.ts';
import { varianceDistributionSvg } from '../../pipelines/plots/index.ts';
import { renderKeys, renderPaths } from '../../pipelines/renderKeys.ts';
import { selectNeurons } from '../../pipelines/renderSelection.ts';
import { buildRunIndex, DEFAULT_INDEX_TOP_WORDS, runIndexFiles, type NeuronInput } from '../../pipelines/runIndex.ts';
import { TopSentences } from '../../pipelines/topSentences.ts';
import { neuronStatsTable } from '../../schemas/parquet.ts';
import type { RenderIndexJob, RenderIndexResult } from '../../schemas/render.ts';
import { readTable } from '../parquet.ts';
import { shardOfSentence } from '../render/cacheReader.ts';
import { splitObjectUrl, type StageContext } from './context.ts';
import { readManifest } from './manifest.ts';
import { blockTopWords, plottableHistogram, putAll, readPartial, SVG_CONTENT_TYPE } from './render.ts';

export async function runRenderIndex(ctx: StageContext, job: RenderIndexJob): Promise<RenderIndexResult> {
  const store = ctx.store(job.output);
  const manifest = await readManifest(store, job.runId);
  const { plan } = manifest;
  const keys = runKeys(plan.runId);
  const rk = renderKeys(plan.runId);
  const dModel = plan.model.dModel;
  const stats = await readTable(neuronStatsTable, await store.get(keys.neuronStats));
  if (stats.globalNeuron.length !== plan.nNeurons) throw new InputError(`render-index: neuron_stats has ${stats.globalNeuron.length} rows, the run has ${plan.nNeurons} neurons`);
  const selected = new Set(selectNeurons(plan.options.render, stats.variance, plan.layers, dModel));

  // every block's top sentences, top words and histogram bounds
  const blocks: Array<{ b: (typeof plan.blocks)[number]; top: TopSentences; hist: Histograms; words: Awaited<ReturnType<typeof blockTopWords>> }> = [];
  const needed = new Set<number>();
  for (const b of plan.blocks) {
    const top = await readPartial(store, rk.topSentencesBlock(b.index), TopSentences.decode);
    const hist = await readPartial(store, rk.histogramsBlock(b.index), Histograms.decode);
    const words = await blockTopWords(store, plan.runId, b, DEFAULT_INDEX_TOP_WORDS); // all the index lists
    for (let j = 0; j < top.nNeurons; j++) for (const e of top.top(j)) needed.add(e.sentenceIndex);
    blocks.push({ b, top, hist, words });
  }
  const texts = await sentenceTexts(ctx, plan, needed);

  // one neuron at a time, as the index takes them: the rows as read (it
  // keeps the first top words and takes each sentence's text from `sentenceTexts`)
  function* neurons(): Generator<NeuronInput> {
    for (const { b, top, hist, words } of blocks) {
      for (let g = b.start; g < b.end; g++) {
        const j = g - b.start;
        const rendered = selected.has(g);
        const topWords = words.get(g) ?? [];
        yield {
          layer: plan.layers[Math.floor(g / dModel)]!,
          neuron: g % dModel,
          stats: { count: stats.count[g]!, mean: stats.mean[g]!, variance: stats.variance[g]!, std: stats.std[g]!, min: stats.min[g]!, max: stats.max[g]! },
          topWords,
          topSentences: top.top(j),
          rendered,
          plots: { histogram: rendered && plottableHistogram(hist, j) !== null, topWords: rendered && topWords.length > 0 },
        };
      }
    }
  }

  const index = buildRunIndex(
    {
      runId: plan.runId,
      model: plan.model.spec,
      nLayers: plan.layers.length,
      dModel,
      createdAt: manifest.createdAt,
      sentences: plan.corpus.nSentences,
      tokens: manifest.summary?.nTokens ?? stats.count[0] ?? 0,
      files: {
        'neuron_stats.parquet': 'neuron_stats.parquet',
        'top_words.parquet': 'top_words.parquet',
        'top_sentences.parquet': 'top_sentences.parquet',
        'histograms.parquet': 'histograms.parquet',
        'manifest.json': 'manifest.json',
      },
      layers: plan.layers,
      sentenceTexts: texts,
    },
    neurons(),
  );
  const objects: Array<{ key: string; body: Uint8Array | string; contentType: string }> = plan.layers.map((layer, i) => ({
    key: rk.of(renderPaths.variance(layer)),
    body: varianceDistributionSvg(stats.variance.subarray(i * dModel, (i + 1) * dModel), { title: `layer ${layer}: variance of its ${dModel} neurons` }),
    contentType: SVG_CONTENT_TYPE,
  }));
  for (const f of runIndexFiles(index)) objects.push({ key: rk.of(f.path), body: f.body, contentType: f.contentType });
  objects.push({ key: rk.of(renderPaths.html), body: renderHtmlIndex(index.summary), contentType: 'text/html; charset=utf-8' });
  await putAll(store, objects);
  const files = objects.length;
  const count = index.summary.layers.reduce((n, l) => n + l.neurons, 0);
  ctx.log(`run ${plan.runId}: index of ${count} neurons (${selected.size} rendered) at ${store.location}${rk.of(renderPaths.html)}`);
  return { version: 1, runId: plan.runId, neurons: count, rendered: selected.size, files, html: rk.of(renderPaths.html) };
}

/** The text of the given sentences, read shard by shard from the corpus (checked against the plan's hashes). */
async function sentenceTexts(ctx: StageContext, plan: { corpus: { url: string }; shards: Parameters<typeof shardOfSentence>[0] }, wanted: Set<number>): Promise<Map<number, string>> {
  const { storeUrl, key } = splitObjectUrl(plan.corpus.url);
  const corpus = ctx.store(storeUrl);
  const byShard = new Map<number, number[]>();
  for (const s of wanted) {
    const sh = shardOfSentence(plan.shards, s);
    let list = byShard.get(sh.index);
    if (!list) byShard.set(sh.index, (list = []));
    list.push(s);
  }
  const out = new Map<number, string>();
  for (const [index, list] of byShard) {
    const sh = plan.shards[index]!;
    const lines = shardSentencesOf(await corpus.getRange(key, sh.byteStart, sh.byteEnd), sh, plan.corpus.url);
    for (const s of list) out.set(s, lines[s - sh.firstSentence]!);
  }
  return out;
}
