/**
 * Payload validation at the boundary: jobs already queued outlive deploys,
 * so every worker parses `job.data` against its versioned schema first and
 * fails a malformed payload as bad input (never retried), naming the field.
 */
import type { z } from 'zod';
import { InputError } from '../pipelines/errors.ts';

function pathOf(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(payload)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** Parses `data` with `schema`; throws InputError `"<what>: field <path>: <message>"` for the first problems. */
export function parsePayload<S extends z.ZodType>(schema: S, data: unknown, what: string): z.output<S> {
  if (data !== null && typeof data === 'object' && 'version' in data) {
    const v = (data as { version: unknown }).version;
    const expected = expectedVersion(schema);
    if (expected !== undefined && v !== expected) {
      throw new InputError(`${what}: field version: ${JSON.stringify(v)} is not supported (this worker reads version ${expected})`);
    }
  }
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const problems = r.error.issues.slice(0, 3).map((i) => `field ${pathOf(i.path)}: ${i.message}`);
  throw new InputError(`${what}: ${problems.join('; ')}`);
}

function expectedVersion(schema: z.ZodType): number | undefined {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  const v = shape?.version as { value?: unknown } | undefined;
  return typeof v?.value === 'number' ? v.value : undefined;
}
