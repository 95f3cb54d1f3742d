/**
 * The storage layout is an interface: an S3 client that knows nothing of
 * this project (boto3, and the aws CLI where installed) lists and downloads a
 * run's SVGs and tables using only the key layout the README documents
 * (`<prefix>/runs/<run>/renders/<layer>/<neuron>/<rank>.svg`, ...). Skipped
 * where neither is installed; with NEUROX_TEST_REQUIRE_S3CLIENT=1 (CI) both
 * must be installed, so neither half is skipped silently.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { AnalysisResult } from '../schemas/analysis.ts';
import { runEmbedded } from '../workers/runner/embedded.ts';
import { openStore } from '../workers/store/index.ts';
import { freshBucket, s3TestEnv } from './helpers/s3.ts';
import { corpusText } from './pipelineHelpers.ts';

function find(cands: Array<[string, string[]]>): string | null {
  for (const [cmd, args] of cands) if (spawnSync(cmd, args, { stdio: 'ignore' }).status === 0) return cmd;
  return null;
}
const boto3 = find([[process.env.NEUROX_TEST_BOTO3_PYTHON ?? 'python3', ['-c', 'import boto3']]]);
const aws = find([['aws', ['--version']]]);
if (process.env.NEUROX_TEST_REQUIRE_S3CLIENT === '1' && (!boto3 || !aws)) {
  const missing = [!boto3 && 'python3 with boto3 (pip install boto3)', !aws && 'the aws CLI (pip install awscli)'].filter(Boolean).join(' and ');
  throw new Error(`NEUROX_TEST_REQUIRE_S3CLIENT=1 but ${missing} is not installed`);
}

// What a user writes from the README alone: keys spelled out by hand.
const BOTO3 = String.raw`
import sys, os, boto3
endpoint, bucket, prefix, run, layer, neuron, out = sys.argv[1:]
s3 = boto3.client('s3', endpoint_url=endpoint, aws_access_key_id='testing', aws_secret_access_key='testing', region_name='us-east-1')
base = f'{prefix}/runs/{run}/'
folder = f'{base}renders/{layer}/{neuron}/'
keys = [o['Key'] for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=folder) for o in page.get('Contents', [])]
for key in keys + [base + 'top_sentences.parquet', base + 'index.html']:
    path = os.path.join(out, key[len(base):])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    s3.download_file(bucket, key, path)
print('\n'.join(k[len(base):] for k in keys))
`;

let result: AnalysisResult;
let bucket = '';
let rendered = { layer: 0, neuron: 0 };

beforeAll(async () => {
  if (!boto3 && !aws) return;
  const saved = { ...process.env };
  Object.assign(process.env, s3TestEnv());
  try {
    bucket = await freshBucket('s3client');
    const dir = mkdtempSync(join(tmpdir(), 'neurox-s3client-'));
    writeFileSync(join(dir, 'corpus.txt'), corpusText(24));
    result = await runEmbedded({
      version: 1, corpus: join(dir, 'corpus.txt'), model: 'test-hash:2x6', output: `s3://${bucket}/neurox`,
      options: { shardSentences: 8, blockNeurons: 6, topSentences: 4, render: { neurons: ['1:3'] } },
    });
    rendered = { layer: 1, neuron: 3 };
  } finally {
    process.env = saved;
  }
}, 120_000);

describe.skipIf(!boto3 && !aws)('an S3 client that knows only the documented layout', () => {
  it.skipIf(!boto3)('boto3 lists a neuron\'s SVGs and downloads them with the tables, byte for byte', async () => {
    const out = mkdtempSync(join(tmpdir(), 'neurox-boto3-'));
    const listed = execFileSync(boto3!, ['-c', BOTO3, inject('s3Endpoint'), bucket, 'neurox', result.runId, String(rendered.layer), String(rendered.neuron), out], { encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(listed).toEqual(['renders/1/3/0.svg', 'renders/1/3/1.svg', 'renders/1/3/2.svg', 'renders/1/3/3.svg', 'renders/1/3/histogram.svg', 'renders/1/3/top-words.svg']);
    const store = openStore(`s3://${bucket}/neurox`, s3TestEnv());
    for (const rel of [...listed, 'top_sentences.parquet', 'index.html']) {
      const ours = Buffer.from(await store.get(`runs/${result.runId}/${rel}`));
      expect(readFileSync(join(out, rel)).equals(ours), rel).toBe(true);
    }
    expect(readdirSync(join(out, 'renders', '1', '3'))).toHaveLength(6);
  });

  it.skipIf(!aws)('the aws CLI lists the same SVGs and copies them', () => {
    const env = { ...process.env, ...s3TestEnv(), AWS_EC2_METADATA_DISABLED: 'true' };
    const base = `s3://${bucket}/neurox/runs/${result.runId}/renders/1/3/`;
    const ls = execFileSync('aws', ['--endpoint-url', inject('s3Endpoint'), 's3', 'ls', base], { encoding: 'utf8', env });
    const names = ls.trim().split('\n').map((l) => l.trim().split(/\s+/).at(-1));
    expect(names).toEqual(['0.svg', '1.svg', '2.svg', '3.svg', 'histogram.svg', 'top-words.svg']);
    const out = mkdtempSync(join(tmpdir(), 'neurox-awscli-'));
    execFileSync('aws', ['--endpoint-url', inject('s3Endpoint'), 's3', 'cp', '--recursive', base, out], { encoding: 'utf8', env });
    expect(readdirSync(out).sort()).toEqual(['0.svg', '1.svg', '2.svg', '3.svg', 'histogram.svg', 'top-words.svg']);
    expect(readFileSync(join(out, '0.svg'), 'utf8')).toContain('layer 1 · neuron 3 · sentence');
  });
});
