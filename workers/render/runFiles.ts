/**
 * A finished run as files in a store, for clients (`neurox fetch`, `neurox
 * url`): which run it is, which neurons it has, and the keys of its outputs,
 * found by the documented layout alone (README "Storage layout").
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { InputError, NotFoundError } from '../../pipelines/errors.ts';
import { runKeys } from '../../pipelines/keys.ts';
import type { ObjectStore } from '../../pipelines/ports.ts';
import { renderKeys, renderPaths } from '../../pipelines/renderKeys.ts';
import { globalNeuronIn, parseNeuronRef } from '../../pipelines/renderSelection.ts';
import { parseRunSummary } from '../../pipelines/runIndex.ts';

export interface RunInfo {
  readonly runId: string;
  /** Model layer numbers the run kept, in order. */
  readonly layers: readonly number[];
  readonly dModel: number;
  /** Whether the browsable index (index.html, index.json, index/) exists. */
  readonly indexed: boolean;
}

async function readJsonAt(store: ObjectStore, key: string): Promise<unknown> {
  const text = new TextDecoder().decode(await store.get(key));
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${store.location}${key}: not JSON: ${(err as Error).message}`);
  }
}

/** The run `runId` in `store`; NotFoundError naming the key looked for when there is no such run. */
export async function openRun(store: ObjectStore, runId: string): Promise<RunInfo> {
  const keys = runKeys(runId);
  const manifestKey = keys.manifest;
  const summaryKey = renderKeys(runId).of(renderPaths.summary);
  if (await store.head(summaryKey)) {
    const s = parseRunSummary(await readJsonAt(store, summaryKey), `${store.location}${summaryKey}`);
    return { runId, layers: s.layers.map((l) => l.layer), dModel: s.dModel, indexed: true };
  }
  if (!(await store.head(manifestKey))) {
    throw new NotFoundError(`${store.location}${manifestKey}`, `run '${runId}' not found: ${store.location}${manifestKey} does not exist`);
  }
  // only the fields a client needs, so that a manifest of a later version still opens
  const m = (await readJsonAt(store, manifestKey)) as { plan?: { layers?: unknown; model?: { dModel?: unknown } } } | null;
  const layers = m?.plan?.layers;
  const dModel = m?.plan?.model?.dModel;
  if (!Array.isArray(layers) || !layers.every((l) => Number.isInteger(l)) || !Number.isInteger(dModel)) {
    throw new InputError(`${store.location}${manifestKey}: no plan.layers / plan.model.dModel`);
  }
  return { runId, layers: layers as number[], dModel: dModel as number, indexed: false };
}

/** `"3:127"` checked against the run: InputError naming the layer or neuron that it does not have. */
export function checkNeuron(run: RunInfo, ref: string): { layer: number; neuron: number } {
  const { layer, neuron } = parseNeuronRef(ref);
  try {
    globalNeuronIn(run.layers, run.dModel, layer, neuron);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`run '${run.runId}': ${err.message}`);
    throw err;
  }
  return { layer, neuron };
}

/** Store keys of one neuron's renders (top sentences by rank, then plots); InputError when it has none. */
export async function neuronRenderKeys(store: ObjectStore, run: RunInfo, layer: number, neuron: number): Promise<string[]> {
  const prefix = renderKeys(run.runId).of(renderPaths.neuronPrefix(layer, neuron));
  const keys: string[] = [];
  for await (const o of store.list(prefix)) if (o.key.endsWith('.svg')) keys.push(o.key);
  if (keys.length === 0) {
    throw new InputError(`run '${run.runId}': neuron ${layer}:${neuron} has no renders (only the neurons selected at analysis time are rendered; see the run's index.html)`);
  }
  const rank = (k: string): number => {
    const m = /\/(\d+)\.svg$/.exec(k);
    return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
  };
  return keys.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** The run's tables and records (those that exist): Parquet outputs and the manifest. */
export async function runTableKeys(store: ObjectStore, runId: string): Promise<string[]> {
  const k = runKeys(runId);
  const r = renderKeys(runId);
  const candidates = [k.manifest, k.neuronStats, k.topWords, r.topSentences, r.histograms];
  const out: string[] = [];
  for (const key of candidates) if (await store.head(key)) out.push(key);
  return out;
}

/** Every key of the browsable tree: index.html, index.json, index/ and renders/. */
export async function* browsableKeys(store: ObjectStore, runId: string): AsyncIterable<string> {
  const r = renderKeys(runId);
  for (const path of [renderPaths.html, renderPaths.summary]) if (await store.head(r.of(path))) yield r.of(path);
  for (const sub of ['index/', 'renders/']) for await (const o of store.list(r.of(sub))) yield o.key;
}

/**
 * Copies `keys` (all under the run's prefix) to `outDir`, at their paths
 * relative to the run, so the folder is laid out like `runs/<run>/` and its
 * index.html opens offline. Each file is written whole (temp + rename).
 * Returns the number of files and bytes.
 */
export async function downloadKeys(store: ObjectStore, runId: string, keys: Iterable<string> | AsyncIterable<string>, outDir: string, concurrency = 8): Promise<{ files: number; bytes: number }> {
  const prefix = runKeys(runId).prefix;
  const root = resolve(outDir);
  let files = 0;
  let bytes = 0;
  const queue: string[] = [];
  for await (const k of keys) queue.push(k);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, concurrency) }, async () => {
      for (let i = next++; i < queue.length; i = next++) {
        const key = queue[i]!;
        if (!key.startsWith(prefix)) throw new Error(`fetch: ${key} is not under ${prefix}`);
        const path = resolve(join(root, ...key.slice(prefix.length).split('/')));
        if (!path.startsWith(root + sep)) throw new InputError(`fetch: ${key} would be written outside ${root}`);
        const body = await store.get(key);
        await mkdir(dirname(path), { recursive: true });
        const tmp = `${path}.~partial-${process.pid}`;
        await writeFile(tmp, body);
        await rename(tmp, path);
        files++;
        bytes += body.length;
      }
    }),
  );
  return { files, bytes };
}
