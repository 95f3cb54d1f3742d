/**
 * `neurox visualize`: NeuroX's TransformersVisualizer from the command line:
 * run a model on one sentence and write the SVG of one neuron's activations.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseNumber } from '../errors.ts';
import { parseAggregation } from '../extractionFlags.ts';
import { addRenderFlags, renderOptionsOf, type RenderFlags } from './render.ts';

interface Options extends RenderFlags {
  model: string;
  layer: string;
  neuron: string;
  aggregation: string;
  threads?: string;
  cacheDir?: string;
  out: string;
}

export function register(program: Command): void {
  const command = program
    .command('visualize')
    .description("NeuroX's TransformersVisualizer: run a model on a sentence and write an SVG of one neuron's activations")
    .argument('<sentence>', 'the sentence; words are separated by single spaces')
    .option('--model <spec>', 'a model folder in the transformers.js layout, a hub id, or use-lite', 'use-lite')
    .requiredOption('--layer <l>', 'layer (0 = embedding output)')
    .requiredOption('--neuron <n>', 'neuron within the layer')
    .option('--aggregation <how>', 'subword pieces to word: first, last or average', 'last');
  addRenderFlags(command)
    .option('--threads <n>', 'ONNX Runtime threads')
    .option('--cache-dir <dir>', 'where edited models are cached')
    .requiredOption('--out <file.svg>', "where to write the SVG ('-' for stdout)")
    .addHelpText(
      'after',
      `
A sentence longer than the model's maximum renders the words that fit.

Examples:
  neurox visualize --model models/bert-base-uncased --layer 5 --neuron 767 --out s.svg "This is a test"
  neurox visualize --layer 2 --neuron 10 --filter top_tokens --out - "The quick brown fox"`,
    )
    .action(async (sentence: string, o: Options) => {
      await run(sentence, o);
    });
}

async function run(sentence: string, o: Options): Promise<void> {
  const layer = parseNumber('--layer', o.layer, { integer: true, min: 0 });
  const neuron = parseNumber('--neuron', o.neuron, { integer: true, min: 0 });
  const aggregation = parseAggregation(o.aggregation);
  const options = renderOptionsOf(o, `layer ${layer} · neuron ${neuron}`); // bad flags fail before the model loads
  const threads = o.threads === undefined ? undefined : parseNumber('--threads', o.threads, { integer: true, min: 1 });
  const { TransformersVisualizer } = await import('../../workers/models/visualizer.ts');
  const visualizer = await TransformersVisualizer.load(o.model, { aggregation, ...(threads ? { threads } : {}), ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}) });
  let svg: string;
  try {
    svg = await visualizer.visualize(sentence, layer, neuron, options);
  } finally {
    await visualizer.close();
  }
  if (o.out === '-') process.stdout.write(`${svg}\n`);
  else await writeFile(o.out, svg);
}
