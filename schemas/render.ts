/**
 * Render jobs: per neuron block (a run's top sentences and plots), the
 * run's browsable index, and ad-hoc renders of given text with a run's model
 * (NeuroX's TransformersVisualizer as a service; a public queue).
 */
import { z } from 'zod';

const int = z.int().min(0);
const key = z.string().min(1);

/** Which neurons a run renders (pipelines/renderSelection.ts). */
export const RenderSelectionV1 = z.union([
  z.literal('all'),
  z.literal('none'),
  z.object({ topVariance: int.describe('the N neurons with the highest variance') }).strict(),
  z.object({ neurons: z.array(z.string().regex(/^\d+:\d+$/)).min(1).readonly().describe('layer:neuron, model layer numbering (0 = embedding output)') }).strict(),
]);

const RunRef = {
  runId: z.string().min(1),
  output: z.string().min(1),
};

export const RenderJobV1 = z
  .object({
    version: z.literal(1),
    ...RunRef,
    block: int,
    /** Global neurons of the block to render, ascending (none: the job only records the block as done). */
    neurons: z.array(int).max(100_000),
  })
  .strict();
export type RenderJob = z.output<typeof RenderJobV1>;

export const RenderResultV1 = z.object({ version: z.literal(1), runId: z.string(), block: int, neurons: int, files: int }).strict();
export type RenderResult = z.output<typeof RenderResultV1>;

export const RenderIndexJobV1 = z.object({ version: z.literal(1), ...RunRef }).strict();
export type RenderIndexJob = z.output<typeof RenderIndexJobV1>;

export const RenderIndexResultV1 = z
  .object({ version: z.literal(1), runId: z.string(), neurons: int, rendered: int, files: int, html: key })
  .strict();
export type RenderIndexResult = z.output<typeof RenderIndexResultV1>;

/** The public queue for ad-hoc renders, and its job name. */
export const RENDER_TEXT_QUEUE = 'render-text';
export const RENDER_TEXT_JOB = 'render-text';

export const RenderTextJobV1 = z
  .object({
    version: z.literal(1),
    runId: RunRef.runId.describe('A completed run: its model, extraction options and colour scales are used.'),
    output: RunRef.output.describe('Store URL of the run (s3://bucket/prefix, file:///abs/dir); the SVGs are written there.'),
    sentences: z.array(z.string().min(1).max(10_000)).min(1).max(1000).describe("Sentences to render, space-separated words (NeuroX's format)."),
    neurons: z.array(z.string().regex(/^\d+:\d+$/)).min(1).max(1000).describe('layer:neuron, model layer numbering (0 = embedding output).'),
    textDirection: z.enum(['ltr', 'rtl']).default('ltr').describe('rtl for right-to-left scripts: each line laid out right to left.'),
  })
  .strict()
  .meta({ id: 'RenderTextJobV1', title: 'neurox ad-hoc render job, version 1' });
export type RenderTextJob = z.output<typeof RenderTextJobV1>;
export type RenderTextJobInput = z.input<typeof RenderTextJobV1>;

export const RenderTextResultV1 = z
  .object({
    version: z.literal(1),
    runId: z.string(),
    output: z.string().describe('Store URL the keys are relative to.'),
    request: z.string().describe('Hash of the request: the folder of its SVGs.'),
    prefix: z.string().describe('Key prefix of every SVG of this request (and its request.json).'),
    files: z.array(z.object({ sentence: int, layer: int, neuron: int, key }).strict()).describe('One SVG per sentence and neuron: sentence index in the request, model layer, neuron within it, key.'),
  })
  .strict()
  .meta({ id: 'RenderTextResultV1', title: 'neurox ad-hoc render result, version 1' });
export type RenderTextResult = z.output<typeof RenderTextResultV1>;
