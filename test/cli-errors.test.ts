/**
 * Every command's bad input as a user meets it (the real CLI in a child
 * process): an unknown run, layer or neuron, a missing file, a bad number, an
 * unreachable Redis. Each exits non-zero with one line on stderr naming the
 * problem, and no stack trace (README "CLI reference").
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNeurox, type CliRun } from './helpers/cli.ts';
import { freshBucket, s3TestEnv } from './helpers/s3.ts';
import { runEmbedded } from '../workers/runner/embedded.ts';
import { corpusText } from './pipelineHelpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'neurox-cli-errors-'));
const corpus = join(dir, 'corpus.txt');
const out = join(dir, 'out');
const missing = join(dir, 'missing.txt');
let deadRedis = '';

function neurox(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const { NEUROX_DEBUG: _debug, ...base } = process.env;
  return runNeurox(args, { cwd: dir, env: { ...base, ...env }, timeout: 60_000 });
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  writeFileSync(corpus, corpusText(12));
  // a finished run (2 layers x 6 neurons, neuron 1:3 rendered) for the unknown layer/neuron cases
  await runEmbedded({
    version: 1, corpus, model: 'test-hash:2x6', output: out, runName: 'r1',
    options: { shardSentences: 8, blockNeurons: 6, topSentences: 2, render: { neurons: ['1:3'] } },
  });
  deadRedis = `redis://127.0.0.1:${await closedPort()}`;
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cases: Array<[string, () => string[], RegExp]> = [
  ['analyze: missing corpus', () => ['analyze', missing, '--out', out], /^corpus \S*missing\.txt not found/],
  ['analyze: bad number', () => ['analyze', corpus, '--out', out, '--top-k', 'x'], /^--top-k: expected an integer, got 'x'$/],
  ['submit: bad number', () => ['submit', corpus, '--output', out, '--batch-size', '0'], /^--batch-size: must be >= 1, got 0$/],
  ['fetch: unknown run', () => ['fetch', 'r-nope', '--output', out, '--out', join(dir, 'f')], /^run 'r-nope' not found: \S+\/runs\/r-nope\/manifest\.json does not exist$/],
  ['fetch: malformed neuron', () => ['fetch', 'r1', '--output', out, '--neuron', 'x', '--out', join(dir, 'f')], /^neuron 'x' is not LAYER:NEURON/],
  ['fetch: unknown layer', () => ['fetch', 'r1', '--output', out, '--neuron', '9:0', '--out', join(dir, 'f')], /^run 'r1': layer 9 is not in this run \(layers 0-1\)$/],
  ['fetch: unknown neuron', () => ['fetch', 'r1', '--output', out, '--neuron', '0:99', '--out', join(dir, 'f')], /^run 'r1': neuron 99 is out of range \[0, 5\]$/],
  ['url: bad duration', () => ['url', 'r1', '--output', out, '--file', 'index.html', '--expires', 'soon'], /^--expires "soon" is not a duration/],
  ['worker: bad number', () => ['worker', '--concurrency', 'x'], /^--concurrency: expected an integer, got 'x'$/],
  ['extract: missing corpus', () => ['extract', missing, '--out', join(dir, 'a.hdf5')], /^corpus not found: \S*missing\.txt$/],
  ['top-words: missing file', () => ['top-words', '--activations', join(dir, 'missing.hdf5'), '--tokens', corpus, '--neuron', '1'], /^activations file not found: /],
  ['render: bad number', () => ['render', '--activations', join(dir, 'a.hdf5'), '--tokens', corpus, '--sentence', '0', '--neuron', 'x', '--out', '-'], /^--neuron: expected an integer, got 'x'$/],
  ['visualize: bad number', () => ['visualize', '--layer', '0', '--neuron', 'x', '--out', '-', 'a b'], /^--neuron: expected an integer, got 'x'$/],
  ['schedule add: bad duration', () => ['schedule', 'add', 'n', '--corpus', corpus, '--output', out, '--every', 'soon'], /^--every "soon" is not a duration/],
];

describe('a failing command prints one line and exits non-zero', () => {
  it.each(cases)('%s', async (_name, args, message) => {
    const r = await neurox(args());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^neurox: [^\n]+\n$/);
    expect(r.stderr.slice('neurox: '.length, -1)).toMatch(message);
  });

  it('status of an unknown run says so on stdout and exits 3 (a failed run exits 2)', async () => {
    const r = await neurox(['status', 'r-nope', '--no-queue', '--output', out]);
    expect(r.code).toBe(3);
    expect(r.stdout.split('\n')[0]).toBe('run r-nope: unknown');
    expect(r.stderr).toBe('');
  });

  it('status of a run in an S3 bucket that does not exist names the bucket (a HEAD 404 alone would say unknown)', async () => {
    const env = { ...s3TestEnv(), AWS_EC2_METADATA_DISABLED: 'true' };
    const r = await neurox(['status', 'r1', '--no-queue', '--output', 's3://neurox-no-such-bucket-zz/runs'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('neurox: bucket not found: s3://neurox-no-such-bucket-zz\n');
    // an existing bucket without the run is an unknown run, as on a folder
    const bucket = await freshBucket('neurox-status');
    const known = await neurox(['status', 'r1', '--no-queue', '--output', `s3://${bucket}/runs`], env);
    expect(known.code).toBe(3);
    expect(known.stdout.split('\n')[0]).toBe('run r1: unknown');
  });

  // BullMQ prints every failed reconnect with its stack unless the queue has an 'error' listener
  it.concurrent.each([
    ['submit', () => ['submit', corpus, '--output', out]],
    ['status', () => ['status', 'r1', '--output', out]],
    ['schedule list', () => ['schedule', 'list']],
    ['schedule remove', () => ['schedule', 'remove', 'n']],
  ])('%s with Redis unreachable names Redis and REDIS_URL, with no stack', async (_name, args) => {
    const r = await neurox(args(), { REDIS_URL: deadRedis });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`neurox: cannot reach Redis at ${deadRedis} (REDIS_URL): connect ECONNREFUSED ${deadRedis.slice('redis://'.length)}\n`);
  });
});
