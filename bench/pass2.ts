/**
 * Pass 2 alone, over a kept run: every block's type-scores job, one after
 * another in this thread (one lane), `--rounds` times; seconds and CPU per
 * round, one JSON line. For changes to pass 2's reads and sums without the
 * model's minute per 10x run.
 *   npx tsx bench/pipeline.ts --repeat 10 --keep      # prints "kept <dir>"
 *   npx tsx bench/pass2.ts --out <dir>/out [--rounds 2]
 * The first round reads the activation cache as a run's pass 2 does (from
 * the disk where it was written with direct I/O); later rounds find the
 * process warm.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultContext } from '../workers/stages/context.ts';
import { runStage, typeScoresJobs } from '../workers/stages/index.ts';

const { values: args } = parseArgs({ options: { out: { type: 'string' }, rounds: { type: 'string', default: '2' } } });
if (!args.out) throw new Error('--out: the output folder of a kept bench run (bench/pipeline.ts --keep prints it; add /out)');
const runs = readdirSync(join(args.out, 'runs'));
if (runs.length !== 1) throw new Error(`${args.out}/runs holds ${runs.length} runs, expected one`);
const manifest = JSON.parse(readFileSync(join(args.out, 'runs', runs[0]!, 'manifest.json'), 'utf8'));
const ctx = defaultContext();
const jobs = typeScoresJobs(manifest.plan, args.out);
const rounds: Array<{ seconds: number; cpuSeconds: number }> = [];
for (let r = 0; r < Number(args.rounds); r++) {
  const t = performance.now();
  const c = process.cpuUsage();
  for (const j of jobs) await runStage(ctx, 'type-scores', j.data);
  const cpu = process.cpuUsage(c);
  rounds.push({ seconds: +((performance.now() - t) / 1000).toFixed(2), cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2) });
}
console.log(JSON.stringify({ bench: 'pass2', blocks: jobs.length, shards: manifest.plan.shards.length, rounds }));
