/**
 * The render stage end to end: a real run (test-hash model, local folder,
 * embedded runner) checked against one pass over the activations it stored;
 * the BullMQ runner (real Redis, S3 on moto, sandboxed workers) writing the
 * same bytes; ad-hoc renders through the public render-text queue; the HTML
 * index served from the bucket.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Histograms } from '../pipelines/histogram.ts';
import { runKeys } from '../pipelines/keys.ts';
import type { ObjectStore } from '../pipelines/ports.ts';
import { renderKeys, renderPaths } from '../pipelines/renderKeys.ts';
import { selectNeurons } from '../pipelines/renderSelection.ts';
import { neuronsOf, parseRunSummary, type LayerIndex } from '../pipelines/runIndex.ts';
import { TopSentences } from '../pipelines/topSentences.ts';
import { HEAD_TOP_WORDS } from '../pipelines/topWordsHead.ts';
import type { AnalysisResult } from '../schemas/analysis.ts';
import { histogramsTable, topSentencesTable, topWordsTable } from '../schemas/parquet.ts';
import type { RenderTextResult } from '../schemas/render.ts';
import { readTable } from '../workers/parquet.ts';
import { runEmbedded } from '../workers/runner/embedded.ts';
import { defaultContext } from '../workers/stages/context.ts';
import { runStage } from '../workers/stages/index.ts';
import { readManifest } from '../workers/stages/manifest.ts';
import { renderIndexJob, renderJobs } from '../workers/stages/render.ts';
import { openStore, s3ConfigFromEnv } from '../workers/store/index.ts';
import { Browser, hasChromium } from './helpers/chromium.ts';
import { freshBucket, s3TestEnv } from './helpers/s3.ts';
import { activationsOf, corpusText, queueConfig, readOutputs, runWith, TEST_LOCKS, withWorkers } from './pipelineHelpers.ts';

const saved = { ...process.env };
let dir = '';
let corpusPath = '';
let bucket = '';
let local: AnalysisResult;
let store: ObjectStore;
const K = 3;
const BINS = 5;
const TOP = 6;

function request(output: string): Record<string, unknown> {
  // 40 sentences in shards of 8: 5 shards; 30 neurons in blocks of 8: 4 blocks
  return {
    version: 1, corpus: corpusPath, model: 'test-hash:3x10', output,
    options: { shardSentences: 8, blockNeurons: 8, topK: 6, topSentences: K, histogramBins: BINS, render: { topVariance: TOP } },
  };
}

async function listed(s: ObjectStore, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const o of s.list(prefix)) out.set(o.key.slice(prefix.length), Buffer.from(await s.get(o.key)).toString('utf8'));
  return out;
}

beforeAll(async () => {
  Object.assign(process.env, s3TestEnv()); // the sandboxed children inherit it
  dir = mkdtempSync(join(tmpdir(), 'neurox-render-stage-'));
  corpusPath = join(dir, 'corpus.txt');
  writeFileSync(corpusPath, corpusText(40));
  bucket = await freshBucket('render-stage');
  local = await runEmbedded(request(join(dir, 'out')) as never);
  store = openStore(local.output);
}, 120_000);

afterAll(() => {
  process.env = saved;
});

describe('render stage (embedded runner)', () => {
  it('writes top_sentences.parquet equal to one pass over every sentence of the corpus', async () => {
    const manifest = await readManifest(store, local.runId);
    const { activations } = await activationsOf(store, manifest);
    const ref = new TopSentences(manifest.plan.nNeurons, K);
    activations.forEach((m, s) => ref.add(s, m));
    const want = ref.toColumns(manifest.plan.model.dModel, manifest.plan.layers);
    const got = await readTable(topSentencesTable, await store.get(local.topSentences));
    expect(got.globalNeuron.length).toBe(manifest.plan.nNeurons * K);
    expect(Array.from(got.globalNeuron)).toEqual(Array.from(want.globalNeuron));
    expect(Array.from(got.layer)).toEqual(Array.from(want.layer));
    expect(Array.from(got.rank)).toEqual(Array.from(want.rank));
    expect(Array.from(got.sentenceIndex)).toEqual(Array.from(want.sentenceIndex));
    expect(Array.from(got.maxActivation)).toEqual(Array.from(want.maxActivation));
    expect(Array.from(got.tokenIndex)).toEqual(Array.from(want.tokenIndex));
  });

  it('writes histograms.parquet equal to counting every activation into bins between the neuron\'s min and max', async () => {
    const out = await readOutputs(store, local.runId);
    const { activations } = await activationsOf(store, out.manifest);
    const ref = new Histograms({ firstNeuron: 0, min: out.stats.min, max: out.stats.max, bins: BINS });
    for (const m of activations) ref.add(m);
    const want = ref.toColumns(out.manifest.plan.model.dModel, out.manifest.plan.layers);
    const got = await readTable(histogramsTable, await store.get(local.histograms));
    expect(Array.from(got.globalNeuron)).toEqual(Array.from(want.globalNeuron));
    expect(Array.from(got.binLo)).toEqual(Array.from(want.binLo));
    expect(Array.from(got.binHi)).toEqual(Array.from(want.binHi));
    expect(Array.from(got.count)).toEqual(Array.from(want.count));
    // every token of every neuron is in exactly one bin
    const perNeuron = new Map<number, number>();
    got.globalNeuron.forEach((g, r) => perNeuron.set(g, (perNeuron.get(g) ?? 0) + got.count[r]!));
    expect(new Set(perNeuron.values())).toEqual(new Set([out.manifest.summary!.nTokens]));
  });

  it('renders the top sentences and plots of the N highest-variance neurons at the documented keys, one colour scale per neuron', async () => {
    const out = await readOutputs(store, local.runId);
    const { plan } = out.manifest;
    const selected = Array.from(selectNeurons({ topVariance: TOP }, out.stats.variance, plan.layers, plan.model.dModel));
    expect(selected).toHaveLength(TOP);
    const files = await listed(store, renderKeys(local.runId).of('renders/'));
    const want = new Set<string>(plan.layers.map((l) => renderPaths.variance(l).slice('renders/'.length)));
    const sentences = await readTable(topSentencesTable, await store.get(local.topSentences));
    for (const g of selected) {
      const layer = plan.layers[Math.floor(g / plan.model.dModel)]!;
      const neuron = g % plan.model.dModel;
      for (let r = 0; r < K; r++) want.add(renderPaths.sentence(layer, neuron, r).slice('renders/'.length));
      want.add(renderPaths.histogram(layer, neuron).slice('renders/'.length));
      want.add(renderPaths.topWords(layer, neuron).slice('renders/'.length));
      // each sentence SVG is the ranked sentence, drawn on the neuron's scale (its largest |activation|)
      const scale = Math.max(Math.abs(out.stats.min[g]!), Math.abs(out.stats.max[g]!));
      for (let r = 0; r < K; r++) {
        const row = sentences.globalNeuron.findIndex((x, i) => x === g && sentences.rank[i] === r);
        const svg = files.get(`${layer}/${neuron}/${r}.svg`)!;
        expect(svg).toContain(`layer ${layer} · neuron ${neuron} · sentence ${sentences.sentenceIndex[row]}`);
        expect(svg).toContain(`>${Number(scale.toPrecision(4))}<`);
      }
    }
    expect(new Set(files.keys())).toEqual(want);
  });

  it('rewrites the same bytes at the same keys when its jobs run again', async () => {
    const before = await listed(store, renderKeys(local.runId).prefix);
    const ctx = defaultContext();
    const manifest = await readManifest(store, local.runId);
    for (const job of await renderJobs(ctx, manifest)) await runStage(ctx, 'render', job.data);
    await runStage(ctx, 'render-index', renderIndexJob(manifest.plan, local.output).data);
    const after = await listed(store, renderKeys(local.runId).prefix);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [k, v] of before) expect(after.get(k), k).toBe(v);
  });

  it('lists every neuron in the index with stats, top words and top sentences with their text; SVG paths only where rendered', async () => {
    const rk = renderKeys(local.runId);
    const summary = parseRunSummary(JSON.parse(Buffer.from(await store.get(rk.of(renderPaths.summary))).toString()));
    expect(summary.layers.map((l) => [l.layer, l.neurons])).toEqual([[0, 10], [1, 10], [2, 10]]);
    expect(summary.layers.reduce((n, l) => n + l.rendered, 0)).toBe(TOP);
    const layer1 = JSON.parse(Buffer.from(await store.get(rk.of(renderPaths.layerJson(1)))).toString()) as LayerIndex;
    const lines = corpusText(40).split('\n');
    for (const n of neuronsOf(layer1)) {
      expect(n.topSentences).toHaveLength(K);
      for (const s of n.topSentences) expect(s.text).toBe(lines[s.sentenceIndex]);
      const rendered = n.topSentences[0]!.svg !== null;
      expect(n.plots.histogram !== null).toBe(rendered);
      if (rendered) expect(n.topSentences.map((s) => s.svg)).toEqual([0, 1, 2].map((r) => renderPaths.sentence(1, n.neuron, r)));
    }
    expect(await store.head(rk.of(renderPaths.html))).not.toBeNull();
  });
});

describe('top words in the index', () => {
  it("lists each neuron's top words as top_words.parquet ranks them (from the head pass 2 writes for the renders and the index)", async () => {
    const rk = renderKeys(local.runId);
    const words = await readTable(topWordsTable, await store.get(local.topWords));
    const byNeuron = new Map<number, Array<[string, number, number, number]>>();
    for (let r = 0; r < words.globalNeuron.length; r++) {
      const g = words.globalNeuron[r]!;
      if (!byNeuron.has(g)) byNeuron.set(g, []);
      byNeuron.get(g)![words.rank[r]!] = [words.token[r]!, words.score[r]!, Number(words.count[r]!), words.mean[r]!];
    }
    let listed = 0;
    for (const layer of [0, 1, 2]) {
      const l = JSON.parse(Buffer.from(await store.get(rk.of(renderPaths.layerJson(layer)))).toString()) as LayerIndex;
      for (const n of neuronsOf(l)) {
        const want = (byNeuron.get(n.globalNeuron) ?? []).slice(0, HEAD_TOP_WORDS);
        expect(n.topWords.map((w) => [w.token, w.score, w.count, w.mean]), `neuron ${n.globalNeuron}`).toEqual(want);
        listed += want.length;
      }
    }
    expect(listed).toBe(words.globalNeuron.length); // topK 6: every row is in the head
  });
});

describe('render stage (BullMQ runner) and ad-hoc renders', () => {
  let s3: AnalysisResult;

  it('writes byte-identical top sentences, histograms, renders and layer index as the embedded runner', async () => {
    s3 = await runWith('bullmq', request(`s3://${bucket}/prefix`) as never, 'render-run');
    expect(s3.runId).toBe(local.runId);
    const remote = openStore(s3.output);
    for (const key of [s3.topSentences, s3.histograms]) expect(Buffer.from(await remote.get(key)).equals(Buffer.from(await store.get(key)))).toBe(true);
    const rk = renderKeys(s3.runId);
    for (const sub of ['renders/', 'index/']) {
      const a = await listed(store, rk.of(sub));
      const b = await listed(remote, rk.of(sub));
      expect([...b.keys()]).toEqual([...a.keys()]);
      for (const [k, v] of a) expect(b.get(k), k).toBe(v);
    }
  }, 300_000);

  it('renders given text with the run\'s model through the render-text queue, and says where the SVGs are', async () => {
    if (!s3) throw new Error('the BullMQ run did not complete');
    const config = queueConfig();
    await withWorkers({ config, concurrency: 1, roles: ['render-text'], ...TEST_LOCKS }, async () => {
      const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
      const events = new QueueEvents('render-text', { connection: new Redis(config.redisUrl, { maxRetriesPerRequest: null }), prefix: config.prefix });
      const queue = new Queue('render-text', { connection, prefix: config.prefix });
      try {
        await events.waitUntilReady();
        const data = { version: 1, runId: s3.runId, output: s3.output, sentences: ['the cat sat on the mat', 'a red dog'], neurons: ['1:2', '0:7'] };
        const first = (await (await queue.add('render-text', data, { jobId: 'adhoc-1' })).waitUntilFinished(events, 120_000)) as RenderTextResult;
        expect(first.files.map((f) => [f.sentence, f.layer, f.neuron])).toEqual([[0, 1, 2], [0, 0, 7], [1, 1, 2], [1, 0, 7]]);
        const remote = openStore(s3.output);
        for (const f of first.files) {
          expect(f.key.startsWith(first.prefix)).toBe(true);
          expect(Buffer.from(await remote.get(f.key)).toString()).toContain(`layer ${f.layer} · neuron ${f.neuron}`);
        }
        expect(await remote.head(`${first.prefix}request.json`)).not.toBeNull();
        // the same request again: the same keys and bytes
        const again = (await (await queue.add('render-text', data, { jobId: 'adhoc-2' })).waitUntilFinished(events, 120_000)) as RenderTextResult;
        expect(again).toEqual(first);
        // bad input fails at once, naming what is wrong
        const bad = await queue.add('render-text', { ...data, neurons: ['7:0'] }, { jobId: 'adhoc-bad', attempts: 3 });
        await expect(bad.waitUntilFinished(events, 60_000)).rejects.toThrow(`run '${s3.runId}': layer 7 is not in this run (layers 0-2)`);
        expect((await queue.getJob('adhoc-bad'))!.attemptsMade).toBe(1); // not retried
        const missing = await queue.add('render-text', { ...data, runId: 'no-such-run' }, { jobId: 'adhoc-missing' });
        await expect(missing.waitUntilFinished(events, 60_000)).rejects.toThrow("run 'no-such-run' has no manifest");
      } finally {
        await queue.close();
        await events.close();
        await connection.quit();
      }
    });
  }, 300_000);

  it.skipIf(!hasChromium)('serves the HTML index from the bucket over HTTP, SVGs included', async () => {
    if (!s3) throw new Error('the BullMQ run did not complete');
    const rk = renderKeys(s3.runId);
    const url = `${inject('s3Endpoint')}/${bucket}/prefix/${rk.of(renderPaths.html)}`;
    const neuron = await firstRendered(openStore(s3.output), s3.runId);
    // a bucket serving a run to browsers: anonymous reads of the run's prefix allowed by a bucket policy
    const client = new S3Client(s3ConfigFromEnv(s3TestEnv()));
    try {
      const Policy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/prefix/${rk.prefix}*` }],
      });
      await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy }));
    } finally {
      client.destroy();
    }
    const browser = await Browser.launch();
    try {
      const page = await browser.newPage();
      await page.goto(`${url}#neuron=${neuron}`);
      await page.waitFor("document.body.dataset.state === 'ready' && [...document.images].length > 0 && [...document.images].every((i) => i.complete)");
      const imgs = await page.evaluate<Array<[string, number]>>("[...document.images].map((i) => [i.getAttribute('src'), i.naturalWidth])");
      expect(imgs.length).toBe(K + 2);
      for (const [src, width] of imgs) expect(width, src).toBeGreaterThan(0);
      expect(await page.evaluate<number>("document.querySelectorAll('[data-missing]').length")).toBe(0);
    } finally {
      await browser.close();
    }
  }, 120_000);
});

/** `layer:neuron` of the first neuron the index lists as rendered. */
async function firstRendered(s: ObjectStore, runId: string): Promise<string> {
  const rk = renderKeys(runId);
  const summary = parseRunSummary(JSON.parse(Buffer.from(await s.get(rk.of(renderPaths.summary))).toString()));
  for (const l of summary.layers) {
    const layer = JSON.parse(Buffer.from(await s.get(rk.of(l.json))).toString()) as LayerIndex;
    const n = neuronsOf(layer).find((x) => x.topSentences[0]?.svg);
    if (n) return `${n.layer}:${n.neuron}`;
  }
  throw new Error(`run ${runId} has no rendered neuron (${runKeys(runId).prefix})`);
}
