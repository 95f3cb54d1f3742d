/**
 * `neurox schedule` end to end: the command line against a real Redis, and a
 * schedule whose tick runs a real analysis on real workers, moving the
 * schedule's latest pointer to a completed run of its own id.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.ts';
import { renderKeys, renderPaths } from '../pipelines/renderKeys.ts';
import { scheduledRunId } from '../workers/schedule/cron.ts';
import { readLatest } from '../workers/schedule/processor.ts';
import { readManifest } from '../workers/stages/manifest.ts';
import { openStore } from '../workers/store/index.ts';
import { corpusText, queueConfig, TEST_LOCKS, withWorkers } from './pipelineHelpers.ts';

const saved = { ...process.env };
const config = queueConfig();
let dir = '';
let corpus = '';
let out = '';

/** Runs the CLI in-process; returns its exit code and what it printed. */
async function neurox(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const w1 = process.stdout.write.bind(process.stdout);
  const w2 = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string) => ((stdout += c), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => ((stderr += c), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'neurox', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

beforeAll(() => {
  process.env.REDIS_URL = config.redisUrl;
  process.env.NEUROX_QUEUE_PREFIX = config.prefix;
  dir = mkdtempSync(join(tmpdir(), 'neurox-schedule-cli-'));
  corpus = join(dir, 'corpus.txt');
  writeFileSync(corpus, corpusText(16));
  out = join(dir, 'out');
});

afterAll(() => {
  process.env = saved;
});

describe('neurox schedule', () => {
  it('refuses an invalid cron expression with the reason, and creates nothing', async () => {
    const r = await neurox('schedule', 'add', 'nightly', '--corpus', corpus, '--output', out, '--cron', '0 25 * * *');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('neurox: cron "0 25 * * *" is invalid: Constraint error, got value 25 expected range 0-23\n');
    expect((await neurox('schedule', 'add', 'nightly', '--corpus', corpus, '--output', out)).stderr).toContain('give exactly one of --cron and --every');
    expect((await neurox('schedule', 'add', 'nightly', '--corpus', corpus, '--output', out, '--every', 'soon')).stderr).toContain('--every "soon" is not a duration');
    expect((await neurox('schedule', 'add', 'nightly', '--corpus', corpus, '--output', out, '--every', '1h', '--name', 'x')).stderr).toContain("--name cannot be used with a schedule: its runs are named 'nightly-<tick time>'");
    expect((await neurox('schedule', 'add', 'nightly', '--corpus', corpus, '--output', out, '--every', '1h', '--render', '3-1')).stderr).toContain("--render: '3-1' is not top:N, all, none or layer:neuron");
    expect((await neurox('schedule', 'list')).stdout).toBe('no schedules\n');
  });

  it('adds, lists and removes schedules by name', async () => {
    const added = await neurox('schedule', 'add', 'nightly', '--corpus', corpus, '--output', out, '--cron', '0 3 * * *', '--tz', 'UTC', '--top-k', '5');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^schedule nightly: cron "0 3 \* \* \*" \(UTC\), next run \d{4}-\d\d-\d\dT03:00:00\.000Z\n$/);
    const list = await neurox('schedule', 'list', '--json');
    const rows = JSON.parse(list.stdout) as Array<{ name: string; cron: string; latest: unknown; tick: { analysis: { corpus: string; options: { topK: number } } } }>;
    expect(rows.map((s) => [s.name, s.cron, s.latest, s.tick.analysis.options.topK])).toEqual([['nightly', '0 3 * * *', null, 5]]);
    expect(rows[0]!.tick.analysis.corpus).toBe(`file://${corpus}`);
    expect((await neurox('schedule', 'remove', 'nightly')).stdout).toBe('schedule nightly removed; its past runs are kept\n');
    const again = await neurox('schedule', 'remove', 'nightly');
    expect([again.code, again.stderr]).toEqual([1, "neurox: no schedule named 'nightly' (schedules: none)\n"]);
  });

  it('runs each tick as an analysis of its own id on the workers, and moves latest to it', async () => {
    await withWorkers({ config, concurrency: 1, ...TEST_LOCKS }, async () => {
      const added = await neurox('schedule', 'add', 'often', '--corpus', corpus, '--output', out, '--every', '10s',
        '--shard-sentences', '8', '--block-neurons', '8', '--top-sentences', '2', '--model', 'test-hash:2x4');
      expect(added.code, added.stderr).toBe(0);
      const store = openStore(out);
      const t0 = Date.now();
      let latest = await readLatest(store, 'often');
      while (!latest) {
        if (Date.now() - t0 > 120_000) throw new Error('no scheduled run completed within 120 s');
        await new Promise((r) => setTimeout(r, 250));
        latest = await readLatest(store, 'often');
      }
      expect((await neurox('schedule', 'remove', 'often')).code).toBe(0);
      expect(latest.runId).toMatch(/^often-\d{8}T\d{6}Z$/);
      expect(latest.runId).toBe(scheduledRunId('often', latest.tick));
      const manifest = await readManifest(store, latest.runId);
      expect([manifest.status, manifest.request.runName, `runs/${latest.runId}/manifest.json`]).toEqual(['completed', latest.runId, latest.manifest]);
      expect(await store.head(renderKeys(latest.runId).of(renderPaths.html))).not.toBeNull();
      const list = await neurox('schedule', 'list');
      expect(list.stdout).toBe('no schedules\n');
      // the removed schedule's run stays
      expect(await store.head(latest.manifest)).not.toBeNull();
    });
  }, 200_000);
});
