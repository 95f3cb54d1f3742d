/**
 * `neurox submit`: put an analysis on the queue (REDIS_URL) and print its run
 * id. A local corpus is uploaded next to the run (content-addressed), so any
 * worker can read it; an empty corpus is refused before any job exists.
 */
import type { Command } from 'commander';
import { addAnalysisOptions, analysisRequest, type AnalysisFlags } from './analyze.ts';

interface Options extends AnalysisFlags {
  output?: string;
  wait?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('submit')
    .description('Queue an analysis for the workers and print its run id')
    .argument('<corpus>', 'a local file (uploaded to the output store) or s3://bucket/key');
  addAnalysisOptions(cmd)
    .option('--output <url>', 'store for the cache and the run, as the workers reach it (default $NEUROX_OUTPUT)')
    .option('--wait', 'wait for the run to finish and print its result')
    .addHelpText(
      'after',
      `
Submitting the same analysis again prints the same run id (and the state of
the existing run) instead of starting a second one; give --name for a new run.

Example:
  neurox submit corpus.txt --model use-lite --output s3://analyses/team-a
  neurox status <run>`,
    )
    .action(async (corpus: string, o: Options) => {
      const output = o.output ?? process.env.NEUROX_OUTPUT;
      if (!output) throw new Error('--output is required (or set NEUROX_OUTPUT): the store the workers write the run to');
      const { queueConfigFromEnv } = await import('../../workers/queue/connection.ts');
      const { submitAnalysis } = await import('../../workers/runner/submit.ts');
      const config = queueConfigFromEnv();
      const s = await submitAnalysis(config, analysisRequest(corpus, output, o));
      process.stdout.write(`${s.runId}\n`);
      if (s.existing) process.stderr.write(`run ${s.runId} was already submitted (${s.existing}); use --name for a new run\n`);
      if (!o.wait) return;
      const { waitForRun } = await import('../../workers/runner/status.ts');
      const result = await waitForRun(config, s.runId);
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });
}
