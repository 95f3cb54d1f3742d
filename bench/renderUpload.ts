/**
 * Render + upload throughput: 30-token sentences rendered as the render stage
 * does (one colour scale per neuron, caption and legend) and PUT to a real S3
 * server (a moto_server this script starts on a free port, or the one at
 * S3_ENDPOINT), with `concurrency` PUTs in flight. Also reports render only,
 * in the same process, so the two compare. Prints one JSON line.
 *   npx tsx bench/renderUpload.ts [svgs=3000] [concurrency=16]
 */
import { spawn } from 'node:child_process';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { renderPaths } from '../pipelines/renderKeys.ts';
import { sentenceSvg } from '../workers/render/neuronSvgs.ts';
import { S3Store, s3ConfigFromEnv } from '../workers/store/index.ts';
import { freePort } from '../test/setup/services.ts';

const total = Number(process.argv[2] ?? 3000);
const concurrency = Number(process.argv[3] ?? 16);
const words = 'the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were her she there one all we their'.split(' ');
let seed = 7;
const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const sentences = Array.from({ length: 256 }, () => ({
  tokens: Array.from({ length: 30 }, () => words[Math.floor(rand() * words.length)]!),
  values: Float32Array.from({ length: 30 }, () => (rand() - 0.5) * 6),
}));

async function main(): Promise<void> {
  let endpoint = process.env.S3_ENDPOINT;
  let stop = (): void => {};
  if (!endpoint) {
    const port = await freePort();
    const moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    stop = () => moto.kill('SIGTERM');
    endpoint = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if (await fetch(`${endpoint}/moto-api/`).then((r) => r.status < 500, () => false)) break;
      if (i > 300) throw new Error('moto_server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const env = { S3_ENDPOINT: endpoint, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1' };
  const bucket = `bench-${Date.now()}`;
  const client = new S3Client(s3ConfigFromEnv(env));
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const store = new S3Store({ bucket, client });
  const svgOf = (i: number): string => sentenceSvg(i % 12, i % 768, { ...sentences[i % sentences.length]!, sentenceIndex: i }, 3);

  try {
    // render only
    let bytes = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < total; i++) bytes += svgOf(i).length;
    const renderSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

    // render + upload, `concurrency` PUTs in flight
    const t1 = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < total; i = next++) {
          await store.put(`runs/bench/${renderPaths.sentence(i % 12, i % 768, Math.floor(i / 9216))}`, svgOf(i), { contentType: 'image/svg+xml' });
        }
      }),
    );
    const uploadSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
    console.log(
      JSON.stringify({
        bench: 'renderUpload',
        tokensPerSentence: 30,
        svgs: total,
        concurrency,
        bytesPerSvg: Math.round(bytes / total),
        renderOnlySvgsPerSecond: Math.round(total / renderSeconds),
        renderUploadSvgsPerSecond: Math.round(total / uploadSeconds),
        uploadMBPerSecond: Number((bytes / 1e6 / uploadSeconds).toFixed(2)),
        server: process.env.S3_ENDPOINT ? 'S3_ENDPOINT' : 'moto_server (local, in memory)',
        peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      }),
    );
  } finally {
    store.close();
    client.destroy();
    stop();
  }
}

await main();
