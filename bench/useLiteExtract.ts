/**
 * USE lite extraction (the offline default model): load time, and words/s
 * for every layer at several batch sizes, tokenizer alone included.
 *
 * Synthetic, seeded corpus: sentences of 5..40 words drawn uniformly from the
 * whole-word pieces of the model's own vocabulary (so most words are one
 * piece; real text with rarer words has more pieces per word).
 *
 *   npx tsx bench/useLiteExtract.ts [--sentences 300] [--batches 1,8,32] [--seed 1]
 *
 * Prints one JSON line.
 */
import { loadUseLiteExtractor } from '../workers/models/useLite/extractor.ts';
import { loadVocabulary, packageInfo } from '../workers/models/useLite/graph.ts';
import { WORD_START } from '../workers/models/useLite/tokenizer.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const nSentences = Number(arg('sentences', '300'));
const batchSizes = arg('batches', '1,8,32').split(',').map(Number);
const seed = Number(arg('seed', '1'));

// mulberry32: small, fast, seedable.
function rng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const t0 = performance.now();
const ex = await loadUseLiteExtractor();
const loadMs = performance.now() - t0;

const vocab = await loadVocabulary((await packageInfo()).dir);
const wordsPool = vocab.map(([p]) => p).filter((p) => p.startsWith(WORD_START) && /^[a-z]{2,}$/i.test(p.slice(1))).map((p) => p.slice(1));
const random = rng(seed);
const corpus = Array.from({ length: nSentences }, () =>
  Array.from({ length: 5 + Math.floor(random() * 36) }, () => wordsPool[Math.floor(random() * wordsPool.length)]!).join(' '),
);
const nWords = corpus.reduce((n, s) => n + s.split(' ').length, 0);
const nPieces = corpus.reduce((n, s) => n + ex.tokenizer.encode(s).length, 0);

let t = performance.now();
for (const s of corpus) ex.tokenizer.encodeWords(s.split(' '));
const tokenizerWordsPerSecond = nWords / ((performance.now() - t) / 1000);

// one warm-up run so the first batch size does not pay WASM kernel set-up
for await (const _ of ex.extract(corpus.slice(0, 8), { aggregation: 'last', includeSpecialTokens: false, ignoreEmbeddings: false, batchSize: 8 })) void _;

const wordsPerSecond: Record<string, number> = {};
for (const batchSize of batchSizes) {
  t = performance.now();
  for await (const _ of ex.extract(corpus, { aggregation: 'last', includeSpecialTokens: false, ignoreEmbeddings: false, batchSize })) void _;
  wordsPerSecond[String(batchSize)] = Math.round(nWords / ((performance.now() - t) / 1000));
}
await ex.close();

console.log(
  JSON.stringify({
    bench: 'useLiteExtract',
    model: ex.info.id,
    layers: ex.info.nLayers,
    dModel: ex.info.dModel,
    sentences: nSentences,
    words: nWords,
    pieces: nPieces,
    loadMs: Math.round(loadMs),
    tokenizerWordsPerSecond: Math.round(tokenizerWordsPerSecond),
    wordsPerSecond,
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    loadavg: (await import('node:os')).loadavg().map((x) => Number(x.toFixed(2))),
  }),
);
