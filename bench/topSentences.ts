/**
 * Pass 1's top-sentences accumulation, as the extract stage feeds it: one
 * shard's neuron groups (`[nTokens x width]`, rows of consecutive sentences)
 * for BERT-base's 9,984 neurons, k = 10. Reports tokens x neurons per second
 * (one core), the cost per shard, and the encoded partial's size.
 *   npx tsx bench/topSentences.ts [sentences=256] [tokensPerSentence=30]
 */
import { matrix } from '../pipelines/matrix.ts';
import { TopSentences } from '../pipelines/topSentences.ts';

const nSentences = Number(process.argv[2] ?? 256);
const perSentence = Number(process.argv[3] ?? 30);
const nNeurons = 13 * 768;
const width = 256;
const nTokens = nSentences * perSentence;
let seed = 3;
const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const groups = Array.from({ length: Math.ceil(nNeurons / width) }, (_, g) => {
  const w = Math.min(width, nNeurons - g * width);
  return matrix(Float32Array.from({ length: nTokens * w }, () => (rand() - 0.5) * 4), nTokens, w);
});
const lengths = new Array<number>(nSentences).fill(perSentence);

function once(): TopSentences {
  const acc = new TopSentences(nNeurons, 10);
  groups.forEach((m, g) => {
    const part = new TopSentences(m.cols, 10, g * width);
    part.addRows(m, lengths);
    acc.place(part);
  });
  return acc;
}
once(); // warm-up
const runs = 5;
const t0 = process.hrtime.bigint();
let bytes = 0;
for (let i = 0; i < runs; i++) bytes = once().encode().length;
const seconds = Number(process.hrtime.bigint() - t0) / 1e9 / runs;
console.log(JSON.stringify({
  bench: 'topSentences', nNeurons, sentences: nSentences, tokens: nTokens, k: 10,
  secondsPerShard: Number(seconds.toFixed(3)),
  valuesPerSecond: Math.round((nTokens * nNeurons) / seconds),
  partialBytes: bytes,
  peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
}));
