/**
 * Rendering throughput: SVGs per second on one core (this process is single
 * threaded) for 31-token sentences at NeuroX's defaults (darken 2, titles on),
 * and bytes per SVG. Prints one JSON line.
 *   npx tsx bench/render.ts [seconds=3]
 */
import { visualizeActivations } from '../pipelines/render/svg.ts';

const seconds = Number(process.argv[2] ?? 3);
const words = 'the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were her she there one all we their has been if more when will would who so no'.split(' ');

// 256 distinct sentences of 31 tokens with seeded pseudo-random activations.
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const sentences = Array.from({ length: 256 }, () => {
  const tokens = Array.from({ length: 31 }, () => words[Math.floor(rand() * words.length)]!);
  const acts = new Float32Array(31).map(() => (rand() - 0.5) * 6);
  return { tokens, acts };
});

let bytes = 0;
for (const s of sentences) bytes += visualizeActivations(s.tokens, s.acts).length; // warm-up and size
const start = process.hrtime.bigint();
let n = 0;
let sink = 0;
while (Number(process.hrtime.bigint() - start) / 1e9 < seconds) {
  for (let i = 0; i < 64; i++) {
    const s = sentences[n++ % sentences.length]!;
    sink += visualizeActivations(s.tokens, s.acts).length;
  }
}
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
console.log(
  JSON.stringify({
    bench: 'render',
    tokensPerSentence: 31,
    svgs: n,
    seconds: Number(elapsed.toFixed(2)),
    svgsPerSecond: Math.round(n / elapsed),
    bytesPerSvg: Math.round(bytes / sentences.length),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    checksum: sink % 1000,
  }),
);
