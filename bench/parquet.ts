/**
 * Parquet hot path: streaming BERT-base-sized tables (9,984 neurons) to a
 * local folder store and reading them back. Prints one JSON line.
 *
 *   npx tsx bench/parquet.ts [--neurons 9984] [--words 50] [--bins 32]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { histogramsTable, topWordsTable, type HistogramsInput, type TopWordsInput } from '../schemas/parquet.ts';
import { readTable, storeFile, writeTable } from '../workers/parquet.ts';
import { LocalStore } from '../workers/store/index.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const nNeurons = arg('neurons', 9984);
const nWords = arg('words', 50);
const nBins = arg('bins', 32);
const dModel = 768;
const blockNeurons = 768;
const vocab = Array.from({ length: 30_000 }, (_, i) => `tok${i}${i % 7 === 0 ? 'é' : ''}`);

function* topWordsBlocks(): Iterable<TopWordsInput> {
  for (let g0 = 0; g0 < nNeurons; g0 += blockNeurons) {
    const nb = Math.min(blockNeurons, nNeurons - g0);
    const n = nb * nWords;
    const globalNeuron = Int32Array.from({ length: n }, (_, i) => g0 + Math.floor(i / nWords));
    yield {
      layer: globalNeuron.map((g) => Math.floor(g / dModel)),
      neuron: globalNeuron.map((g) => g % dModel),
      globalNeuron,
      rank: Int32Array.from({ length: n }, (_, i) => i % nWords),
      token: Array.from({ length: n }, (_, i) => vocab[(i * 7919) % vocab.length] as string),
      score: Float64Array.from({ length: n }, (_, i) => 1 - (i % nWords) / nWords),
      count: Float64Array.from({ length: n }, (_, i) => 1 + ((i * 31) % 1000)),
      mean: Float64Array.from({ length: n }, (_, i) => Math.sin(i)),
    };
  }
}

function* histogramBlocks(): Iterable<HistogramsInput> {
  for (let g0 = 0; g0 < nNeurons; g0 += blockNeurons) {
    const nb = Math.min(blockNeurons, nNeurons - g0);
    const n = nb * nBins;
    const globalNeuron = Int32Array.from({ length: n }, (_, i) => g0 + Math.floor(i / nBins));
    yield {
      layer: globalNeuron.map((g) => Math.floor(g / dModel)),
      neuron: globalNeuron.map((g) => g % dModel),
      globalNeuron,
      binLo: Float64Array.from({ length: n }, (_, i) => -4 + (i % nBins) * 0.25),
      binHi: Float64Array.from({ length: n }, (_, i) => -4 + ((i % nBins) + 1) * 0.25),
      count: Float64Array.from({ length: n }, (_, i) => (i * 17) % 5000),
    };
  }
}

let peakRss = 0;
const sample = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 20);

const dir = mkdtempSync(join(tmpdir(), 'neurox-bench-pq-'));
try {
  const store = new LocalStore(dir);
  let t = performance.now();
  const words = await writeTable(topWordsTable, store, 'top_words.parquet', topWordsBlocks());
  const writeWordsS = (performance.now() - t) / 1000;
  t = performance.now();
  const back = await readTable(topWordsTable, await storeFile(store, 'top_words.parquet'));
  const readWordsS = (performance.now() - t) / 1000;
  if (back.token.length !== words.rows) throw new Error('row count mismatch');
  t = performance.now();
  const hist = await writeTable(histogramsTable, store, 'histograms.parquet', histogramBlocks());
  const writeHistS = (performance.now() - t) / 1000;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  console.log(JSON.stringify({
    bench: 'parquet',
    neurons: nNeurons,
    topWords: { rows: words.rows, bytes: words.bytes, writeS: +writeWordsS.toFixed(3), readS: +readWordsS.toFixed(3), writeRowsPerS: Math.round(words.rows / writeWordsS) },
    histograms: { rows: hist.rows, bytes: hist.bytes, writeS: +writeHistS.toFixed(3), writeRowsPerS: Math.round(hist.rows / writeHistS) },
    peakRssMiB: Math.round(peakRss / 2 ** 20),
    node: process.version,
  }));
} finally {
  clearInterval(sample);
  rmSync(dir, { recursive: true, force: true });
}
