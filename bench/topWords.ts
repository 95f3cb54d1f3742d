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
 *     [--shard 65536] [--block 768] [--numTokens 10] [--seed 1] [--repeat 2] [--partials]
 *
 * With --repeat N > 2, "warm" is the median of runs 2..N by total time and
 * "warmFastest" the fastest.
 *
 * Times are CPU seconds of this process (user + system): the machine's two
 * cores are shared, and wall time would measure the neighbours.
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
// 'direct': builders add straight into the reducer (in-process runs);
// 'partials': each shard x block makes a TypeScores partial, then the
// reducer merges them (what distributed jobs do, minus the bytes).
const mode = process.argv.includes('--partials') ? 'partials' : 'direct';
// Runs of the whole computation; the first pays first touches of the reused
// buffers ("cold"), the others show a worker's steady state ("warm": the
// run with the median total, and the fastest; the 2 cores' speed drifts by
// up to a third from one run to the next, even with nothing else running).
const repeat = arg('repeat', 2);

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

interface Timing {
  pass1: number;
  pass2: number;
  merge: number;
  rank: number;
  system: number;
  wall: number;
  types: number;
  returned: number;
}

// One whole computation: pass 1, pass 2 per block, reduce, rank. The builder
// and the reducer are reused across blocks and runs, as a worker would.
let builder: TypeScoresBuilder | null = null;
const reducer = new TypeScoresReducer({ expectedTypes: nTypes });

function run(): Timing {
  const tm: Timing = { pass1: 0, pass2: 0, merge: 0, rank: 0, system: 0, wall: 0, types: 0, returned: 0 };
  const wall0 = wall();
  const cpu0 = process.cpuUsage();
  let t0 = now();
  const moments = emptyMoments(nNeurons);
  shards.forEach(({ m }, s) => accumulateMoments(moments, m, { label: `shard ${s}` }));
  tm.pass1 = now() - t0;

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
      if (mode === 'direct') {
        builder.finishInto(reducer);
        tm.pass2 += now() - t0;
      } else {
        const partial = builder.finish();
        tm.pass2 += now() - t0;
        t0 = now();
        reducer.add(partial);
        tm.merge += now() - t0;
      }
    }
    t0 = now();
    const reduced = reducer.finish();
    tm.merge += now() - t0;
    tm.types = reduced.tokens.length;
    t0 = now();
    const top = rankTopWords(reduced, { numTokens });
    tm.rank += now() - t0;
    tm.returned += top.reduce((n, l) => n + l.length, 0);
  }
  tm.wall = wall() - wall0;
  tm.system = process.cpuUsage(cpu0).system / 1e6;
  return tm;
}

const runs = Array.from({ length: repeat }, run);
const tn = nTokens * nNeurons;
const peak = process.resourceUsage().maxRSS * 1024;

// The host's speed now, beside the figures (after the peak RSS is read):
// the same code's speed moves by a quarter from one set of runs to the next
// with nothing else running here, and so does a plain arithmetic loop, which
// touches no memory (a shared physical core, or its clock). Copy bandwidth
// moves less.
function cpuLoopSeconds(): number {
  const t0 = wall();
  let x = 0;
  for (let i = 0; i < 1e8; i++) x = (x + i * 1.0000001) % 1e9;
  const dt = wall() - t0;
  return x < 0 ? -1 : round(dt); // x keeps the loop
}

function copyGBs(): number {
  const src = shards[0]!.m.data;
  const dst = new Float32Array(src.length);
  dst.set(src);
  const t0 = wall();
  for (let i = 0; i < 3; i++) dst.set(src);
  return round((3 * src.byteLength) / 1e9 / (wall() - t0), 2);
}
const report = (tm: Timing): Record<string, number> => {
  const total = tm.pass1 + tm.pass2 + tm.merge + tm.rank;
  return {
    pass1Seconds: round(tm.pass1), pass2Seconds: round(tm.pass2), mergeSeconds: round(tm.merge), rankSeconds: round(tm.rank),
    totalSeconds: round(total),
    // Page faults on fresh buffers show up as system time (slow on these VMs).
    systemSeconds: round(tm.system),
    wallSeconds: round(tm.wall),
    pass1TokenNeuronsPerSecond: Math.round(tn / tm.pass1),
    pass2TokenNeuronsPerSecond: Math.round(tn / (tm.pass2 + tm.merge)),
    totalTokenNeuronsPerSecond: Math.round(tn / total),
  };
};
function warmReports(warm: readonly Timing[]): Record<string, unknown> {
  const total = (tm: Timing): number => tm.pass1 + tm.pass2 + tm.merge + tm.rank;
  const sorted = [...warm].sort((a, b) => total(a) - total(b));
  return {
    warm: report(sorted[Math.floor((sorted.length - 1) / 2)]!),
    ...(warm.length > 1 ? { warmFastest: report(sorted[0]!), warmTotals: warm.map((tm) => round(total(tm))) } : {}),
  };
}

console.log(JSON.stringify({
  bench: 'topWords',
  mode, nTokens, nNeurons, types: runs[0]!.types, shardTokens, nShards, blockSize, numTokens,
  cold: report(runs[0]!),
  ...(repeat > 1 ? warmReports(runs.slice(1)) : {}),
  topWordsReturned: runs[0]!.returned,
  hostCopyGBs: copyGBs(),
  hostCpuLoopSeconds: cpuLoopSeconds(),
  generateSeconds: round(generate),
  corpusMB: Math.round((tn * 4) / 2 ** 20),
  peakRssMB: Math.round(peak / 2 ** 20),
  peakRssAboveCorpusMB: Math.round((peak - rssAfterData) / 2 ** 20),
}));
