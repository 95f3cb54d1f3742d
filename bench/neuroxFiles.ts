/**
 * NeuroX activation files: write and read throughput of the streaming
 * writers/readers (hdf5 float32 and float16, json), at BERT-base width.
 *
 *   npx tsx bench/neuroxFiles.ts [--sentences 200] [--tokens 25] [--layers 13] [--dmodel 768] [--json-sentences 20]
 *
 * Synthetic, seeded activations; every sentence has --tokens tokens. Times
 * are CPU seconds of this process (user + system; the two cores are shared,
 * wall time would measure the neighbours), wall seconds beside them; h5wasm's
 * one-off WASM load (about 1 s of CPU) is left out. The
 * readers' peak RSS shows the streaming: it does not grow with the file.
 *
 * Prints one JSON line.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActivationWriter, openActivationFile } from '../workers/neuroxFiles/index.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v)) throw new Error(`--${name}: not a number`);
  return v;
}

const nSentences = arg('sentences', 200);
const nTokens = arg('tokens', 25);
const nLayers = arg('layers', 13);
const dModel = arg('dmodel', 768);
const jsonSentences = arg('json-sentences', 20);

let seed = 1;
const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 4 - 2;
const data = Float32Array.from({ length: nLayers * nTokens * dModel }, random);
const tokens = Array.from({ length: nTokens }, (_, t) => `w${t}`);

async function timed<T>(f: () => Promise<T>): Promise<{ cpu: number; wall: number; value: T }> {
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const value = await f();
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1e6, wall: (performance.now() - w0) / 1000, value };
}

const dir = await mkdtemp(join(tmpdir(), 'bench-neurox-files-'));
const tokensPath = join(dir, 'tokens.txt');
const result: Record<string, unknown> = { sentences: nSentences, tokens: nTokens, layers: nLayers, dModel, jsonSentences };
try {
  // load h5wasm's WASM once, untimed (about 1 s of CPU per process)
  const warm = join(dir, 'warm.hdf5');
  await writeFile(tokensPath, `${tokens.join(' ')}\n`);
  const w = await createActivationWriter(warm, { dtype: 'float32' });
  await w.write({ tokens, activations: { tokens, data, nLayers, nTokens, dModel } });
  await w.close();
  await (await openActivationFile(warm, tokensPath)).close();
  for (const [name, dtype, n] of [['hdf5', 'float32', nSentences], ['hdf5-f16', 'float16', nSentences], ['json', 'float32', jsonSentences]] as const) {
    const path = join(dir, `acts.${name.startsWith('json') ? 'json' : 'hdf5'}`);
    await writeFile(tokensPath, `${tokens.join(' ')}\n`.repeat(n));
    const write = await timed(async () => {
      const w = await createActivationWriter(path, { dtype });
      for (let i = 0; i < n; i++) {
        data[0] = i; // every sentence distinct
        await w.write({ tokens, activations: { tokens, data, nLayers, nTokens, dModel } });
      }
      await w.close();
    });
    const bytes = (await stat(path)).size;
    const rssBefore = process.memoryUsage().rss;
    const read = await timed(async () => {
      const f = await openActivationFile(path, tokensPath);
      let sum = 0;
      for await (const s of f.sentences()) sum += s.activations.data[0]!;
      await f.close();
      return sum;
    });
    const oneLayer = await timed(async () => {
      const f = await openActivationFile(path, tokensPath);
      let k = 0;
      for await (const s of f.sentences({ layers: [6, 7] })) k += s.activations.nTokens;
      await f.close();
      return k;
    });
    const values = n * nLayers * nTokens * dModel;
    result[name] = {
      fileMB: +(bytes / 1e6).toFixed(1),
      writeCpuS: +write.cpu.toFixed(2), writeWallS: +write.wall.toFixed(2), writeMValuesPerCpuS: +(values / 1e6 / write.cpu).toFixed(2),
      readCpuS: +read.cpu.toFixed(2), readWallS: +read.wall.toFixed(2), readMValuesPerCpuS: +(values / 1e6 / read.cpu).toFixed(2),
      oneLayerReadCpuS: +oneLayer.cpu.toFixed(3),
      rssGrowthDuringReadMB: +((process.memoryUsage().rss - rssBefore) / 1e6).toFixed(1),
    };
    await rm(path);
  }
  result.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
