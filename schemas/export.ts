/**
 * Writes the public schemas as JSON Schema (draft 2020-12) to schemas/json/,
 * for producers and consumers in other languages. Run after changing a
 * schema: `npx tsx schemas/export.ts`; a test fails while the committed
 * files are stale.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AnalysisJobV1, AnalysisResultV1 } from './analysis.ts';
import { ManifestV1 } from './manifest.ts';
import { RenderTextJobV1, RenderTextResultV1 } from './render.ts';
import { LatestPointerV1, ScheduleTickV1 } from './schedule.ts';

/** File name -> JSON text. Payloads are described as producers write them (defaults optional), results as they are read. */
export function jsonSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (name: string, schema: z.ZodType, io: 'input' | 'output'): void => {
    out[`${name}.json`] = `${JSON.stringify(z.toJSONSchema(schema, { io, target: 'draft-2020-12' }), null, 2)}\n`;
  };
  add('analysis-job.v1', AnalysisJobV1, 'input');
  add('analysis-result.v1', AnalysisResultV1, 'output');
  add('manifest.v1', ManifestV1, 'output');
  add('render-text-job.v1', RenderTextJobV1, 'input');
  add('render-text-result.v1', RenderTextResultV1, 'output');
  add('schedule-tick.v1', ScheduleTickV1, 'input');
  add('schedule-latest.v1', LatestPointerV1, 'output');
  return out;
}

export const JSON_SCHEMA_DIR = join(import.meta.dirname, 'json');

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  for (const [file, text] of Object.entries(jsonSchemas())) {
    writeFileSync(join(JSON_SCHEMA_DIR, file), text);
    process.stdout.write(`wrote schemas/json/${file}\n`);
  }
}
