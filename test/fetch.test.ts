import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register as registerFetch } from '../cli/commands/fetch.ts';
import { register as registerUrl } from '../cli/commands/url.ts';
import { renderHtmlIndex } from '../pipelines/htmlIndex.ts';
import { renderKeys, renderPaths } from '../pipelines/renderKeys.ts';
import { buildRunIndex, runIndexFiles } from '../pipelines/runIndex.ts';
import { openStore } from '../workers/store/index.ts';
import { freshBucket, s3TestEnv } from './helpers/s3.ts';

/**
 * A finished run's tree as the pipeline writes it (keys from the same
 * layout functions): manifest, tables, index and renders of two neurons.
 */
const run = 'r-fetch';
const layers = [0, 1];
const dModel = 3;
const rendered = [[1, 2], [0, 0]] as const;

async function writeRun(url: string): Promise<void> {
  const store = openStore(url);
  const r = renderKeys(run);
  await store.put(`runs/${run}/manifest.json`, JSON.stringify({ version: 1, runId: run, plan: { layers, model: { dModel } } }));
  for (const k of [`runs/${run}/neuron_stats.parquet`, `runs/${run}/top_words.parquet`, r.topSentences, r.histograms]) await store.put(k, `PAR1 ${k}`);
  const idx = buildRunIndex(
    { runId: run, model: 'tiny', nLayers: 2, dModel, createdAt: '2026-01-01T00:00:00Z', sentences: 3, tokens: 9 },
    layers.flatMap((layer) =>
      [0, 1, 2].map((neuron) => ({
        layer, neuron,
        stats: { count: 9, mean: 0, variance: 1, std: 1, min: -1, max: 1 },
        topWords: [{ token: 'a', score: 1, count: 1, mean: 0.5 }],
        topSentences: [{ sentenceIndex: 0, maxActivation: 1, tokenIndex: 0 }, { sentenceIndex: 2, maxActivation: -0.5, tokenIndex: 1 }],
        rendered: rendered.some(([l, n]) => l === layer && n === neuron),
      })),
    ),
  );
  for (const f of runIndexFiles(idx)) await store.put(r.of(f.path), f.body);
  await store.put(r.of(renderPaths.html), renderHtmlIndex(idx.summary));
  for (const [layer, neuron] of rendered) {
    for (const rank of [0, 1]) await store.put(r.of(renderPaths.sentence(layer, neuron, rank)), `<svg id="${layer}-${neuron}-${rank}"/>`);
    await store.put(r.of(renderPaths.histogram(layer, neuron)), '<svg id="h"/>');
    await store.put(r.of(renderPaths.topWords(layer, neuron)), '<svg id="w"/>');
  }
}

/** Runs one CLI command in-process; resolves to stdout, rejects with the command's error. */
async function cli(args: string[]): Promise<string> {
  const program = new Command('neurox').exitOverride();
  registerFetch(program);
  registerUrl(program);
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => {
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'neurox', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Array<{ isFile(): boolean; parentPath: string; name: string }>)
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'))
    .sort();
}

describe('neurox fetch and url', () => {
  let s3Url = '';
  let localDir = '';
  let out = '';
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    for (const [k, v] of Object.entries(s3TestEnv())) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    s3Url = `s3://${await freshBucket('fetch')}/neurox`;
    await writeRun(s3Url);
    localDir = mkdtempSync(join(tmpdir(), 'neurox-fetch-store-'));
    await writeRun(localDir);
    out = mkdtempSync(join(tmpdir(), 'neurox-fetch-out-'));
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(localDir, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it('downloads the tables, the HTML index and every render, laid out like runs/<run>/', async () => {
    const dir = join(out, 'all');
    await cli(['fetch', run, '--output', s3Url, '--out', dir]);
    const files = filesUnder(dir);
    expect(files).toContain('index.html');
    expect(files).toContain('index/layer-1.js');
    expect(files).toContain('top_words.parquet');
    expect(files).toContain('histograms.parquet');
    expect(files).toContain('manifest.json');
    expect(files.filter((f) => f.startsWith('renders/'))).toEqual([
      'renders/0/0/0.svg', 'renders/0/0/1.svg', 'renders/0/0/histogram.svg', 'renders/0/0/top-words.svg',
      'renders/1/2/0.svg', 'renders/1/2/1.svg', 'renders/1/2/histogram.svg', 'renders/1/2/top-words.svg',
    ]);
    expect(readFileSync(join(dir, 'renders/1/2/1.svg'), 'utf8')).toBe('<svg id="1-2-1"/>');
  });

  it('downloads only the asked neurons\' renders (and the tables) with --neuron, from a local folder store too', async () => {
    const dir = join(out, 'one');
    await cli(['fetch', run, '--output', localDir, '--out', dir, '--neuron', '1:2']);
    expect(filesUnder(dir)).toEqual([
      'histograms.parquet', 'manifest.json', 'neuron_stats.parquet',
      'renders/1/2/0.svg', 'renders/1/2/1.svg', 'renders/1/2/histogram.svg', 'renders/1/2/top-words.svg',
      'top_sentences.parquet', 'top_words.parquet',
    ]);
    const bare = join(out, 'bare');
    await cli(['fetch', run, '--output', localDir, '--out', bare, '--neuron', '0:0', '--no-parquet']);
    expect(filesUnder(bare)).toEqual(['renders/0/0/0.svg', 'renders/0/0/1.svg', 'renders/0/0/histogram.svg', 'renders/0/0/top-words.svg']);
  });

  it('prints presigned URLs that a client without credentials can GET, top sentences by rank first', async () => {
    const text = await cli(['url', run, '--output', s3Url, '--neuron', '1:2', '--file', 'top_words.parquet', '--expires', '2h']);
    const lines = text.trim().split('\n').map((l) => l.split('\t'));
    expect(lines.map((l) => l[0])).toEqual(['renders/1/2/0.svg', 'renders/1/2/1.svg', 'renders/1/2/histogram.svg', 'renders/1/2/top-words.svg', 'top_words.parquet']);
    for (const [, url] of lines) expect(url).toMatch(/X-Amz-Expires=7200/);
    const res = await fetch(lines[1]![1]!);
    expect(await res.text()).toBe('<svg id="1-2-1"/>');
  });

  it('names an unknown run, layer or neuron, and a neuron that was not rendered', async () => {
    await expect(cli(['fetch', 'nope', '--output', s3Url, '--out', join(out, 'x')])).rejects.toThrow(
      `run 'nope' not found: ${s3Url}/runs/nope/manifest.json does not exist`,
    );
    await expect(cli(['url', run, '--output', s3Url, '--neuron', '7:0'])).rejects.toThrow(`run '${run}': layer 7 is not in this run (layers 0-1)`);
    await expect(cli(['url', run, '--output', s3Url, '--neuron', '1:3'])).rejects.toThrow(`run '${run}': neuron 3 is out of range [0, 2]`);
    await expect(cli(['url', run, '--output', s3Url, '--neuron', '1:1'])).rejects.toThrow(`run '${run}': neuron 1:1 has no renders`);
    await expect(cli(['url', run, '--output', s3Url, '--neuron', 'x'])).rejects.toThrow("neuron 'x' is not LAYER:NEURON");
    await expect(cli(['url', run, '--output', s3Url, '--file', 'nope.parquet'])).rejects.toThrow(`run '${run}' has no file nope.parquet`);
    await expect(cli(['url', run, '--output', s3Url, '--neuron', '1:2', '--expires', '8d'])).rejects.toThrow('--expires 8d: presigned URLs work for 1 s to 7 days (S3\'s limit), got 691200 s');
    await expect(cli(['url', run, '--output', localDir, '--neuron', '1:2'])).rejects.toThrow('cannot presign URLs (S3 stores only)');
    expect(existsSync(join(out, 'x'))).toBe(false);
  });
});
