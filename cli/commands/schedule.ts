/**
 * `neurox schedule add|list|remove`: scheduled re-analysis of a corpus on
 * BullMQ job schedulers (workers/schedule/). Each tick is a run of its own
 * (`<name>-<tick time>`); `neurox worker` processes the ticks, and the
 * schedule's `latest` pointer (`schedules/<name>/latest.json` in the store)
 * moves when a tick's run completes.
 */
import type { Command } from 'commander';
import { addAnalysisOptions, analysisRequest, type AnalysisFlags } from './analyze.ts';
import { storeUrlFrom } from './url.ts';

interface AddOptions extends AnalysisFlags {
  corpus: string;
  output?: string;
  cron?: string;
  tz?: string;
  every?: string;
}

async function withQueue<T>(fn: (queue: import('bullmq').Queue) => Promise<T>): Promise<T> {
  const { Queue } = await import('bullmq');
  const { errorsThroughCalls, producerConnection, queueConfigFromEnv, redisError } = await import('../../workers/queue/connection.ts');
  const { SCHEDULE_QUEUE } = await import('../../workers/schedule/schedules.ts');
  const config = queueConfigFromEnv();
  const connection = producerConnection(config);
  const queue = errorsThroughCalls(new Queue(SCHEDULE_QUEUE, { connection, prefix: config.prefix }));
  try {
    return await fn(queue);
  } catch (err) {
    throw redisError(err, config);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

function describeTiming(s: { cron?: string; tz?: string; everyMs?: number }): string {
  if (s.cron) return `cron "${s.cron}"${s.tz ? ` (${s.tz})` : ''}`;
  return `every ${s.everyMs} ms`;
}

export function register(program: Command): void {
  const schedule = program.command('schedule').description('Re-analyse a corpus on a schedule (BullMQ job schedulers; Redis from REDIS_URL)');

  addAnalysisOptions(
    schedule
      .command('add')
      .description("Create or replace a schedule: each tick analyses the corpus as a new run (<name>-<tick time>) and moves the schedule's latest pointer")
      .argument('<name>', 'schedule name (letters, digits, . _ -)')
      .requiredOption('--corpus <url>', 'the corpus to re-read at every tick: s3://bucket/key or a path the workers can read')
      .option('--output <url>', 'store for the runs and the activation cache, as the workers reach it (default: $NEUROX_OUTPUT)')
      .option('--cron <pattern>', 'cron pattern, 5 fields (minute hour day month weekday) or 6 with seconds first, e.g. "0 3 * * *"')
      .option('--tz <zone>', 'time zone of the cron pattern (IANA name; default UTC)')
      .option('--every <duration>', 'a fixed interval instead of --cron: 90s, 15m, 6h, 1d (the first run starts at once)'),
    { hideName: true },
  )
    .addHelpText('after', '\nThe analysis flags are those of neurox submit (--name excepted).\nExample:\n  neurox schedule add nightly --corpus s3://bucket/corpus.txt --cron "0 3 * * *" --output s3://bucket/neurox')
    .action(async (name: string, opts: AddOptions) => {
      const { InputError } = await import('../../pipelines/errors.ts');
      const { parseEvery } = await import('../../workers/schedule/cron.ts');
      const { addSchedule } = await import('../../workers/schedule/schedules.ts');
      const { absoluteUrl } = await import('../../workers/stages/context.ts');
      if ((opts.cron === undefined) === (opts.every === undefined)) throw new InputError('give exactly one of --cron and --every');
      if (opts.tz !== undefined && opts.cron === undefined) throw new InputError('--tz goes with --cron');
      if (opts.name !== undefined) throw new InputError(`--name cannot be used with a schedule: its runs are named '${name}-<tick time>'`);
      const repeat = opts.cron !== undefined ? { cron: opts.cron, tz: opts.tz } : { everyMs: parseEvery(opts.every!) };
      const { version: _v, ...analysis } = analysisRequest(absoluteUrl(opts.corpus), absoluteUrl(storeUrlFrom(opts.output)), opts);
      const info = await withQueue((queue) => addSchedule(queue, { name, repeat, analysis }));
      process.stdout.write(`schedule ${info.name}: ${describeTiming(info)}, next run ${info.next ? info.next.toISOString() : 'none'}\n`);
    });

  schedule
    .command('list')
    .description('List the schedules with their timing, next tick, corpus and latest completed run')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const { listSchedules } = await import('../../workers/schedule/schedules.ts');
      const { readLatest } = await import('../../workers/schedule/processor.ts');
      const { storeFor } = await import('../../workers/stages/context.ts');
      const list = await withQueue((queue) => listSchedules(queue));
      const rows = await Promise.all(
        list.map(async (s) => {
          const latest = s.tick ? await readLatest(storeFor(s.tick.analysis.output), s.name).catch((err: unknown) => ({ error: (err as Error).message })) : null;
          return { ...s, latest };
        }),
      );
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write('no schedules\n');
        return;
      }
      for (const r of rows) {
        const latest = r.latest === null ? 'none yet' : 'error' in r.latest ? `unreadable (${r.latest.error})` : `${r.latest.runId} (completed ${r.latest.completedAt})`;
        process.stdout.write(
          `${r.name}\t${describeTiming(r)}\tnext ${r.next ? r.next.toISOString() : 'none'}\tcorpus ${r.tick?.analysis.corpus ?? '?'}\tmodel ${r.tick?.analysis.model ?? '?'}\tlatest ${latest}\n`,
        );
      }
    });

  schedule
    .command('remove')
    .description('Stop a schedule: no more ticks; runs already made (and their results) stay')
    .argument('<name>', 'schedule name')
    .action(async (name: string) => {
      const { removeSchedule } = await import('../../workers/schedule/schedules.ts');
      await withQueue((queue) => removeSchedule(queue, name));
      process.stdout.write(`schedule ${name} removed; its past runs are kept\n`);
    });
}
