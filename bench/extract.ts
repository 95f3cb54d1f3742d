/**
 * Extraction throughput: words/s of the ONNX extractor over a synthetic
 * corpus (all hidden states, fp32, aggregation 'last'), the share of the time
 * spent inside onnxruntime's run, and peak RSS. One JSON line.
 *
 *   /tmp/venv-extract/bin/python tools/bench/make_bench_models.py   # models into .cache/bench-models/
 *   npx tsx bench/extract.ts --model bert-4x256 [--batch 16] [--threads 2] [--sentences 2000]
 *
 * --model is a folder or a name under .cache/bench-models/. The corpus
 * (seeded, ~19 words a sentence, about one word in ten made of two vocabulary
 * words so that it splits into pieces) is written to
 * .cache/bench-models/corpus.txt for the PyTorch baselines to read the same.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadOnnxExtractor } from '../workers/models/index.ts';

const root = join(import.meta.dirname, '..');
const modelsDir = join(root, '.cache', 'bench-models');

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'bert-4x256' },
    batch: { type: 'string', default: '16' },
    threads: { type: 'string' },
    sentences: { type: 'string', default: '2000' },
    window: { type: 'string' },
  },
});

/** mulberry32: a small seeded PRNG, so every run reads the same corpus. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function corpus(n: number, vocabFile: string): string[] {
  const vocab = Object.keys((JSON.parse(readFileSync(vocabFile, 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab);
  // whole words of bert-base-uncased's common range (ids 2000-12000), letters only
  const words = vocab.slice(2000, 12000).filter((w) => /^[a-z]+$/.test(w));
  const punctuation = [',', '.', ';', '(', ')', "'s"];
  const random = rng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = 12 + Math.floor(random() * 15); // 12..26, mean 19
    const s: string[] = [];
    for (let j = 0; j < len; j++) {
      const r = random();
      s.push(r < 0.1 ? pick(words) + pick(words) : r < 0.18 ? pick(punctuation) : pick(words));
    }
    out.push(s.join(' '));
  }
  return out;
}

const folder = existsSync(args.model as string) ? (args.model as string) : join(modelsDir, args.model as string);
if (!existsSync(join(folder, 'onnx', 'model.onnx'))) {
  throw new Error(`no model at ${folder}: run tools/bench/make_bench_models.py first`);
}
const batchSize = Number(args.batch);
const threads = args.threads === undefined ? undefined : Number(args.threads);
const sentences = corpus(Number(args.sentences), join(folder, 'tokenizer.json'));
mkdirSync(modelsDir, { recursive: true });
writeFileSync(join(modelsDir, 'corpus.txt'), `${sentences.join('\n')}\n`);

const loadStart = performance.now();
const extractor = await loadOnnxExtractor(folder, { cacheDir: join(modelsDir, 'onnx-cache'), ...(threads ? { threads } : {}), ...(args.window ? { sortWindow: Number(args.window) } : {}) });
const loadMs = performance.now() - loadStart;
const options = { aggregation: 'last' as const, includeSpecialTokens: false, ignoreEmbeddings: false, batchSize };

// warm-up (first runs allocate and pick kernels), not counted
for await (const _ of extractor.extract(sentences.slice(0, batchSize * 2), options));
Object.assign(extractor.stats, { sentences: 0, words: 0, pieces: 0, batches: 0, planMs: 0, runMs: 0, aggregateMs: 0, totalMs: 0 });

const t0 = performance.now();
let words = 0;
let checksum = 0;
for await (const s of extractor.extract(sentences, options)) {
  words += s.nTokens;
  checksum += s.data[0] ?? 0;
}
const seconds = (performance.now() - t0) / 1000;
await extractor.close();
const { stats } = extractor;
console.log(
  JSON.stringify({
    bench: 'extract',
    model: args.model,
    nLayers: extractor.info.nLayers,
    dModel: extractor.info.dModel,
    sentences: sentences.length,
    words,
    piecesPerSentence: +(stats.pieces / stats.sentences).toFixed(1),
    batchSize,
    threads: threads ?? 'default',
    seconds: +seconds.toFixed(2),
    wordsPerSec: Math.round(words / seconds),
    runShare: +(stats.runMs / (seconds * 1000)).toFixed(3),
    planShare: +(stats.planMs / (seconds * 1000)).toFixed(3),
    aggregateShare: +(stats.aggregateMs / (seconds * 1000)).toFixed(3),
    loadSeconds: +(loadMs / 1000).toFixed(2),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    checksum: +checksum.toFixed(3),
  }),
);
