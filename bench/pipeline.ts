/**
 * The whole pipeline, end to end: words/s, the cost of everything after
 * extraction relative to extraction itself, and peak RSS per stage. One JSON
 * line.
 *
 *   /tmp/venv-extract/bin/python tools/bench/make_bench_models.py   # MiniLM-shaped model + corpus
 *   npx tsx bench/extract.ts --model minilm-6x384                    # writes .cache/bench-models/corpus.txt
 *   npx tsx bench/pipeline.ts [--model minilm-6x384] [--repeat 1] [--mode embedded|distributed] [--workers 2]
 *
 * embedded: one process, local folder store. `extractSeconds` is extraction
 * alone: loading the model and running it over the corpus shard by shard,
 * storing nothing, in a fresh process; the median of `--alone-runs` (default
 * 2: one before the run, one after; `extractAloneRuns` lists them). `afterExtractionSeconds` is the
 * run's wall time minus that: what planning, shard encoding, moments, type
 * scores, reducers, Parquet and storage add (the design target is at most
 * 15% of `extractSeconds`), whether that work runs between model batches or
 * beside them. `extractedInRunSeconds` is the run's start to its last
 * shard stored (model, extraction, and what storing adds to it) and
 * `tailSeconds` the rest of the run (reduce-moments, pass 2, render, index,
 * tables): the two parts of the cost that move separately.
 * distributed: a private redis-server and moto_server (S3) on free ports,
 * `--workers` worker processes (`neurox worker --concurrency 1`), a run
 * submitted like `neurox submit` (`--store file`: a shared local folder
 * instead of S3); reports the wall time and each worker process's peak RSS
 * (its own and its sandboxed children's).
 *
 * --repeat N makes the corpus N times longer, each copy's sentences prefixed
 * with a distinct word (so no shard repeats and the cache cannot help):
 * with N = 6 and MiniLM, the activations total several times the peak RSS.
 * Renders are switched off (render: none): they are measured by bench/render.ts.
 * --timeline marks each stage on stderr for a CPU profile:
 *   node --cpu-prof --import tsx bench/pipeline.ts --timeline 2> marks.txt
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Stage } from '../pipelines/plan.ts';
import type { AnalysisJobInput } from '../schemas/analysis.ts';
import { runEmbedded } from '../workers/runner/embedded.ts';
import { closeModels, loadModel } from '../workers/stages/models.ts';
import { selectLayers } from '../pipelines/extractOptions.ts';
import { AnalysisJobV1 } from '../schemas/analysis.ts';
import { parsePayload } from '../schemas/validate.ts';
import { extractionOptionsOf } from '../workers/stages/analyze.ts';
import { median } from './stats.ts';

const root = join(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'minilm-6x384' },
    corpus: { type: 'string', default: join(root, '.cache', 'bench-models', 'corpus.txt') },
    repeat: { type: 'string', default: '1' },
    mode: { type: 'string', default: 'embedded' },
    workers: { type: 'string', default: '2' },
    dtype: { type: 'string', default: 'float32' },
    'shard-sentences': { type: 'string', default: '256' },
    'block-neurons': { type: 'string', default: '256' },
    keep: { type: 'boolean', default: false },
    timeline: { type: 'boolean', default: false },
    'extraction-alone': { type: 'boolean', default: false },
    'alone-runs': { type: 'string', default: '2' },
    store: { type: 'string', default: 's3' },
    jobs: { type: 'string' },
  },
});

const modelDir = existsSync(args.model) ? args.model : join(root, '.cache', 'bench-models', args.model);
if (!existsSync(modelDir)) throw new Error(`model ${args.model} not found: run tools/bench/make_bench_models.py (see the header)`);
if (!existsSync(args.corpus)) throw new Error(`corpus ${args.corpus} not found: run bench/extract.ts once (it writes it)`);

const work = mkdtempSync(join(tmpdir(), 'neurox-bench-pipeline-'));
const repeat = Number(args.repeat);
const base = readFileSync(args.corpus, 'utf8').split('\n').filter((l) => l.trim() !== '');
const lines: string[] = [];
for (let r = 0; r < repeat; r++) for (const l of base) lines.push(repeat > 1 ? `copy${r} ${l}` : l);
const corpusPath = join(work, 'corpus.txt');
writeFileSync(corpusPath, `${lines.join('\n')}\n`);
const nWords = lines.reduce((n, l) => n + l.split(' ').length, 0);

const request = (output: string): AnalysisJobInput => ({
  version: 1,
  corpus: corpusPath,
  model: modelDir,
  output,
  options: {
    dtype: args.dtype as 'float32' | 'float16',
    shardSentences: Number(args['shard-sentences']),
    blockNeurons: Number(args['block-neurons']),
    render: 'none',
  } as AnalysisJobInput['options'],
});

function mb(bytes: number): number {
  return Math.round(bytes / 1048576);
}

function dirBytes(d: string): number {
  let n = 0;
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    n += e.isDirectory() ? dirBytes(p) : readFileSync(p).length;
  }
  return n;
}

/**
 * --timeline: `STAGE <name> start|end <microseconds>` lines on stderr, on the
 * clock of `node --cpu-prof` profiles (process.hrtime), to attribute a
 * profile's samples to stages.
 */
function mark(name: string, phase: 'start' | 'end'): void {
  if (args.timeline) process.stderr.write(`STAGE ${name} ${phase} ${process.hrtime.bigint() / 1000n}\n`);
}

interface Alone {
  seconds: number;
  loadSeconds: number;
  words: number;
  minorPageFaults: number;
  cpu: Cpu;
}

/** CPU seconds of the process (all its threads: ONNX Runtime's too), user and kernel. */
interface Cpu {
  user: number;
  system: number;
}

/** CPU seconds of the process so far, user and kernel. */
function cpuTotal(): number {
  const r = process.resourceUsage();
  return (r.userCPUTime + r.systemCPUTime) / 1e6;
}

function cpuSince(r0: NodeJS.ResourceUsage): Cpu {
  const r1 = process.resourceUsage();
  return { user: +((r1.userCPUTime - r0.userCPUTime) / 1e6).toFixed(2), system: +((r1.systemCPUTime - r0.systemCPUTime) / 1e6).toFixed(2) };
}

/**
 * Extraction alone: load the model and run it over the corpus shard by shard
 * (the pipeline's batches: the extractor sorts by length within a shard),
 * with the run's options, storing nothing. The pipeline's extra wall time
 * over this is the cost of everything after extraction.
 */
async function extractionAlone(request: AnalysisJobInput): Promise<Alone> {
  const job = parsePayload(AnalysisJobV1, request, 'bench request');
  const usage0 = process.resourceUsage();
  const faults0 = usage0.minorPageFault;
  const t0 = performance.now();
  const model = await loadModel(job.model);
  const loadSeconds = (performance.now() - t0) / 1000;
  // the run's options and layer rule, as planAnalysis and extractJobs apply them
  const { dtype: _stored, ...options } = extractionOptionsOf(job);
  const extractOptions = { ...options, layers: selectLayers(model.info.nLayers, options) };
  const shardSentences = job.options.shardSentences;
  let words = 0;
  for (let at = 0; at < lines.length; at += shardSentences) {
    for await (const s of model.extract(lines.slice(at, at + shardSentences), extractOptions)) words += s.nTokens;
  }
  const seconds = (performance.now() - t0) / 1000;
  const minorPageFaults = process.resourceUsage().minorPageFault - faults0;
  const cpu = cpuSince(usage0);
  await closeModels();
  return { seconds, loadSeconds, words, minorPageFaults, cpu };
}

function extractionAloneInChild(): Alone {
  const argv = [...process.execArgv, ...process.argv.slice(1).filter((a) => a !== '--timeline'), '--extraction-alone'];
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`extraction alone failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Alone;
}

async function embedded(): Promise<Record<string, unknown>> {
  const peak: Partial<Record<Stage, number>> = {};
  const seconds: Partial<Record<Stage, number>> = {};
  let stage: Stage | null = null;
  let started = 0;
  let running = 0;
  // minor page faults: first touches of memory, 10-15 us each on the firecracker VMs here
  const faults: Partial<Record<Stage, number>> = {};
  let faultsAtStart = 0;
  // CPU seconds of the process per stage (all threads): against twice the stage's seconds, how busy two cores were
  const stageCpu: Partial<Record<Stage, number>> = {};
  let cpuAtStart = 0;
  const usage0 = process.resourceUsage();
  const faults0 = usage0.minorPageFault;
  const sample = (): void => {
    if (stage) peak[stage] = Math.max(peak[stage] ?? 0, process.memoryUsage.rss());
  };
  const aloneRuns = Number(args['alone-runs']);
  if (!Number.isInteger(aloneRuns) || aloneRuns < 1) throw new Error(`--alone-runs ${args['alone-runs']}: a positive integer`);
  // the first half of the extraction-alone runs before the run, the rest after:
  // the host's speed drifts by 10-15% within minutes on these VMs
  const alones: Alone[] = [];
  for (let i = 0; i < aloneRuns >> 1; i++) alones.push(extractionAloneInChild());
  const timer = setInterval(sample, 10);
  const out = join(work, 'out');
  let modelReady: { seconds: number; cpu: Cpu } | undefined;
  const t0 = performance.now();
  let extractedAt = t0;
  let extractedCpu: number | undefined;
  mark('run', 'start');
  const result = await runEmbedded(request(out), {
    ...(args.jobs !== undefined ? { jobs: Number(args.jobs) } : {}),
    context: {
      model: async (spec) => {
        mark('model-load', 'start');
        const m = await loadModel(spec);
        mark('model-load', 'end');
        modelReady ??= { seconds: (performance.now() - t0) / 1000, cpu: cpuSince(usage0) };
        return m;
      },
    },
    onJob: (s, phase) => {
      mark(s, phase);
      sample();
      if (s === 'extract' && phase === 'end') {
        extractedAt = performance.now();
        extractedCpu = cpuTotal();
      }
      // a stage's time is its wall time: from its first job's start while
      // none ran to its last job's end (pass-2 jobs run several at once)
      if (phase === 'start') {
        if (running++ === 0) {
          started = performance.now();
          faultsAtStart = process.resourceUsage().minorPageFault;
          cpuAtStart = cpuTotal();
          stage = s;
        }
      } else if (--running === 0) {
        seconds[s] = (seconds[s] ?? 0) + (performance.now() - started) / 1000;
        faults[s] = (faults[s] ?? 0) + process.resourceUsage().minorPageFault - faultsAtStart;
        stageCpu[s] = (stageCpu[s] ?? 0) + cpuTotal() - cpuAtStart;
        stage = null;
      }
    },
  });
  const total = (performance.now() - t0) / 1000;
  mark('run', 'end');
  const runFaults = process.resourceUsage().minorPageFault - faults0;
  const runCpu = cpuSince(usage0);
  const cpuAtEnd = cpuTotal();
  clearInterval(timer);
  const maxRss = process.resourceUsage().maxRSS * 1024;
  // each in a fresh process (so it pays for importing the runtime, as the
  // run does); the model's files are in the page cache for all (bench/extract.ts read them)
  while (alones.length < aloneRuns) alones.push(extractionAloneInChild());
  for (const a of alones) if (a.words !== result.nTokens) throw new Error(`extraction alone gave ${a.words} tokens, the run ${result.nTokens}`);
  const alone = alones.slice().sort((a, b) => a.seconds - b.seconds)[alones.length >> 1]!;
  const aloneSeconds = median(alones.map((a) => a.seconds));
  const cacheBytes = dirBytes(join(out, 'cache'));
  return {
    mode: 'embedded',
    sentences: result.nSentences,
    words: result.nWords,
    tokens: result.nTokens,
    neurons: result.nNeurons,
    shards: result.nShards,
    seconds: +total.toFixed(2),
    wordsPerSec: Math.round(result.nWords / total),
    extractSeconds: +aloneSeconds.toFixed(2),
    extractAloneRuns: alones.map((a) => +a.seconds.toFixed(2)),
    modelLoadSeconds: +alone.loadSeconds.toFixed(2),
    // in the run: from its start to the model's readiness, and the process's CPU by then (the stage threads start meanwhile)
    modelReadyInRun: modelReady && { seconds: +modelReady.seconds.toFixed(2), cpu: modelReady.cpu },
    afterExtractionSeconds: +(total - aloneSeconds).toFixed(2),
    afterExtractionShare: +((total - aloneSeconds) / aloneSeconds).toFixed(3),
    // the run's start to its last shard stored, against extraction alone, and what follows it
    extractedInRunSeconds: +((extractedAt - t0) / 1000).toFixed(2),
    tailSeconds: +(total - (extractedAt - t0) / 1000).toFixed(2),
    // the process's CPU in the tail (all its threads: two cores give at most twice tailSeconds)
    tailCpuSeconds: extractedCpu && +(cpuAtEnd - extractedCpu).toFixed(2),
    stageSeconds: Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, +v.toFixed(2)])),
    stageCpuSeconds: Object.fromEntries(Object.entries(stageCpu).map(([k, v]) => [k, +v.toFixed(2)])),
    minorPageFaults: { extractionAlone: alone.minorPageFaults, run: runFaults, ...faults },
    // kernel time includes first touches of memory and of the page cache the writes fill
    cpuSeconds: { extractionAlone: alone.cpu, run: runCpu },
    activationCacheMB: mb(cacheBytes),
    peakRssMB: mb(maxRss),
    activationsOverPeakRss: +(cacheBytes / maxRss).toFixed(2),
    sampledPeakRssByStageMB: Object.fromEntries(Object.entries(peak).map(([k, v]) => [k, mb(v)])),
  };
}

// ------------------------------------------------------------------ distributed

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ok = await new Promise<boolean>((r) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); r(true); });
      c.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} did not open`);
}

/** Peak RSS (VmHWM) of a process and of each of its children, in MB. */
function hwm(pid: number): { self: number; children: number[] } {
  const read = (p: number): number => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return { self: mb(read(pid)), children: kids.map((k) => mb(read(k))) };
}

async function distributed(): Promise<Record<string, unknown>> {
  const procs: ChildProcess[] = [];
  try {
    const redisPort = await freePort();
    procs.push(spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }));
    const s3Port = await freePort();
    procs.push(spawn('moto_server', ['-H', '127.0.0.1', '-p', String(s3Port)], { stdio: 'ignore' }));
    await waitPort(redisPort);
    await waitPort(s3Port);
    const env = {
      ...process.env,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      NEUROX_QUEUE_PREFIX: '{bench}',
      S3_ENDPOINT: `http://127.0.0.1:${s3Port}`,
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_REGION: 'us-east-1',
      NEUROX_MODEL_THREADS: '1',
    };
    Object.assign(process.env, env);
    const { CreateBucketCommand, S3Client } = await import('@aws-sdk/client-s3');
    const { s3ConfigFromEnv } = await import('../workers/store/index.ts');
    const client = new S3Client(s3ConfigFromEnv(env));
    await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
    client.destroy();
    const workers: ChildProcess[] = [];
    for (let i = 0; i < Number(args.workers); i++) {
      const w = spawn(process.execPath, ['bin/neurox.js', 'worker', '--concurrency', '1'], { cwd: root, env, stdio: 'ignore' });
      workers.push(w);
      procs.push(w);
    }
    const { submitAnalysis } = await import('../workers/runner/submit.ts');
    const { waitForRun } = await import('../workers/runner/status.ts');
    const config = { redisUrl: env.REDIS_URL, prefix: env.NEUROX_QUEUE_PREFIX };
    await new Promise((r) => setTimeout(r, 2000)); // let the workers connect
    const t0 = performance.now();
    const output = args.store === 'file' ? join(work, 'distributed') : 's3://bench/analyses';
    const s = await submitAnalysis(config, request(output));
    const result = await waitForRun(config, s.runId, 3_600_000);
    const total = (performance.now() - t0) / 1000;
    const memory = workers.map((w) => hwm(w.pid!));
    return {
      mode: 'distributed',
      store: args.store === 'file' ? 'local folder' : 'moto_server (S3)',
      workers: workers.length,
      sentences: result.nSentences,
      words: result.nWords,
      neurons: result.nNeurons,
      shards: result.nShards,
      seconds: +total.toFixed(2),
      wordsPerSec: Math.round(result.nWords / total),
      workerPeakRssMB: memory,
    };
  } finally {
    for (const p of procs.reverse()) p.kill('SIGTERM');
  }
}

if (args['extraction-alone']) {
  process.stdout.write(`${JSON.stringify(await extractionAlone(request(join(work, 'out'))))}\n`);
  rmSync(work, { recursive: true, force: true });
  process.exit(0);
}

const load = loadavg()[0]!.toFixed(2);
const figures = args.mode === 'distributed' ? await distributed() : await embedded();
process.stdout.write(`${JSON.stringify({ bench: 'pipeline', model: args.model, repeat, corpusWords: nWords, dtype: args.dtype, ...figures, loadBefore: +load, loadAfter: +loadavg()[0]!.toFixed(2) })}\n`);
if (args.keep) process.stderr.write(`kept ${work}\n`);
else rmSync(work, { recursive: true, force: true });
process.exit(0);
