/**
 * The body of a stage thread (threads.ts): runs each request it is sent (a
 * job, a shard to store, a warm-up, a shared job queue), one after another in
 * the order sent, with a default context, and replies with the result or the
 * error. Module state (stores, the type-scores reducer, the shard encoder's
 * memory) lives as long as the thread.
 */
import { parentPort, threadId } from 'node:worker_threads';
import { defaultContext } from '../stages/context.ts';
import { storeShard } from '../stages/extract.ts';
import { runStage } from '../stages/index.ts';
import { warmTypeScores } from '../stages/typeScores.ts';
import { claimJob, serializeError, stopJobs, type ThreadReply, type ThreadRequest } from './threads.ts';

const port = parentPort;
if (!port) throw new Error('threadMain.ts runs in a worker thread (workers/runner/threads.ts starts it)');

const reply = (m: ThreadReply): void => port.postMessage(m);

async function handle(request: ThreadRequest): Promise<unknown> {
  const { id } = request;
  const ctx = defaultContext({ log: (message) => reply({ id, kind: 'log', message }) });
  switch (request.task) {
    case 'stage':
      return runStage(ctx, request.stage, request.data);
    case 'store-shard':
      return storeShard(ctx, request.job, request.shard);
    case 'warm-type-scores':
      warmTypeScores(request.shape);
      return threadId;
    case 'stage-queue': {
      const { jobs, next } = request;
      let ran = 0;
      for (let i = claimJob(next, jobs.length); i >= 0; i = claimJob(next, jobs.length)) {
        reply({ id, kind: 'job', index: i, phase: 'start' });
        try {
          await runStage(ctx, request.stage, jobs[i]);
        } catch (err) {
          stopJobs(next, jobs.length); // the other lanes take no more
          throw err;
        }
        reply({ id, kind: 'job', index: i, phase: 'end' });
        ran++;
      }
      return ran;
    }
  }
}

// one request at a time, in the order sent: the pool posts a thread's next
// request while it still runs one (threads.ts `dispatch`)
let queue: Promise<void> = Promise.resolve();
port.on('message', (request: ThreadRequest) => {
  queue = queue.then(() =>
    handle(request).then(
      (result) => reply({ id: request.id, kind: 'result', result }),
      (err: unknown) => reply({ id: request.id, kind: 'error', error: serializeError(err) }),
    ),
  );
});
