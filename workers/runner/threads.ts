/**
 * Stage jobs on worker threads: the embedded runner's way to use every core
 * for the stages that parallelise by job (pass 2's neuron blocks). Each
 * thread runs `runStage` with a default context (stores opened by URL in the
 * thread), keeps its module state between jobs (the type-scores reducer and
 * its buffers), and sends back the job's result, its log lines, or its error
 * (InputError and NotFoundError keep their class, so the run fails the same
 * way as in-process).
 *
 * Only stores every thread can open by URL (file://, s3://) can be shared:
 * `canShareStore` says which. A thread that dies (out of memory, a crash in
 * native code) fails the jobs it held with the reason.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InputError, NotFoundError } from '../../pipelines/errors.ts';
import type { ExtractJob, ExtractResult } from '../../schemas/jobs.ts';
import { urlScheme } from '../store/index.ts';
import type { ExtractedShard } from '../stages/extract.ts';
import type { WorkStage } from '../stages/index.ts';
import type { TypeScoresWarmUp } from '../stages/typeScores.ts';
import { entryPoint, type Bundle, type EntryPoint } from './compiled.ts';

/** Messages between the pool and a thread: a stage job, or the storing half of an extract job (its payload and the model's output). */
export type ThreadRequest =
  | { readonly id: number; readonly task: 'stage'; readonly stage: WorkStage; readonly data: unknown }
  | { readonly id: number; readonly task: 'store-shard'; readonly job: ExtractJob; readonly shard: ExtractedShard }
  | { readonly id: number; readonly task: 'warm-type-scores'; readonly shape: TypeScoresWarmUp };
export type ThreadReply =
  | { readonly id: number; readonly kind: 'result'; readonly result: unknown }
  | { readonly id: number; readonly kind: 'error'; readonly error: SerializedError }
  | { readonly id: number; readonly kind: 'log'; readonly message: string };

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string | undefined;
  readonly what?: string | undefined;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof NotFoundError) return { name: err.name, message: err.message, stack: err.stack, what: err.what };
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: 'Error', message: String(err) };
}

/** The error a thread threw, as the same class where it matters (the retry decision and the CLI's exit code read it). */
export function deserializeError(e: SerializedError): Error {
  const err = e.name === 'InputError' ? new InputError(e.message) : e.name === 'NotFoundError' ? new NotFoundError(e.what ?? e.message, e.message) : new Error(e.message);
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
}

/** True when a worker thread opens the same store from `url` (a memory:// store lives in one thread's heap). */
export function canShareStore(url: string): boolean {
  const scheme = urlScheme(url);
  return scheme === undefined || scheme === 'file' || scheme === 's3';
}

interface Pending {
  readonly request: ThreadRequest;
  /** The slot that must run it (undefined: the first free one). */
  readonly slot: number | undefined;
  readonly transfer: readonly ArrayBuffer[];
  readonly resolve: (result: unknown) => void;
  readonly reject: (err: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  job: Pending | null;
  dead: Error | null;
}

export interface StageThreadsOptions {
  /** Log lines of the jobs (the embedded runner's context log). */
  readonly log?: (message: string) => void;
  /** What the threads run (`threadEntry`); default: threadMain.ts through the TypeScript loader. */
  readonly entry?: EntryPoint;
}

/** The stage threads' bundle (`npm run bundle` builds it ahead of a first run). */
export const STAGE_THREAD_BUNDLE: Bundle = { source: fileURLToPath(new URL('./threadMain.ts', import.meta.url)), name: 'stage-thread' };
const LOADER_ENTRY: EntryPoint = { url: new URL('./thread.mjs', import.meta.url), execArgv: process.execArgv };

/** The stage threads' entry (compiled.ts `entryPoint`): the bundle of threadMain.ts, or thread.mjs through tsx. */
export function threadEntry(log: (message: string) => void = () => {}): Promise<EntryPoint> {
  return entryPoint(STAGE_THREAD_BUNDLE, LOADER_ENTRY.url, log);
}

/** A fixed pool of threads; `run` queues a job and settles with its result. Threads start loading at once. */
export class StageThreads {
  private readonly slots: Slot[];
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private closed = false;

  constructor(
    readonly size: number,
    private readonly options: StageThreadsOptions = {},
  ) {
    if (!Number.isInteger(size) || size < 1) throw new InputError(`stage threads: ${size} is not a positive integer`);
    this.slots = Array.from({ length: size }, () => this.spawn());
  }

  private spawn(): Slot {
    const entry = this.options.entry ?? LOADER_ENTRY;
    const worker = new Worker(entry.url, { execArgv: [...entry.execArgv] });
    const slot: Slot = { worker, job: null, dead: null };
    worker.on('message', (m: ThreadReply) => this.onReply(slot, m));
    const die = (err: Error): void => {
      if (slot.dead) return;
      slot.dead = err;
      const job = slot.job;
      slot.job = null;
      job?.reject(err);
      // the others can still take the queue (not what only this thread could run); with none left, fail it
      const i = this.slots.indexOf(slot);
      const all = this.slots.every((s) => s.dead);
      for (const p of this.queue.filter((q) => all || q.slot === i)) {
        this.queue.splice(this.queue.indexOf(p), 1);
        p.reject(err);
      }
    };
    worker.on('error', (err) => die(new Error(`stage thread failed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) die(new Error(`stage thread exited with code ${code}`));
    });
    // an idle pool never keeps the process alive
    worker.unref();
    return slot;
  }

  private onReply(slot: Slot, m: ThreadReply): void {
    const job = slot.job;
    if (!job || job.request.id !== m.id) return;
    if (m.kind === 'log') {
      this.options.log?.(m.message);
      return;
    }
    slot.job = null;
    slot.worker.unref();
    if (m.kind === 'result') job.resolve(m.result);
    else job.reject(deserializeError(m.error));
    this.dispatch();
  }

  private dispatch(): void {
    for (const [i, slot] of this.slots.entries()) {
      if (this.queue.length === 0) return;
      if (slot.job || slot.dead) continue;
      const at = this.queue.findIndex((p) => p.slot === undefined || p.slot === i);
      if (at < 0) continue;
      const job = this.queue.splice(at, 1)[0]!;
      slot.job = job;
      slot.worker.ref(); // a job in flight keeps the process alive
      slot.worker.postMessage(job.request, job.transfer as ArrayBuffer[]);
    }
  }

  /** Runs one stage job on the first free thread. */
  run(stage: WorkStage, data: unknown): Promise<unknown> {
    return this.submit({ id: this.nextId++, task: 'stage', stage, data }, []);
  }

  /**
   * Stores an extracted shard (extract.ts `storeShard`) on the first free
   * thread. The sentences' activations move to the thread (their buffers are
   * transferred, not copied): `shard` is unusable here afterwards.
   */
  storeShard(job: ExtractJob, shard: ExtractedShard): Promise<ExtractResult> {
    const buffers = new Set<ArrayBuffer>();
    for (const s of shard.sentences) if (s.data.buffer instanceof ArrayBuffer) buffers.add(s.data.buffer);
    return this.submit({ id: this.nextId++, task: 'store-shard', job, shard }, [...buffers]) as Promise<ExtractResult>;
  }

  /**
   * Readies every live thread for pass 2 (typeScores.ts `warmTypeScores`),
   * each after the jobs it already holds; settles with their thread ids when
   * all are ready.
   */
  async warmTypeScores(shape: TypeScoresWarmUp): Promise<number[]> {
    const live = this.slots.flatMap((s, i) => (s.dead ? [] : [i]));
    return (await Promise.all(live.map((i) => this.submit({ id: this.nextId++, task: 'warm-type-scores', shape }, [], i)))) as number[];
  }

  private submit(request: ThreadRequest, transfer: readonly ArrayBuffer[], slot?: number): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('stage threads: closed'));
    const alive = this.slots.find((s) => !s.dead);
    if (!alive) return Promise.reject(this.slots[0]!.dead!);
    return new Promise((resolve, reject) => {
      this.queue.push({ request, slot, transfer, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops the threads; queued and running jobs are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('stage threads: closed');
    for (const p of this.queue.splice(0)) p.reject(err);
    for (const s of this.slots) s.job?.reject(err);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
