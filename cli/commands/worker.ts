/**
 * `neurox worker`: serves the queues of a fleet (Redis from REDIS_URL,
 * key prefix NEUROX_QUEUE_PREFIX): the public `analysis` queue (runs'
 * root jobs) and the stage queues, whose jobs run in sandboxed child
 * processes. SIGTERM/SIGINT finish the active jobs, then exit; a second
 * signal exits at once (the jobs come back to the queue as stalled).
 */
import type { Command } from 'commander';
import { parseNumber } from '../errors.ts';

interface Options {
  stages?: string;
  concurrency?: string;
  lockMs: string;
  stalledMs: string;
}

export function register(program: Command): void {
  program
    .command('worker')
    .description('Run queue workers against Redis (REDIS_URL): the analysis root jobs, the schedule ticks, and the extract, reduce-moments, type-scores, render, render-index and render-text stages')
    .option('--stages <list>', 'comma-separated queues to serve (default: all): analysis, schedules, extract, reduce-moments, type-scores, render, render-index, render-text')
    .option('--concurrency <n>', 'concurrent extract, type-scores and render jobs (child processes) in this worker; reducers run at most 2; default: the core count')
    .option('--lock-ms <ms>', "job lock duration: a killed worker's jobs are retried after about this long", '10000')
    .option('--stalled-ms <ms>', 'how often to look for stalled jobs', '5000')
    .addHelpText(
      'after',
      `
Environment: REDIS_URL (default redis://127.0.0.1:6379), NEUROX_QUEUE_PREFIX
(default {neurox}), NEUROX_MODEL_THREADS, and the S3 variables of the store.
Scale out by starting more workers on more machines against the same Redis
and bucket; a worker with --stages extract serves only extraction.`,
    )
    .action(async (o: Options) => {
      const { queueConfigFromEnv } = await import('../../workers/queue/connection.ts');
      const { parseRoles, sandboxEntry, startWorkers, WORKER_ROLES } = await import('../../workers/runner/workers.ts');
      const config = queueConfigFromEnv();
      const roles = o.stages === undefined ? [...WORKER_ROLES] : parseRoles(o.stages);
      const concurrency = o.concurrency === undefined ? undefined : parseNumber('--concurrency', o.concurrency, { integer: true, min: 1 });
      const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${line}\n`);
      const running = startWorkers({
        config,
        roles,
        ...(concurrency !== undefined ? { concurrency } : {}),
        lockDurationMs: parseNumber('--lock-ms', o.lockMs, { integer: true, min: 1000 }),
        stalledIntervalMs: parseNumber('--stalled-ms', o.stalledMs, { integer: true, min: 500 }),
        log,
        sandbox: await sandboxEntry(log),
      });
      log(`worker ${process.pid}: serving ${roles.join(', ')} on ${config.redisUrl.replace(/\/\/[^@]*@/, '//***@')} with prefix ${config.prefix}`);
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string): void => {
          if (stopping) {
            log(`worker ${process.pid}: ${signal} again, exiting now`);
            process.exit(130);
          }
          stopping = true;
          log(`worker ${process.pid}: ${signal}: finishing active jobs (send it again to exit at once)`);
          running.close().then(resolve, (err: unknown) => {
            log(`worker ${process.pid}: close failed: ${(err as Error).message}`);
            resolve();
          });
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
      });
      log(`worker ${process.pid}: stopped`);
    });
}
