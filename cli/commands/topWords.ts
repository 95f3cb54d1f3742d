/**
 * `neurox top-words`: NeuroX's get_top_words on a NeuroX activations file,
 * for one neuron (stdout) or every neuron (`--all`, a Parquet table).
 */
import type { Command } from 'commander';
import type { Progress as FileProgress } from '../../workers/neuroxFiles/topWords.ts';
import { parseNumber } from '../errors.ts';
import type { Progress } from '../progress.ts';

interface Options {
  activations: string;
  tokens: string;
  neuron?: string;
  layer?: string;
  numTokens?: string;
  minThreshold?: string;
  format: string;
  all?: boolean;
  out?: string;
  topK?: string;
  memoryMb?: string;
}

export function register(program: Command): void {
  program
    .command('top-words')
    .description("NeuroX's get_top_words: the token types that explain most of a neuron's variance, with each type's count and signed mean")
    .requiredOption('--activations <file>', 'NeuroX activations file: .json/.jsonl (JSON Lines) or .hdf5/.h5')
    .requiredOption('--tokens <file>', "the sentences, one per line; tokens are line.split(' ')")
    .option('--neuron <n>', 'global neuron over the concatenated layers (layer * dModel + neuron), or with --layer the neuron within that layer')
    .option('--layer <l>', 'layer of --neuron (0 = embedding output when the file has it)')
    .option('--num-tokens <k>', "keep at most k types (NeuroX's num_tokens; the 0.1 threshold still applies)")
    .option('--min-threshold <t>', "keep types scoring above t (NeuroX's min_threshold, default 0.1; not with --num-tokens)")
    .option('--format <format>', 'json (an array in rank order) or table', 'table')
    .option('--all', 'every neuron, into the Parquet table --out (two or more streaming passes, bounded memory)')
    .option('--out <file>', 'with --all: the top_words Parquet file to write')
    .option('--top-k <k>', 'with --all: keep at most k types per neuron (after the threshold; 0 = all)', '0')
    .option('--memory-mb <mb>', 'with --all: memory for the per-type sums of one block of neurons', '1024')
    .addHelpText('after', `
Scores are NeuroX's: mean over a type's occurrences of |x - mu| / sigma,
divided by the best type's (best = 1). Progress of --all goes to stderr.

Examples:
  neurox top-words --activations acts.hdf5 --tokens text.txt --neuron 1545 --num-tokens 10
  neurox top-words --activations acts.json --tokens text.txt --layer 2 --neuron 9 --format json
  neurox top-words --activations acts.hdf5 --tokens text.txt --all --out top_words.parquet --top-k 20`)
    .action(async (o: Options) => {
      if (o.all) await runAll(o);
      else await runOne(o);
    });
}

function checkFormat(format: string): 'json' | 'table' {
  if (format !== 'json' && format !== 'table') throw new Error(`--format: expected json or table, got '${format}'`);
  return format;
}

async function runOne(o: Options): Promise<void> {
  if (o.neuron === undefined) throw new Error('--neuron is required (or --all for every neuron)');
  if (o.out !== undefined || o.topK !== '0') throw new Error('--out and --top-k go with --all');
  const format = checkFormat(o.format);
  if (o.numTokens !== undefined && o.minThreshold !== undefined) {
    throw new Error(`--num-tokens ${o.numTokens} and --min-threshold ${o.minThreshold} cannot be combined (NeuroX refuses num_tokens with min_threshold)`);
  }
  const neuron = parseNumber('--neuron', o.neuron, { integer: true, min: 0 });
  const layer = o.layer === undefined ? undefined : parseNumber('--layer', o.layer, { integer: true, min: 0 });
  const numTokens = o.numTokens === undefined ? undefined : parseNumber('--num-tokens', o.numTokens, { integer: true, min: 0 });
  const minThreshold = o.minThreshold === undefined ? undefined : parseNumber('--min-threshold', o.minThreshold);

  const { openActivationFile } = await import('../../workers/neuroxFiles/index.ts');
  const { fileTopWords } = await import('../../workers/neuroxFiles/topWords.ts');
  const { globalNeuronOf } = await import('../../pipelines/matrix.ts');
  const file = await openActivationFile(o.activations, o.tokens);
  try {
    const { nLayers, dModel } = file.info;
    const global = layer === undefined ? neuron : globalNeuronOf(layer, neuron, nLayers, dModel);
    const words = await fileTopWords(file, global, { numTokens, minThreshold });
    if (format === 'json') {
      process.stdout.write(`${JSON.stringify(words.map(({ token, score, count, mean }) => ({ token, score, count, mean })))}\n`);
    } else {
      process.stdout.write(table(words));
    }
  } finally {
    await file.close();
  }
}

function table(words: ReadonlyArray<{ token: string; score: number; count: number; mean: number }>): string {
  const rows = [['rank', 'token', 'score', 'count', 'mean'], ...words.map((w, i) => [String(i), JSON.stringify(w.token), w.score.toFixed(4), String(w.count), w.mean.toPrecision(4)])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...r[c]!].length)));
  return rows.map((r) => r.map((cell, c) => (c === 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd()).join('\n') + '\n';
}

async function runAll(o: Options): Promise<void> {
  if (o.out === undefined) throw new Error('--all needs --out FILE.parquet');
  if (o.neuron !== undefined || o.layer !== undefined) throw new Error('--all covers every neuron: drop --neuron/--layer');
  if (o.numTokens !== undefined) throw new Error('with --all, use --top-k (a cut after the threshold) instead of --num-tokens');
  const topK = parseNumber('--top-k', o.topK ?? '0', { integer: true, min: 0 });
  const memoryMb = parseNumber('--memory-mb', o.memoryMb ?? '1024');
  if (memoryMb <= 0) throw new Error(`--memory-mb: must be > 0, got ${o.memoryMb}`);
  const minThreshold = o.minThreshold === undefined ? undefined : parseNumber('--min-threshold', o.minThreshold);

  const { basename, dirname, resolve } = await import('node:path');
  const { openActivationFile } = await import('../../workers/neuroxFiles/index.ts');
  const { fileTopWordsAll } = await import('../../workers/neuroxFiles/topWords.ts');
  const { ParquetTableWriter } = await import('../../workers/parquet.ts');
  const { LocalStore } = await import('../../workers/store/index.ts');
  const { topWordsTable } = await import('../../schemas/parquet.ts');
  const { createProgress } = await import('../progress.ts');

  const file = await openActivationFile(o.activations, o.tokens);
  const out = resolve(o.out);
  const writer = new ParquetTableWriter(topWordsTable, new LocalStore(dirname(out)), basename(out), {
    metadata: { 'neurox.activations': basename(o.activations), 'neurox.min_threshold': String(minThreshold ?? 0.1), 'neurox.top_k': String(topK) },
  });
  const progress = passProgress(createProgress);
  try {
    const summary = await fileTopWordsAll(
      file,
      async (block) => {
        const n = block.reduce((k, b) => k + b.words.length, 0);
        const cols = { layer: new Int32Array(n), neuron: new Int32Array(n), globalNeuron: new Int32Array(n), rank: new Int32Array(n), token: new Array<string>(n), score: new Float64Array(n), count: new Float64Array(n), mean: new Float64Array(n) };
        let i = 0;
        for (const b of block) {
          b.words.forEach((w, rank) => {
            cols.layer[i] = b.layer; cols.neuron[i] = b.neuron; cols.globalNeuron[i] = b.globalNeuron; cols.rank[i] = rank;
            cols.token[i] = w.token; cols.score[i] = w.score; cols.count[i] = w.count; cols.mean[i] = w.mean;
            i++;
          });
        }
        await writer.write(cols);
      },
      { minThreshold, topK, memoryBytes: memoryMb * 2 ** 20, onProgress: progress.onProgress },
    );
    const { rows, bytes } = await writer.close();
    process.stderr.write(`top-words: ${rows} rows (${summary.nSentences} sentences, ${summary.nTokens} tokens, ${summary.nTypes} types, ` +
      `${file.info.nLayers * file.info.dModel} neurons in blocks of ${summary.blockNeurons}, ${summary.passes} passes) -> ${o.out} (${bytes} bytes)\n`);
  } catch (err) {
    progress.stop();
    await writer.abort(err);
    throw err;
  } finally {
    await file.close();
  }
}

/** Progress on stderr (cli/progress.ts: a bar on a terminal, plain lines otherwise), one display per pass. */
function passProgress(createProgress: typeof import('../progress.ts').createProgress): { onProgress: (p: FileProgress) => void; stop(): void } {
  let pass = 0;
  let current: Progress | null = null;
  const labelOf = (p: FileProgress): string => `top-words: pass ${p.pass}${p.passes === null ? '' : `/${p.passes}`} (${p.what})`;
  return {
    onProgress: (p) => {
      if (p.pass !== pass) {
        current?.stop();
        pass = p.pass;
        current = createProgress({ label: labelOf(p), unit: 'sentences', ...(p.totalSentences !== null ? { total: p.totalSentences } : {}) });
      }
      if (p.done) current!.relabel(labelOf(p)); // pass 1 ends knowing how many passes there are
      current!.update(p.sentences);
      if (p.done) {
        current!.stop();
        current = null;
      }
    },
    stop: () => current?.stop(),
  };
}
