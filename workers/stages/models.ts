/**
 * Model specs -> extractors, loaded once per process and reused by every job
 * the process runs (a sandboxed extract child keeps its model between jobs).
 *
 * Specs: `use-lite` (the bundled pretrained USE lite, the default),
 * `test-hash:...` (the deterministic test double), or a folder holding an
 * ONNX model and its tokenizer.
 */
import { InputError, NotFoundError } from '../../pipelines/errors.ts';
import type { Extractor } from '../../pipelines/ports.ts';
import { parseTestModelSpec, TEST_MODEL_PREFIX, TestModel } from './testModel.ts';

export const DEFAULT_MODEL = 'use-lite';

export interface ModelLoadOptions {
  /** Intra-op threads for runtimes that use them (default: the environment's NEUROX_MODEL_THREADS, else the runtime's). */
  readonly threads?: number | undefined;
}

const loaded = new Map<string, Promise<Extractor>>();

async function load(spec: string, options: ModelLoadOptions): Promise<Extractor> {
  if (spec.startsWith(TEST_MODEL_PREFIX)) return new TestModel(parseTestModelSpec(spec));
  const { loadExtractor } = await import('../models/index.ts');
  try {
    return await loadExtractor(spec, options.threads !== undefined ? { threads: options.threads } : {});
  } catch (err) {
    if (err instanceof NotFoundError) throw new NotFoundError(spec, `model '${spec}' not found: ${err.message} (use 'use-lite' or a folder with an ONNX model and its tokenizer)`);
    throw err;
  }
}

/** The extractor for `spec`, loaded on first use. A failed load is not cached, so a retry tries again. */
export async function loadModel(spec: string, options: ModelLoadOptions = {}): Promise<Extractor> {
  if (typeof spec !== 'string' || spec.trim() === '') throw new InputError('model spec is empty');
  let p = loaded.get(spec);
  if (!p) {
    const threads = options.threads ?? envThreads();
    p = load(spec, { threads });
    loaded.set(spec, p);
    p.catch(() => loaded.delete(spec));
  }
  return await p;
}

function envThreads(): number | undefined {
  const v = process.env.NEUROX_MODEL_THREADS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`NEUROX_MODEL_THREADS=${JSON.stringify(v)} is not a positive integer`);
  return n;
}

/** Closes every loaded model (graceful shutdown). */
export async function closeModels(): Promise<void> {
  const all = [...loaded.values()];
  loaded.clear();
  for (const p of all) {
    const m = await p.catch(() => null);
    await m?.close();
  }
}
