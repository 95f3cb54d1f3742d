/**
 * The sandboxed processor of every stage queue: runs in a child process
 * (BullMQ's sandbox), so CPU-bound stages never block the worker's event
 * loop and its lock renewals. The child keeps its loaded models between jobs.
 * Dispatches on the job name (= the stage).
 */
import type { SandboxedJob } from 'bullmq';
import { InputError } from '../../pipelines/errors.ts';
import { defaultContext, storeFor } from '../stages/context.ts';
import { isWorkStage, runStage } from '../stages/index.ts';
import { asBullError } from './errors.ts';
import { parsePauses, pausingStore } from './testPause.ts';

// A worker killed with SIGKILL cannot stop its children: exit with it (the
// job is then recovered as stalled) instead of running on as an orphan.
process.on('disconnect', () => process.exit(1));

let lastProgress = 0;
const pauses = parsePauses(process.env.NEUROX_TEST_PAUSE);

export default async function processStage(job: SandboxedJob): Promise<unknown> {
  try {
    if (!isWorkStage(job.name)) throw new InputError(`job ${job.id}: unknown stage '${job.name}'`);
    const name = job.name;
    const stores = new Map<string, ReturnType<typeof storeFor>>();
    const ctx = defaultContext({
      store: (url) => {
        let s = stores.get(url);
        if (!s) {
          s = pausingStore(storeFor(url), name, pauses, (n) => process.stdout.write(`${name} ${job.id}: pausing after write ${n}\n`), job.attemptsMade);
          stores.set(url, s);
        }
        return s;
      },
      progress: (fraction) => {
        const now = Date.now();
        if (now - lastProgress < 1000 && fraction < 1) return;
        lastProgress = now;
        void job.updateProgress(Math.round(fraction * 100)).catch(() => {});
      },
      log: (message) => process.stdout.write(`${job.name} ${job.id}: ${message}\n`),
    });
    return await runStage(ctx, job.name, job.data);
  } catch (err) {
    throw asBullError(err);
  }
}
