/**
 * `neurox visualize`: NeuroX's TransformersVisualizer from the command line:
 * run a model on one sentence and write the SVG of one neuron's activations.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseNumber } from '../errors.ts';

interface Options {
  model: string;
  layer: string;
  neuron: string;
  aggregation: string;
  darken?: string;
  colors?: string;
  textDirection?: string;
  charLimit?: string;
  fontSize?: string;
  filter?: string;
  vmin?: string;
  vmax?: string;
  caption?: string;
  legend?: boolean;
  titles: boolean;
  threads?: string;
  cacheDir?: string;
  out: string;
}

export function register(program: Command): void {
  program
    .command('visualize')
    .description("NeuroX's TransformersVisualizer: run a model on a sentence and write an SVG of one neuron's activations")
    .argument('<sentence>', 'the sentence; words are separated by single spaces')
    .option('--model <spec>', 'a model folder in the transformers.js layout, a hub id, or use-lite', 'use-lite')
    .requiredOption('--layer <l>', 'layer (0 = embedding output)')
    .requiredOption('--neuron <n>', 'neuron within the layer')
    .option('--aggregation <how>', 'subword pieces to word: first, last or average', 'last')
    .option('--darken <n>', 'coats of background paint (NeuroX default 2)')
    .option('--colors <neg,pos>', "two colours for negative and positive activations (default '#d35f5f,#00aad4')")
    .option('--text-direction <dir>', 'ltr or rtl (default ltr)')
    .option('--char-limit <n>', 'most characters per line (default 60)')
    .option('--font-size <px>', 'font size in px (default 20)')
    .option('--filter <name>', "top_tokens: paint only tokens with |a| > 0.8 max|a| (NeuroX's filter_fn)")
    .option('--vmin <x>', 'activation painted colors[0] at full strength (default: per sentence)')
    .option('--vmax <x>', 'activation painted colors[1] at full strength')
    .option('--caption <text>', "a label under the text (default 'layer L · neuron N')")
    .option('--legend', 'swatches under the text with the scale')
    .option('--no-titles', 'no per-token hover values (<title>)')
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
  if (o.aggregation !== 'first' && o.aggregation !== 'last' && o.aggregation !== 'average') throw new Error(`--aggregation: expected first, last or average, got '${o.aggregation}'`);
  const colors = o.colors?.split(',').map((c) => c.trim());
  if (colors !== undefined && colors.length !== 2) throw new Error(`--colors: expected two colours 'negative,positive', got '${o.colors}'`);
  if (o.filter !== undefined && o.filter !== 'top_tokens') throw new Error(`--filter: the only filter is top_tokens, got '${o.filter}'`);
  const threads = o.threads === undefined ? undefined : parseNumber('--threads', o.threads, { integer: true, min: 1 });
  const options = {
    darken: o.darken === undefined ? undefined : parseNumber('--darken', o.darken, { min: 0 }),
    colors: colors as [string, string] | undefined,
    textDirection: o.textDirection as 'ltr' | 'rtl' | undefined, // checked (case-insensitively) by the renderer
    charLimit: o.charLimit === undefined ? undefined : parseNumber('--char-limit', o.charLimit, { integer: true, min: 1 }),
    fontSize: o.fontSize === undefined ? undefined : parseNumber('--font-size', o.fontSize),
    filterFn: o.filter === undefined ? undefined : ('top_tokens' as const),
    vmin: o.vmin === undefined ? undefined : parseNumber('--vmin', o.vmin),
    vmax: o.vmax === undefined ? undefined : parseNumber('--vmax', o.vmax),
    caption: o.caption ?? `layer ${layer} · neuron ${neuron}`,
    legend: o.legend === true,
    titles: o.titles,
  };
  const { TransformersVisualizer } = await import('../../workers/models/visualizer.ts');
  const visualizer = await TransformersVisualizer.load(o.model, { aggregation: o.aggregation, ...(threads ? { threads } : {}), ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}) });
  let svg: string;
  try {
    svg = await visualizer.visualize(sentence, layer, neuron, options);
  } finally {
    await visualizer.close();
  }
  if (o.out === '-') process.stdout.write(`${svg}\n`);
  else await writeFile(o.out, svg);
}
