/**
 * Producing runs on the queue the way `neurox submit` does: check the corpus
 * (an empty one is refused before any job exists), upload a local corpus to
 * the run's store (content-addressed), compute the run id and add the root
 * job with that id, so that submitting the same analysis twice finds the
 * first run instead of starting a second.
 */
import { readFile } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { InputError, NotFoundError } from '../../pipelines/errors.ts';
import { corpusKey } from '../../pipelines/keys.ts';
import { CorpusSplitter, runIdFor } from '../../pipelines/plan.ts';
import { ANALYZE_JOB, AnalysisJobV1, type AnalysisJob, type AnalysisJobInput } from '../../schemas/analysis.ts';
import { parsePayload } from '../../schemas/validate.ts';
import { errorsThroughCalls, producerConnection, redisError, type QueueConfig } from '../queue/connection.ts';
import { ANALYSIS_JOB_OPTIONS, ANALYSIS_QUEUE } from '../queue/names.ts';
import { extractionOptionsOf, runOptionsOf } from '../stages/analyze.ts';
import { absoluteUrl, splitObjectUrl, storeFor } from '../stages/context.ts';
import { urlScheme } from '../store/index.ts';

export interface Submitted {
  readonly runId: string;
  readonly jobId: string;
  /** The request as queued (a local corpus replaced by its uploaded copy). */
  readonly request: AnalysisJob;
  /** `null` when newly added; else the state of the job that already had this id. */
  readonly existing: string | null;
}

function isLocal(url: string): boolean {
  return urlScheme(url) === undefined || url.startsWith('file://');
}

/** The request with its corpus readable by any worker: a local file is uploaded next to the run. */
export async function prepareRequest(input: AnalysisJobInput): Promise<{ request: AnalysisJob; runId: string }> {
  let request = parsePayload(AnalysisJobV1, input, 'analysis request');
  const o = request.options;
  const splitter = new CorpusSplitter(o.shardSentences, request.corpus);
  const output = absoluteUrl(request.output);
  if (isLocal(request.corpus) && !isLocal(output)) {
    const path = request.corpus.startsWith('file://') ? new URL(request.corpus) : request.corpus;
    const bytes = await readFile(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new NotFoundError(String(path), `corpus ${request.corpus} not found`);
      throw err;
    });
    splitter.push(bytes);
    const corpus = splitter.end();
    const key = corpusKey(corpus.hash);
    const store = storeFor(output);
    if (!(await store.head(key))) await store.put(key, bytes, { contentType: 'text/plain; charset=utf-8' });
    request = { ...request, corpus: `${output.replace(/\/+$/, '')}/${key}`, output };
    return { request, runId: idOf(request, corpus.hash) };
  }
  const { storeUrl, key } = splitObjectUrl(absoluteUrl(request.corpus));
  const store = storeFor(storeUrl);
  if (!(await store.head(key))) throw new NotFoundError(request.corpus, `corpus ${request.corpus} not found`);
  for await (const chunk of store.getStream(key)) splitter.push(chunk);
  const corpus = splitter.end();
  request = { ...request, corpus: absoluteUrl(request.corpus), output };
  return { request, runId: idOf(request, corpus.hash) };
}

/** The planner's run id rule, on the request's options (the same as the workers' planAnalysis). */
function idOf(request: AnalysisJob, corpusHash: string): string {
  return runIdFor({ runName: request.runName, corpusHash, modelSpec: request.model, extract: extractionOptionsOf(request), options: runOptionsOf(request) });
}

export async function submitAnalysis(config: QueueConfig, input: AnalysisJobInput): Promise<Submitted> {
  const { request, runId } = await prepareRequest(input);
  // the run id is the job id: the schedules module and other producers use the same rule
  const named: AnalysisJob = { ...request, runName: runId };
  const connection = producerConnection(config);
  const queue = errorsThroughCalls(new Queue(ANALYSIS_QUEUE, { connection, prefix: config.prefix }));
  try {
    const before = await queue.getJob(runId);
    if (before) return { runId, jobId: runId, request: named, existing: await before.getState() };
    const job = await queue.add(ANALYZE_JOB, named, { ...ANALYSIS_JOB_OPTIONS, jobId: runId });
    if (job.id !== runId) throw new InputError(`queue gave job id ${job.id} for run ${runId}`);
    return { runId, jobId: runId, request: named, existing: null };
  } catch (err) {
    throw redisError(err, config);
  } finally {
    await queue.close();
    await connection.quit().catch(() => connection.disconnect());
  }
}
