/**
 * Top words for every neuron, the way a pipeline computes them: the corpus
 * streams through shard by shard twice (pass 1 moments, pass 2 type scores
 * per neuron block), per-shard partials are reduced, then ranked.
 *
 * Synthetic, seeded: nTokens tokens of Zipf(1)-distributed types drawn from
 * `types` ranks; activation = neuron bias + type effect x neuron gain +
 * uniform noise, float32. Shards are regenerated for pass 2 (as a pipeline
 * rereads its activation cache); generation is not timed.
 *
 *   npx tsx bench/topWords.ts [--tokens 1000000] [--neurons 768] [--types 20000]
 *     [--shard 65536] [--block 768] [--numTokens 10] [--seed 1]
 *
 * Prints one JSON line.
 */
import { matrix, type Matrix } from '../pipelines/matrix.ts';
import { accumulateMoments, emptyMoments } from '../pipelines/moments.ts';
import { rankTopWords } from '../pipelines/topWords.ts';
import { TypeScoresBuilder } from '../pipelines/typeScores.ts';
import { TypeScoresReducer } from '../pipelines/typeScoresReduce.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v)) throw new Error(`--${name}: not a number`);
  return v;
}

const nTokens = arg('tokens', 1_000_000);
const nNeurons = arg('neurons', 768);
const nTypes = arg('types', 20_000);
const shardTokens = arg('shard', 65_536);
const blockSize = arg('block', nNeurons);
const numTokens = arg('numTokens', 10);
const seed = arg('seed', 1);

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

const setup = rng(seed);
const words = Array.from({ length: nTypes }, (_, r) => `w${r}`);
const cdf = new Float64Array(nTypes);
for (let r = 0, acc = 0; r < nTypes; r++) cdf[r] = acc += 1 / (r + 1);
for (let r = 0; r < nTypes; r++) cdf[r] = cdf[r]! / cdf[nTypes - 1]!;
const effect = Float64Array.from({ length: nTypes }, () => (setup() < 0.05 ? (setup() - 0.5) * 8 : 0));
const bias = Float64Array.from({ length: nNeurons }, () => (setup() - 0.5) * 2);
const gain = Float64Array.from({ length: nNeurons }, () => setup() - 0.5);

function zipf(u: number): number {
  let lo = 0;
  let hi = nTypes - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const nShards = Math.ceil(nTokens / shardTokens);

function shard(s: number): { tokens: string[]; m: Matrix } {
  const rows = Math.min(shardTokens, nTokens - s * shardTokens);
  const r = rng(seed * 1_000_003 + s);
  const tokens: string[] = [];
  const data = new Float32Array(rows * nNeurons);
  for (let i = 0; i < rows; i++) {
    const t = zipf(r());
    tokens.push(words[t]!);
    const e = effect[t]!;
    const o = i * nNeurons;
    for (let n = 0; n < nNeurons; n++) data[o + n] = bias[n]! + e * gain[n]! + (r() - 0.5) * 2;
  }
  return { tokens, m: matrix(data, rows, nNeurons) };
}

// CPU seconds of this process: the machine's 2 cores are shared with other
// work, and wall time would measure the neighbours.
const now = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const wall = (): number => performance.now() / 1000;
const round = (x: number, d = 3): number => Number(x.toFixed(d));

// The corpus, held in memory like a worker's local activation cache (not timed).
let t0 = now();
const shards = Array.from({ length: nShards }, (_, s) => shard(s));
const generate = now() - t0;
const rssAfterData = process.memoryUsage().rss;

let pass1 = 0;
let pass2 = 0;
let merge = 0;
let rank = 0;

const wall0 = wall();
t0 = now();
const moments = emptyMoments(nNeurons);
shards.forEach(({ m }, s) => accumulateMoments(moments, m, { label: `shard ${s}` }));
pass1 = now() - t0;

let seenTypes = 0;
let returned = 0;
let builder: TypeScoresBuilder | null = null;
const reducer = new TypeScoresReducer({ expectedTypes: nTypes });
for (let b = 0; b < nNeurons; b += blockSize) {
  const size = Math.min(blockSize, nNeurons - b);
  const mu = moments.mean.subarray(b, b + size);
  reducer.reset();
  for (let s = 0; s < nShards; s++) {
    const { tokens, m } = shards[s]!;
    t0 = now();
    const block = { shard: s, firstNeuron: b, mu };
    if (builder) builder.reset(block);
    else builder = new TypeScoresBuilder(block);
    builder.add(tokens, m, { label: `shard ${s}` });
    const partial = builder.finish();
    pass2 += now() - t0;
    t0 = now();
    reducer.add(partial);
    merge += now() - t0;
  }
  t0 = now();
  const reduced = reducer.finish();
  merge += now() - t0;
  seenTypes = reduced.tokens.length;
  t0 = now();
  const top = rankTopWords(reduced, { numTokens });
  rank += now() - t0;
  returned += top.reduce((n, l) => n + l.length, 0);
}

const wallSeconds = wall() - wall0;
const tn = nTokens * nNeurons;
const total = pass1 + pass2 + merge + rank;
const peak = process.resourceUsage().maxRSS * 1024;
console.log(JSON.stringify({
  bench: 'topWords',
  nTokens, nNeurons, types: seenTypes, shardTokens, nShards, blockSize, numTokens,
  pass1Seconds: round(pass1), pass2Seconds: round(pass2), mergeSeconds: round(merge), rankSeconds: round(rank),
  totalSeconds: round(total),
  wallSeconds: round(wallSeconds),
  pass1TokenNeuronsPerSecond: Math.round(tn / pass1),
  pass2TokenNeuronsPerSecond: Math.round(tn / pass2),
  totalTokenNeuronsPerSecond: Math.round(tn / total),
  topWordsReturned: returned,
  generateSeconds: round(generate),
  corpusMB: Math.round((tn * 4) / 2 ** 20),
  peakRssMB: Math.round(peak / 2 ** 20),
  peakRssAboveCorpusMB: Math.round((peak - rssAfterData) / 2 ** 20),
}));
