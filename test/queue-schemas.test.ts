import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnalysisJobV1 } from '../schemas/analysis.ts';
import { ExtractJobV1 } from '../schemas/jobs.ts';
import { ManifestV1, PlanV1 } from '../schemas/manifest.ts';
import { jsonSchemas, JSON_SCHEMA_DIR } from '../schemas/export.ts';
import { parsePayload } from '../schemas/validate.ts';
import { InputError } from '../pipelines/errors.ts';
import { DEFAULT_RUN_OPTIONS, planRun, splitCorpus } from '../pipelines/plan.ts';

describe('queue schemas', () => {
  it('has committed JSON Schemas that match the zod schemas (run `npx tsx schemas/export.ts` after a change)', () => {
    const expected = jsonSchemas();
    const committed = readdirSync(JSON_SCHEMA_DIR).filter((f) => f.endsWith('.json')).sort();
    expect(committed).toEqual(Object.keys(expected).sort());
    for (const [file, text] of Object.entries(expected)) {
      expect(readFileSync(join(JSON_SCHEMA_DIR, file), 'utf8'), file).toBe(text);
    }
  });

  it("lists every exported schema in the README's queue API table, and only those", () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### The queue API'), readme.indexOf('\n## ', readme.indexOf('### The queue API')));
    const listed = [...section.matchAll(/^\| `([a-z0-9.-]+\.json)` \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(Object.keys(jsonSchemas()).sort());
    // the public queues' payloads are among them (render-text jobs, schedule ticks)
    expect(listed).toEqual(expect.arrayContaining(['render-text-job.v1.json', 'render-text-result.v1.json', 'schedule-tick.v1.json', 'schedule-latest.v1.json']));
  });

  it('fills every option default from a minimal analysis payload', () => {
    const job = parsePayload(AnalysisJobV1, { version: 1, corpus: 's3://b/c.txt', output: 's3://b/out' }, 'analysis job');
    expect(job.model).toBe('use-lite');
    expect(job.options).toEqual({
      aggregation: 'last',
      includeSpecialTokens: false,
      ignoreEmbeddings: false,
      dtype: 'float32',
      batchSize: 16,
      shardSentences: 256,
      blockNeurons: 256,
      topK: 50,
      minThreshold: 0.1,
      topSentences: 10,
      histogramBins: 32,
      render: { topVariance: 64 },
      textDirection: 'ltr',
    });
  });

  it('fails malformed payloads as bad input naming the field', () => {
    const bad = (data: unknown): string => {
      try {
        parsePayload(AnalysisJobV1, data, 'analysis job');
      } catch (err) {
        expect(err).toBeInstanceOf(InputError);
        return (err as Error).message;
      }
      throw new Error('expected a failure');
    };
    expect(bad({ version: 1, corpus: 'c', output: 'o', options: { topK: -1 } })).toMatch(/^analysis job: field options\.topK: /);
    expect(bad({ version: 1, corpus: 'c', output: 'o', options: { aggregation: 'max' } })).toMatch(/field options\.aggregation/);
    expect(bad({ version: 1, output: 'o' })).toMatch(/field corpus/);
    expect(bad({ version: 1, corpus: 'c', output: 'o', extra: 1 })).toMatch(/analysis job: field \(payload\): Unrecognized key/);
    expect(bad({ version: 2, corpus: 'c', output: 'o' })).toBe('analysis job: field version: 2 is not supported (this worker reads version 1)');
    expect(bad({ version: 1, corpus: 'c', output: 'o', runName: 'a/b' })).toMatch(/field runName/);
    expect(() => parsePayload(ExtractJobV1, { version: 1, runId: 'r' }, 'extract job')).toThrow(/^extract job: field output/);
  });

  it('describes a real plan and manifest', () => {
    const plan = planRun({
      corpusUrl: 'memory://x/c.txt',
      corpus: splitCorpus('a b\nc d\n', 1),
      modelSpec: 'm',
      model: { id: 'm@1', nLayers: 2, dModel: 4, maxLength: 8 },
      layers: [0, 1],
      extract: { aggregation: 'last', includeSpecialTokens: false, ignoreEmbeddings: false, batchSize: 1, dtype: 'float32' },
      options: DEFAULT_RUN_OPTIONS,
    });
    const roundTrip = PlanV1.parse(JSON.parse(JSON.stringify(plan)));
    expect(roundTrip).toEqual(plan);
    const request = AnalysisJobV1.parse({ version: 1, corpus: 'c', output: 'o' });
    const manifest = {
      version: 1,
      runId: plan.runId,
      status: 'running',
      createdAt: new Date(0).toISOString(),
      updatedAt: new Date(0).toISOString(),
      request,
      versions: { package: '0.1.0', plan: 1, shardFormat: 1, manifest: 1 },
      plan,
      stages: [{ name: 'extract', total: 2, status: 'pending' }],
      outputs: { neuronStats: 'a', topWords: 'b', topSentences: 'c', histograms: 'd', index: 'e' },
    };
    expect(ManifestV1.parse(JSON.parse(JSON.stringify(manifest)))).toEqual(manifest);
  });
});
