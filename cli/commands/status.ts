/**
 * `neurox status RUN`: per-stage progress, failures with their reasons, and
 * where the results are. Asks the queue (REDIS_URL) and the run's store; an
 * embedded run, or one whose jobs have expired, needs --output.
 */
import type { Command } from 'commander';

interface Options {
  output?: string;
  queue: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('status')
    .description("A run's per-stage progress, failures with reasons, and where its results are")
    .argument('<run>', 'run id (printed by neurox submit or neurox analyze)')
    .option('--output <url>', "the run's store, when the queue does not know the run (embedded runs, expired jobs); default $NEUROX_OUTPUT")
    .option('--no-queue', 'do not ask Redis: read the store only')
    .option('--json', 'print the status as JSON')
    .action(async (run: string, o: Options) => {
      const { queueConfigFromEnv } = await import('../../workers/queue/connection.ts');
      const { runStatus } = await import('../../workers/runner/status.ts');
      const output = o.output ?? process.env.NEUROX_OUTPUT;
      const s = await runStatus(run, { output, queue: o.queue ? queueConfigFromEnv() : null });
      if (o.json) {
        const { manifest, ...rest } = s;
        process.stdout.write(`${JSON.stringify({ ...rest, manifestStatus: manifest?.status ?? null, summary: manifest?.summary ?? null }, null, 2)}\n`);
      } else {
        const lines = [`run ${s.runId}: ${s.state}${s.reason ? `: ${s.reason}` : ''}`];
        if (s.output) lines.push(`  store: ${s.output}`);
        if (s.manifest?.error && s.manifest.error.reason !== s.reason) lines.push(`  error in ${s.manifest.error.stage}${s.manifest.error.job ? ` (${s.manifest.error.job})` : ''}: ${s.manifest.error.reason}`);
        if (s.stages.length > 0) {
          lines.push('  stages:');
          for (const st of s.stages) lines.push(`    ${st.stage.padEnd(15)} ${String(st.done).padStart(6)}/${st.total}`);
        }
        if (s.failures.length > 0) {
          lines.push('  failures:');
          for (const f of s.failures) lines.push(`    ${f.job} (${f.retrying ? `attempt ${f.attemptsMade}, will retry` : `failed after ${f.attemptsMade} attempts`}): ${f.reason}`);
        }
        if (s.outputs && (s.state === 'completed' || s.manifest?.status === 'completed')) {
          lines.push('  results:', `    ${s.outputs.neuronStats}`, `    ${s.outputs.topWords}`, `    ${s.outputs.manifest}`);
        } else if (!s.manifest && !s.output) {
          lines.push('  (no store known for this run: pass --output)');
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (s.state === 'failed' || s.state === 'unknown') process.exitCode = s.state === 'failed' ? 2 : 3;
    });
}
