/**
 * What a stage function gets besides its payload (graphile-worker's
 * "helpers"): stores by URL, models by spec, a logger, the abort signal.
 * The embedded runner and the BullMQ processors build one each; the stage
 * functions cannot tell them apart.
 */
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InputError } from '../../pipelines/errors.ts';
import type { Extractor, ObjectStore } from '../../pipelines/ports.ts';
import { openStore, urlScheme } from '../store/index.ts';
import { loadModel } from './models.ts';

export interface StageContext {
  /** The store at `url` (memoised per process). */
  store(url: string): ObjectStore;
  /** The model for `spec` (loaded once per process). */
  model(spec: string): Promise<Extractor>;
  /** Progress within the job, as a fraction in [0, 1]. */
  progress?(fraction: number): void;
  log(message: string): void;
  readonly signal?: AbortSignal | undefined;
}

const stores = new Map<string, ObjectStore>();

/** Memoised `openStore`: one S3 client (connection pool) per bucket and prefix per process. */
export function storeFor(url: string): ObjectStore {
  let s = stores.get(url);
  if (!s) {
    s = openStore(url);
    stores.set(url, s);
  }
  return s;
}

export function defaultContext(over: Partial<StageContext> = {}): StageContext {
  return { store: storeFor, model: (spec) => loadModel(spec), log: () => {}, ...over };
}

/**
 * A single object's URL split into its store and key: `s3://bucket/a/b.txt`
 * -> (`s3://bucket`, `a/b.txt`); `file:///d/c.txt` or a path -> (`file:///d`, `c.txt`);
 * `memory://name/k` -> (`memory://name`, `k`).
 */
export function splitObjectUrl(url: string): { storeUrl: string; key: string } {
  const scheme = urlScheme(url);
  if (scheme === 's3' || scheme === 'memory') {
    const rest = url.slice(scheme.length + 3);
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1) throw new InputError(`'${url}' names no object (expected ${scheme}://${scheme === 's3' ? 'bucket' : 'name'}/key)`);
    return { storeUrl: `${scheme}://${rest.slice(0, slash)}`, key: rest.slice(slash + 1) };
  }
  if (scheme !== undefined && scheme !== 'file') throw new InputError(`'${url}': unsupported scheme '${scheme}:' (use s3://, file:// or a path)`);
  const path = scheme === 'file' ? fileURLToPath(url) : url;
  const abs = fileURLToPath(absoluteUrl(path));
  return { storeUrl: pathToFileURL(dirname(abs)).href, key: abs.slice(dirname(abs).length + 1) };
}

/** A URL that means the same from any working directory: paths become file:// URLs. */
export function absoluteUrl(pathOrUrl: string): string {
  if (urlScheme(pathOrUrl) !== undefined) return pathOrUrl;
  return pathToFileURL(pathOrUrl).href;
}
