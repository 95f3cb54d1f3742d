/**
 * The body of a stage thread (threads.ts): runs each job (or shard to store)
 * it is sent with a default context and replies with the result or the
 * error. Module state (stores, the type-scores reducer, the shard encoder's
 * memory) lives as long as the thread.
 */
import { parentPort, threadId } from 'node:worker_threads';
import { defaultContext } from '../stages/context.ts';
import { storeShard } from '../stages/extract.ts';
import { runStage } from '../stages/index.ts';
import { warmTypeScores } from '../stages/typeScores.ts';
import { serializeError, type ThreadReply, type ThreadRequest } from './threads.ts';

const port = parentPort;
if (!port) throw new Error('threadMain.ts runs in a worker thread (workers/runner/threads.ts starts it)');

port.on('message', (request: ThreadRequest) => {
  const reply = (m: ThreadReply): void => port.postMessage(m);
  const { id } = request;
  const ctx = defaultContext({ log: (message) => reply({ id, kind: 'log', message }) });
  const work = (async () => {
    switch (request.task) {
      case 'stage':
        return runStage(ctx, request.stage, request.data);
      case 'store-shard':
        return storeShard(ctx, request.job, request.shard);
      case 'warm-type-scores':
        warmTypeScores(request.shape);
        return threadId;
    }
  })();
  work.then(
    (result) => reply({ id, kind: 'result', result }),
    (err: unknown) => reply({ id, kind: 'error', error: serializeError(err) }),
  );
});
