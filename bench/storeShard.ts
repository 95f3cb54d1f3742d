/**
 * Storing one extracted shard (extract.ts `storeShard`: the neuron groups
 * gathered, their moments and top sentences taken, the CRCs, the writes to
 * a local folder store), against the model's time for the same shard. In
 * a run this work shares the cores with ONNX Runtime, so it is most of
 * what extraction costs more inside a run than alone. One JSON line.
 *   npx tsx bench/storeShard.ts [--model minilm-6x384] [--repeat 8]
 * (the model and corpus as bench/pipeline.ts: tools/bench/make_bench_models.py, then bench/extract.ts once)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AnalysisJobV1 } from '../schemas/analysis.ts';
import { parsePayload } from '../schemas/validate.ts';
import { planAnalysis } from '../workers/stages/analyze.ts';
import { defaultContext } from '../workers/stages/context.ts';
import { extractShard, storeShard } from '../workers/stages/extract.ts';
import { extractJobs } from '../workers/stages/index.ts';
import { closeModels } from '../workers/stages/models.ts';

const root = join(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'minilm-6x384' },
    corpus: { type: 'string', default: join(root, '.cache', 'bench-models', 'corpus.txt') },
    repeat: { type: 'string', default: '8' },
  },
});
const work = mkdtempSync(join(tmpdir(), 'neurox-bench-store-'));
try {
  const corpus = join(work, 'corpus.txt');
  writeFileSync(corpus, readFileSync(args.corpus));
  const ctx = defaultContext();
  const model = join(root, '.cache', 'bench-models', args.model);
  const request = parsePayload(AnalysisJobV1, { version: 1, corpus, model, output: join(work, 'out'), options: { dtype: 'float32', shardSentences: 256, blockNeurons: 256, render: 'none' } }, 'bench request');
  const { plan } = await planAnalysis(ctx, request);
  const job = extractJobs(plan, request.output)[0]!.data;
  await ctx.model(job.model.spec); // loaded before the clock starts
  const t0 = performance.now();
  const extracted = await extractShard(ctx, job);
  const extractSeconds = (performance.now() - t0) / 1000;
  await closeModels();
  const runs: Array<{ seconds: number; user: number; system: number }> = [];
  for (let i = 0; i < Number(args.repeat); i++) {
    // storeShard takes the activations over: each run stores a copy
    const copy = { ...extracted, sentences: extracted.sentences.map((s) => ({ ...s, data: s.data.slice() })) };
    const cpu0 = process.cpuUsage();
    const t = performance.now();
    await storeShard(ctx, job, copy);
    const cpu = process.cpuUsage(cpu0);
    runs.push({ seconds: +((performance.now() - t) / 1000).toFixed(3), user: +(cpu.user / 1e6).toFixed(3), system: +(cpu.system / 1e6).toFixed(3) });
  }
  const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;
  const cpuSeconds = median(runs.map((r) => r.user + r.system));
  console.log(JSON.stringify({
    bench: 'storeShard',
    model: args.model,
    tokens: extracted.sentences.reduce((n, s) => n + s.nTokens, 0),
    neurons: plan.nNeurons,
    extractSeconds: +extractSeconds.toFixed(2),
    storeSeconds: median(runs.map((r) => r.seconds)),
    storeCpuSeconds: +cpuSeconds.toFixed(3),
    storeCpuOverExtract: +(cpuSeconds / extractSeconds).toFixed(3),
    runs,
  }));
} finally {
  rmSync(work, { recursive: true, force: true });
}
