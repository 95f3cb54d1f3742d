/**
 * The run's own steps, around the stage jobs: plan (read the corpus, load
 * the model's description, write the manifest) and finish (concatenate the
 * blocks' top words into top_words.parquet, mark the run complete).
 */
import { readFileSync } from 'node:fs';
import { NotFoundError } from '../../pipelines/errors.ts';
import { selectLayers } from '../../pipelines/extractOptions.ts';
import { runKeys } from '../../pipelines/keys.ts';
import { CorpusSplitter, pickRunOptions, PLAN_VERSION, planRun, STAGES, stageTotals, type ExtractionOptions, type Plan, type RunOptions } from '../../pipelines/plan.ts';
import { SHARD_VERSION } from '../../pipelines/shard.ts';
import type { AnalysisJob, AnalysisResult } from '../../schemas/analysis.ts';
import { ReduceMomentsResultV1, type ReduceMomentsResult } from '../../schemas/jobs.ts';
import type { Manifest } from '../../schemas/manifest.ts';
import { topWordsTable } from '../../schemas/parquet.ts';
import { concatParquetFiles } from '../parquet.ts';
import { absoluteUrl, splitObjectUrl, type StageContext } from './context.ts';
import { findManifest, readJson, withStages, writeManifest } from './manifest.ts';
import { renderKeys, renderPaths } from '../../pipelines/renderKeys.ts';
import { writeHistogramsParquet, writeTopSentencesParquet } from './renderInputs.ts';

export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The extraction options of a request, as the planner takes them. */
export function extractionOptionsOf(request: AnalysisJob): ExtractionOptions {
  const o = request.options;
  return { aggregation: o.aggregation, includeSpecialTokens: o.includeSpecialTokens, ignoreEmbeddings: o.ignoreEmbeddings, layers: o.layers, batchSize: o.batchSize, dtype: o.dtype };
}

/** The run options of a request, as the planner takes them. */
export function runOptionsOf(request: AnalysisJob): RunOptions {
  return pickRunOptions(request.options);
}

/** Reads the corpus (streamed), describes the model, plans, and writes the manifest. */
export async function planAnalysis(ctx: StageContext, request: AnalysisJob, now = new Date()): Promise<{ plan: Plan; manifest: Manifest }> {
  const corpusUrl = absoluteUrl(request.corpus);
  const { storeUrl, key } = splitObjectUrl(corpusUrl);
  const corpusStore = ctx.store(storeUrl);
  if (!(await corpusStore.head(key))) throw new NotFoundError(corpusUrl, `corpus ${request.corpus} not found (${corpusStore.location}${key})`);
  const o = request.options;
  const splitter = new CorpusSplitter(o.shardSentences, request.corpus);
  for await (const chunk of corpusStore.getStream(key)) splitter.push(chunk);
  const corpus = splitter.end();

  const model = await ctx.model(request.model);
  const layers = selectLayers(model.info.nLayers, { layers: o.layers, ignoreEmbeddings: o.ignoreEmbeddings });
  const plan = planRun({
    runName: request.runName,
    corpusUrl,
    corpus,
    modelSpec: request.model,
    model: model.info,
    layers,
    extract: extractionOptionsOf(request),
    options: runOptionsOf(request),
  });
  ctx.log(`run ${plan.runId}: ${corpus.nSentences} sentences, ${corpus.nWords} words, ${plan.shards.length} shards x ${plan.blocks.length} blocks of neurons (${plan.nNeurons} neurons)`);

  const store = ctx.store(request.output);
  const previous = await findManifest(store, plan.runId).catch(() => null);
  const totals = stageTotals(plan);
  const keys = runKeys(plan.runId);
  const rk = renderKeys(plan.runId);
  const manifest: Manifest = {
    version: 1,
    runId: plan.runId,
    status: 'running',
    createdAt: previous?.createdAt ?? now.toISOString(),
    updatedAt: now.toISOString(),
    request,
    versions: { package: PACKAGE_VERSION, plan: PLAN_VERSION, shardFormat: SHARD_VERSION, manifest: 1 },
    plan,
    stages: STAGES.map((name) => ({ name, total: totals[name], status: name === 'analyze' || name === 'extract' ? 'running' : 'pending' })),
    outputs: { neuronStats: keys.neuronStats, topWords: keys.topWords, topSentences: rk.topSentences, histograms: rk.histograms, index: rk.of(renderPaths.html) },
  };
  await writeManifest(store, manifest);
  return { plan, manifest };
}

/** After pass 1: records its summary in the manifest. */
export async function markPass1Done(ctx: StageContext, manifest: Manifest, now = new Date()): Promise<Manifest> {
  const store = ctx.store(manifest.request.output);
  const pass1 = await readPass1(ctx, manifest);
  const m = withStages(withStages(manifest, 'done', ['extract', 'reduce-moments'], now), 'running', ['type-scores'], now);
  const next: Manifest = {
    ...m,
    summary: { nTokens: pass1.nTokens, cachedShards: pass1.cachedShards, truncatedSentences: pass1.truncatedSentences, emptyWords: pass1.emptyWords },
  };
  await writeManifest(store, next);
  return next;
}

export async function readPass1(ctx: StageContext, manifest: Manifest): Promise<ReduceMomentsResult> {
  return await readJson(ctx.store(manifest.request.output), runKeys(manifest.runId).pass1, ReduceMomentsResultV1);
}

/** Concatenates the blocks' top words (in block order) into top_words.parquet and completes the manifest. */
export async function finishAnalysis(ctx: StageContext, manifest: Manifest, now = new Date()): Promise<AnalysisResult> {
  return await completeAnalysis(ctx, manifest, await writeRunTables(ctx, manifest), now);
}

/** The run's tables made of the blocks' parts: top_words.parquet (in block order) and histograms.parquet. Returns the top-words rows. */
export async function writeRunTables(ctx: StageContext, manifest: Manifest): Promise<number> {
  const store = ctx.store(manifest.request.output);
  const keys = runKeys(manifest.plan.runId);
  const parts = manifest.plan.blocks.map((b) => keys.topWordsBlock(b.index));
  const { rows } = await concatParquetFiles(topWordsTable, store, keys.topWords, parts, { metadata: fileMetadata(manifest) });
  await writeHistogramsParquet(store, manifest);
  await writeTopSentencesParquet(store, manifest);
  return rows;
}

/** Marks the run completed in its manifest (after `writeRunTables` and the render index) and returns its result. */
export async function completeAnalysis(ctx: StageContext, manifest: Manifest, rows: number, now = new Date()): Promise<AnalysisResult> {
  const store = ctx.store(manifest.request.output);
  const { plan } = manifest;
  const keys = runKeys(plan.runId);
  const pass1 = await readPass1(ctx, manifest);
  const done: Manifest = {
    ...withStages(manifest, 'done', [...STAGES], now),
    status: 'completed',
    summary: { nTokens: pass1.nTokens, cachedShards: pass1.cachedShards, truncatedSentences: pass1.truncatedSentences, emptyWords: pass1.emptyWords, topWordRows: rows },
  };
  await writeManifest(store, done);
  return {
    version: 1,
    runId: plan.runId,
    output: manifest.request.output,
    manifest: keys.manifest,
    neuronStats: keys.neuronStats,
    topWords: keys.topWords,
    topSentences: manifest.outputs.topSentences,
    histograms: manifest.outputs.histograms,
    index: manifest.outputs.index,
    nSentences: plan.corpus.nSentences,
    nWords: plan.corpus.nWords,
    nTokens: pass1.nTokens,
    nNeurons: plan.nNeurons,
    nShards: plan.shards.length,
    cachedShards: pass1.cachedShards,
    truncatedSentences: pass1.truncatedSentences,
    topWordRows: rows,
  };
}

/** Marks the run failed in its manifest (best effort: the failure itself is what matters). */
export async function markFailed(ctx: StageContext, output: string, runId: string, error: { stage: string; job?: string; reason: string }, now = new Date()): Promise<void> {
  const store = ctx.store(output);
  const m = await findManifest(store, runId);
  // the first failure is the cause; a parent failed by it only repeats it
  if (!m || m.status === 'failed') return;
  const failed = m.stages.map((s) => (s.status === 'running' ? { ...s, status: 'failed' as const } : s));
  await writeManifest(store, { ...m, status: 'failed', updatedAt: now.toISOString(), stages: failed, error });
}

/** Key-value metadata for the Parquet footers: enough to trace a file back to its run. */
export function fileMetadata(m: Pick<Manifest, 'runId' | 'plan'>): Record<string, string> {
  return { 'neurox.run_id': m.runId, 'neurox.model_id': m.plan.model.id, 'neurox.corpus_sha256': m.plan.corpus.hash, 'neurox.layers': JSON.stringify(m.plan.layers) };
}
