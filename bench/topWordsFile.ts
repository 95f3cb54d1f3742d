/**
 * `neurox top-words` over a NeuroX hdf5 activations file: one neuron (one
 * pass over one layer), and every neuron (`--all`: pass 1 moments, then one
 * pass per neuron block, the block width set by the memory budget).
 *
 *   npx tsx bench/topWordsFile.ts [--sentences 300] [--tokens 25] [--layers 13] [--dmodel 768]
 *     [--types 5000] [--memory-mb 1024] [--top-k 10]
 *
 * Synthetic, seeded: Zipf(1) token types; activation = type effect x neuron
 * gain + uniform noise, float32. Writing the file is not timed. Times are
 * CPU seconds of this process (user + system; the two cores are shared),
 * wall seconds beside them. Peak RSS is the process's whole-run maximum.
 *
 * Prints one JSON line.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActivationWriter, openActivationFile } from '../workers/neuroxFiles/index.ts';
import { fileTopWords, fileTopWordsAll } from '../workers/neuroxFiles/topWords.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v)) throw new Error(`--${name}: not a number`);
  return v;
}

const nSentences = arg('sentences', 300);
const nTokens = arg('tokens', 25);
const nLayers = arg('layers', 13);
const dModel = arg('dmodel', 768);
const nTypes = arg('types', 5000);
const memoryMb = arg('memory-mb', 1024);
const topK = arg('top-k', 10);

let seed = 7;
const uniform = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
// Zipf(1) over ranks 1..nTypes by inverse CDF on the harmonic numbers
const cdf = new Float64Array(nTypes);
for (let r = 0, h = 0; r < nTypes; r++) cdf[r] = h += 1 / (r + 1);
const zipf = () => {
  const u = uniform() * cdf[nTypes - 1]!;
  let lo = 0;
  let hi = nTypes - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};
const gain = Float32Array.from({ length: nLayers * dModel }, () => uniform() * 2 - 1);
const effect = Float32Array.from({ length: nTypes }, () => uniform() * 2 - 1);

async function timed<T>(f: () => Promise<T>): Promise<{ cpu: number; wall: number; value: T }> {
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const value = await f();
  const c = process.cpuUsage(c0);
  return { cpu: +((c.user + c.system) / 1e6).toFixed(2), wall: +((performance.now() - w0) / 1000).toFixed(2), value };
}

const dir = await mkdtemp(join(tmpdir(), 'bench-top-words-file-'));
try {
  const path = join(dir, 'acts.hdf5');
  const tokensPath = join(dir, 'tokens.txt');
  const lines: string[] = [];
  const writer = await createActivationWriter(path, { dtype: 'float32' });
  const data = new Float32Array(nLayers * nTokens * dModel);
  for (let s = 0; s < nSentences; s++) {
    const types = Array.from({ length: nTokens }, zipf);
    const tokens = types.map((t) => `t${t}`);
    for (let l = 0; l < nLayers; l++) {
      for (let t = 0; t < nTokens; t++) {
        const base = (l * nTokens + t) * dModel;
        for (let n = 0; n < dModel; n++) data[base + n] = effect[types[t]!]! * gain[l * dModel + n]! + uniform() - 0.5;
      }
    }
    await writer.write({ tokens, activations: { tokens, data, nLayers, nTokens, dModel } });
    lines.push(tokens.join(' '));
  }
  await writer.close();
  await writeFile(tokensPath, lines.map((l) => `${l}\n`).join(''));
  const fileMB = +((await stat(path)).size / 1e6).toFixed(1);

  const file = await openActivationFile(path, tokensPath);
  const one = await timed(() => fileTopWords(file, Math.floor((nLayers * dModel) / 2), { numTokens: topK }));
  let rows = 0;
  const all = await timed(() =>
    fileTopWordsAll(file, async (block) => {
      for (const b of block) rows += b.words.length;
    }, { topK, memoryBytes: memoryMb * 2 ** 20 }),
  );
  await file.close();
  process.stdout.write(`${JSON.stringify({
    sentences: nSentences, tokens: nSentences * nTokens, neurons: nLayers * dModel, types: all.value.nTypes, fileMB, memoryMb, topK,
    oneNeuron: { cpuS: one.cpu, wallS: one.wall, words: one.value.length },
    allNeurons: { cpuS: all.cpu, wallS: all.wall, passes: all.value.passes, blockNeurons: all.value.blockNeurons, rows, cpuMsPerNeuron: +((all.cpu * 1000) / (nLayers * dModel)).toFixed(3) },
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  })}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
