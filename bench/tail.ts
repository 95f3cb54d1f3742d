/**
 * The tail of a kept run (reduce-moments, pass 2, renders, index, tables),
 * replayed: the run's own request (from its manifest) submitted again to
 * the embedded runner with the same output, so every shard comes from the
 * activation cache and the run goes straight to the tail, rewriting the
 * same bytes at the same keys. Each replay runs in a fresh process; one JSON
 * line per replay on stderr, the medians on stdout.
 *
 *   npx tsx bench/pipeline.ts --keep                  # prints "kept <dir>"
 *   npx tsx bench/tail.ts --out <dir>/out [--replays 10] [--jobs N] [--run ID]
 *
 * For changes to the tail without the model's 9-10 s per 1x run: on the
 * VMs here the median of ten replays moves by about 0.03 s between
 * batches, where one full run's share moves by about 0.1 (BENCHMARKS.md).
 * A replay's tail is not quite a run's: no model was loaded and no shard
 * stored before it, and the stage threads' pass-2 warm-up runs without the
 * run's type count (unknown when every shard comes from the cache), so
 * their first blocks size their reducers themselves.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runEmbedded } from '../workers/runner/embedded.ts';
import { median } from './stats.ts';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string' },
    run: { type: 'string' },
    replays: { type: 'string', default: '10' },
    jobs: { type: 'string' },
    child: { type: 'boolean', default: false },
  },
});
if (!args.out) throw new Error('--out: the output folder of a kept bench run (bench/pipeline.ts --keep prints it; add /out)');
const runs = readdirSync(join(args.out, 'runs'));
const runId = args.run ?? (runs.length === 1 ? runs[0]! : undefined);
if (!runId) throw new Error(`${args.out}/runs holds ${runs.length} runs (${runs.join(', ')}): name one with --run`);

interface Replay {
  tailSeconds: number;
  tailCpuSeconds: number;
  stageSeconds: Record<string, number>;
}

if (args.child) {
  const manifest = JSON.parse(readFileSync(join(args.out, 'runs', runId, 'manifest.json'), 'utf8')) as { request: Parameters<typeof runEmbedded>[0] };
  let extractedAt = performance.now();
  let cpuAtTail = process.cpuUsage();
  const seconds: Record<string, number> = {};
  let started = 0;
  let running = 0;
  await runEmbedded(manifest.request, {
    ...(args.jobs !== undefined ? { jobs: Number(args.jobs) } : {}),
    onJob: (s, phase) => {
      if (s === 'extract' && phase === 'end') {
        extractedAt = performance.now();
        cpuAtTail = process.cpuUsage();
      }
      if (phase === 'start') {
        if (running++ === 0) started = performance.now();
      } else if (--running === 0) {
        seconds[s] = (seconds[s] ?? 0) + (performance.now() - started) / 1000;
      }
    },
  });
  const cpu = process.cpuUsage(cpuAtTail);
  const r: Replay = {
    tailSeconds: +((performance.now() - extractedAt) / 1000).toFixed(3),
    tailCpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2),
    stageSeconds: Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, +v.toFixed(3)])),
  };
  console.log(JSON.stringify(r));
  process.exit(0); // the runner's model cache and timers do not hold the replay up
}

const replays: Replay[] = [];
for (let i = 0; i < Number(args.replays); i++) {
  const argv = [...process.execArgv, ...process.argv.slice(1), '--child', '--run', runId];
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`replay ${i + 1} failed (exit ${r.status})`);
  const line = r.stdout.trim().split('\n').pop()!;
  process.stderr.write(`${line}\n`);
  replays.push(JSON.parse(line) as Replay);
}
const stages = [...new Set(replays.flatMap((r) => Object.keys(r.stageSeconds)))].filter((s) => s !== 'extract');
console.log(JSON.stringify({
  bench: 'tail',
  run: runId,
  replays: replays.length,
  tailSeconds: { median: +median(replays.map((r) => r.tailSeconds)).toFixed(3), min: Math.min(...replays.map((r) => r.tailSeconds)), max: Math.max(...replays.map((r) => r.tailSeconds)) },
  tailCpuSeconds: +median(replays.map((r) => r.tailCpuSeconds)).toFixed(2),
  stageSeconds: Object.fromEntries(stages.map((s) => [s, +median(replays.map((r) => r.stageSeconds[s] ?? 0)).toFixed(3)])),
}));
