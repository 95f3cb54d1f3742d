/**
 * Reading and writing a run's manifest. Only the run's root job (or the
 * embedded runner) writes it, at stage transitions: one writer at a time.
 */
import { InputError, NotFoundError } from '../../pipelines/errors.ts';
import { runKeys } from '../../pipelines/keys.ts';
import type { ObjectStore } from '../../pipelines/ports.ts';
import { ManifestV1, type Manifest, type StageStatus } from '../../schemas/manifest.ts';
import type { Stage } from '../../pipelines/plan.ts';
import type { z } from 'zod';
import { parsePayload } from '../../schemas/validate.ts';

export async function readManifest(store: ObjectStore, runId: string): Promise<Manifest> {
  const key = runKeys(runId).manifest;
  let text: string;
  try {
    text = new TextDecoder().decode(await store.get(key));
  } catch (err) {
    if (err instanceof NotFoundError) throw new NotFoundError(store.location + key, `run '${runId}' has no manifest at ${store.location}${key}`);
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${store.location}${key}: not JSON: ${(err as Error).message}`);
  }
  const r = ManifestV1.safeParse(json);
  if (!r.success) throw new InputError(`${store.location}${key}: not a version 1 manifest: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`);
  return r.data;
}

/** `null` when the run has no manifest yet. */
export async function findManifest(store: ObjectStore, runId: string): Promise<Manifest | null> {
  return (await store.head(runKeys(runId).manifest)) ? await readManifest(store, runId) : null;
}

export async function writeManifest(store: ObjectStore, manifest: Manifest): Promise<void> {
  await store.put(runKeys(manifest.runId).manifest, `${JSON.stringify(manifest, null, 1)}\n`, { contentType: 'application/json' });
}

/** The manifest with the given stages set to `status` (others unchanged). */
export function withStages(m: Manifest, status: StageStatus, names: readonly Stage[], now: Date): Manifest {
  return { ...m, updatedAt: now.toISOString(), stages: m.stages.map((s) => (names.includes(s.name) ? { ...s, status } : s)) };
}

/** JSON of a small object, for run records. */
export function jsonBytes(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/** Reads a JSON object and parses it with `schema`; InputError naming the key and field when malformed. */
export async function readJson<S extends z.ZodType>(store: ObjectStore, key: string, schema: S): Promise<z.output<S>> {
  const text = new TextDecoder().decode(await store.get(key));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${store.location}${key}: not JSON: ${(err as Error).message}`);
  }
  return parsePayload(schema, json, `${store.location}${key}`);
}
