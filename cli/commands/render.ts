/**
 * `neurox render`: NeuroX's visualize_activations for one sentence of a
 * NeuroX activations file and one neuron, written as an SVG file.
 */
import type { Command } from 'commander';
import type { RenderOptions } from '../../pipelines/render/svg.ts';
import { parseNumber } from '../errors.ts';

/** NeuroX's visualize_activations arguments as CLI flags (shared by `render` and `visualize`). */
export interface RenderFlags {
  darken?: string;
  colors?: string;
  textDirection?: string;
  charLimit?: string;
  fontSize?: string;
  filter?: string;
  vmin?: string;
  vmax?: string;
  /** false with --no-caption */
  caption?: string | false;
  legend?: boolean;
  titles: boolean;
}

/** Adds the rendering flags of `RenderFlags` to a command. */
export function addRenderFlags(command: Command): Command {
  return command
    .option('--darken <n>', 'coats of background paint (NeuroX default 2)')
    .option('--colors <neg,pos>', "two colours for negative and positive activations (default '#d35f5f,#00aad4')")
    .option('--text-direction <dir>', 'ltr or rtl (default ltr)')
    .option('--char-limit <n>', 'most characters per line (default 60)')
    .option('--font-size <px>', 'font size in px (default 20)')
    .option('--filter <name>', "top_tokens: paint only tokens with |a| > 0.8 max|a| (NeuroX's filter_fn)")
    .option('--vmin <x>', 'activation painted colors[0] at full strength (a fixed scale across sentences; default per sentence)')
    .option('--vmax <x>', 'activation painted colors[1] at full strength')
    .option('--caption <text>', "a label under the text (default 'layer L · neuron N')")
    .option('--no-caption', "no label: NeuroX's exact canvas")
    .option('--legend', 'swatches under the text with the scale')
    .option('--no-titles', 'no per-token hover values (<title>)');
}

/** Parsed rendering options; values the renderer checks itself (colours, direction) pass through. */
export function renderOptionsOf(o: RenderFlags, defaultCaption: string): RenderOptions {
  const colors = o.colors?.split(',').map((c) => c.trim());
  if (colors !== undefined && colors.length !== 2) throw new Error(`--colors: expected two colours 'negative,positive', got '${o.colors}'`);
  if (o.filter !== undefined && o.filter !== 'top_tokens') throw new Error(`--filter: the only filter is top_tokens, got '${o.filter}'`);
  const options: RenderOptions = { legend: o.legend === true, titles: o.titles };
  if (o.darken !== undefined) options.darken = parseNumber('--darken', o.darken, { min: 0 });
  if (colors !== undefined) options.colors = colors as [string, string];
  if (o.textDirection !== undefined) options.textDirection = o.textDirection as 'ltr' | 'rtl'; // checked case-insensitively by the renderer
  if (o.charLimit !== undefined) options.charLimit = parseNumber('--char-limit', o.charLimit, { integer: true, min: 1 });
  if (o.fontSize !== undefined) options.fontSize = parseNumber('--font-size', o.fontSize);
  if (o.filter !== undefined) options.filterFn = 'top_tokens';
  if (o.vmin !== undefined) options.vmin = parseNumber('--vmin', o.vmin);
  if (o.vmax !== undefined) options.vmax = parseNumber('--vmax', o.vmax);
  if (o.caption !== false) options.caption = o.caption ?? defaultCaption;
  return options;
}

interface Options extends RenderFlags {
  activations: string;
  tokens: string;
  sentence: string;
  neuron: string;
  layer?: string;
  out: string;
}

export function register(program: Command): void {
  const command = program
    .command('render')
    .description("NeuroX's visualize_activations: an SVG of one sentence of an activations file, each token's background coloured by a neuron's activation")
    .requiredOption('--activations <file>', 'NeuroX activations file: .json/.jsonl (JSON Lines) or .hdf5/.h5')
    .requiredOption('--tokens <file>', "the sentences, one per line; tokens are line.split(' ')")
    .requiredOption('--sentence <i>', '0-based index of the sentence (line of --tokens)')
    .requiredOption('--neuron <n>', 'global neuron (layer * dModel + neuron), or with --layer the neuron within that layer')
    .option('--layer <l>', 'layer of --neuron (0 = embedding output when the file has it)');
  addRenderFlags(command)
    .requiredOption('--out <file.svg>', "where to write the SVG ('-' for stdout)")
    .addHelpText('after', `
Examples:
  neurox render --activations acts.hdf5 --tokens text.txt --sentence 0 --neuron 1545 --out s0.svg
  neurox render --activations acts.json --tokens text.txt --sentence 3 --layer 2 --neuron 9 --filter top_tokens --vmin -2 --vmax 2 --out s3.svg`)
    .action(async (o: Options) => {
      await run(o);
    });
}

async function run(o: Options): Promise<void> {
  const sentence = parseNumber('--sentence', o.sentence, { integer: true, min: 0 });
  const neuron = parseNumber('--neuron', o.neuron, { integer: true, min: 0 });
  const layer = o.layer === undefined ? undefined : parseNumber('--layer', o.layer, { integer: true, min: 0 });
  renderOptionsOf(o, ''); // bad flags fail before any file is read

  const { openActivationFile } = await import('../../workers/neuroxFiles/index.ts');
  const { countLines } = await import('../../workers/neuroxFiles/lines.ts');
  const { globalNeuronOf, splitGlobalNeuron } = await import('../../pipelines/matrix.ts');
  const { visualizeActivations } = await import('../../pipelines/render/svg.ts');
  const file = await openActivationFile(o.activations, o.tokens);
  let svg: string | undefined;
  try {
    const { nLayers, dModel } = file.info;
    const global = layer === undefined ? neuron : globalNeuronOf(layer, neuron, nLayers, dModel);
    const at = splitGlobalNeuron(global, nLayers, dModel);
    const options = renderOptionsOf(o, `layer ${at.layer} · neuron ${at.neuron}`);
    // only the neuron's layer is read (hdf5 reads just that slice of each sentence)
    for await (const s of file.sentences({ layers: [at.layer, at.layer + 1] })) {
      if (s.index < sentence) continue;
      const { data, nTokens } = s.activations;
      const values = Float32Array.from({ length: nTokens }, (_, t) => data[t * dModel + at.neuron]!);
      svg = visualizeActivations(s.tokens, values, options);
      break;
    }
  } finally {
    await file.close();
  }
  if (svg === undefined) {
    const n = file.info.nSentences ?? (await countLines(o.tokens, 'tokens file'));
    throw new Error(`sentence ${sentence} is out of range [0, ${n - 1}]`);
  }
  if (o.out === '-') process.stdout.write(`${svg}\n`);
  else await (await import('node:fs/promises')).writeFile(o.out, svg);
}
