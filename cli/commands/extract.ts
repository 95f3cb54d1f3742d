/**
 * `neurox extract`: NeuroX's transformers_extractor. Every layer's word-level
 * activations of a corpus (one sentence per line) into a NeuroX activations
 * file (.hdf5 or .json), streaming, with progress on stderr.
 *
 * Corpus lines are read as NeuroX reads them (`line.strip()`, words =
 * `split(' ')`). Empty lines are skipped and counted: sentence i of the output
 * is the i-th non-empty line (unless a line's first word alone is longer than
 * the model's maximum: nothing of it fits, and it is skipped and listed too).
 * `--tokens-out` writes the tokens of every written sentence, one sentence per
 * line, the tokens file that pairs with the output row for row (truncated
 * sentences and special tokens included).
 */
import { createReadStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { InputError } from '../../pipelines/errors.ts';
import { parseNumber } from '../errors.ts';
import { addExtractionFlags, parseExtractionFlags, type ExtractionFlags } from '../extractionFlags.ts';

interface Options extends ExtractionFlags {
  model: string;
  out: string;
  threads?: string;
  executionProvider?: string;
  tokensOut?: string;
  cacheDir?: string;
  progress: boolean;
}

/** A non-empty corpus line: 1-based line number and its text, stripped like Python's `line.strip()`. */
export interface CorpusLine {
  readonly line: number;
  readonly text: string;
}

const NL = 0x0a;

/**
 * The non-empty lines of a UTF-8 corpus, streaming. Invalid UTF-8 is an
 * `InputError` naming the line; `onEmpty` hears about each skipped line.
 */
export async function* corpusLines(path: string, onEmpty: (line: number) => void = () => {}): AsyncIterable<CorpusLine> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let carry: Buffer = Buffer.alloc(0);
  let line = 0;
  const emit = (bytes: Buffer): CorpusLine | null => {
    line++;
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw new InputError(`${path} line ${line}: invalid UTF-8`);
    }
    // Python's str.strip() (NeuroX's corpus reader), plus a byte-order mark
    text = text.replace(/^[\s\u001C-\u001F\u0085]+|[\s\u001C-\u001F\u0085]+$/g, '');
    if (text === '') {
      onEmpty(line);
      return null;
    }
    return { line, text };
  };
  for await (const chunk of createReadStream(path)) {
    let buf = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    let at: number;
    while ((at = buf.indexOf(NL)) >= 0) {
      const got = emit(buf.subarray(0, at));
      if (got) yield got;
      buf = buf.subarray(at + 1);
    }
    carry = Buffer.from(buf);
  }
  if (carry.length) {
    const got = emit(carry);
    if (got) yield got;
  }
}

/** Counts the newline-terminated or final lines of a file (for the ETA), without decoding it. */
async function countLines(path: string): Promise<number> {
  let n = 0;
  let last = NL;
  for await (const chunk of createReadStream(path)) {
    const b = chunk as Buffer;
    for (let i = b.indexOf(NL); i >= 0; i = b.indexOf(NL, i + 1)) n++;
    if (b.length) last = b[b.length - 1] as number;
  }
  return last === NL ? n : n + 1;
}

function listLines(lines: readonly number[]): string {
  return `line${lines.length > 1 ? 's' : ''} ${lines.slice(0, 10).join(', ')}${lines.length > 10 ? ', ...' : ''}`;
}

export function register(program: Command): void {
  const command = program
    .command('extract')
    .description("NeuroX's transformers_extractor: every layer's word-level activations of a corpus into a NeuroX activations file")
    .argument('<corpus>', 'UTF-8 text, one sentence per line, words separated by single spaces')
    .option('--model <spec>', 'a model folder in the transformers.js layout (config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx), a hub id, or use-lite', 'use-lite')
    .requiredOption('--out <file>', 'NeuroX activations file to write: .hdf5/.h5 or .json/.jsonl');
  addExtractionFlags(command, { dtype: 'float32 or float16 values in the file' })
    .option('--threads <n>', "ONNX Runtime threads (default: one per core)")
    .option('--execution-provider <name>', "ONNX Runtime execution provider, e.g. cuda where the install has it", 'cpu')
    .option('--tokens-out <file>', "also write the tokens of each written sentence, one sentence per line (pairs with --out row for row)")
    .option('--cache-dir <dir>', 'where edited models are cached (default $NEUROX_CACHE_DIR/onnx or ~/.cache/neurox/onnx)')
    .option('--no-progress', 'no progress display on stderr')
    .addHelpText(
      'after',
      `
Lines are stripped like NeuroX's reader does; empty lines are skipped and
counted, so sentence i of --out is the i-th non-empty line. Sentences longer
than the model's maximum are truncated (the closing special token kept) and
reported; words the tokenizer drops get zero vectors and a warning.

Examples:
  neurox extract corpus.txt --model models/bert-base-uncased --out acts.hdf5
  neurox extract corpus.txt --model models/minilm --out acts.json --aggregation average --layers 0,6 --tokens-out tokens.txt`,
    )
    .action(async (corpus: string, o: Options) => {
      await runExtract(corpus, o);
    });
}

async function runExtract(corpus: string, o: Options): Promise<void> {
  const { dtype, ...extractOptions } = parseExtractionFlags(o);
  const threads = o.threads === undefined ? undefined : parseNumber('--threads', o.threads, { integer: true, min: 1 });
  const corpusStat = await stat(corpus).catch(() => null);
  if (!corpusStat?.isFile()) throw new Error(`corpus not found: ${corpus}`);

  const { formatOfPath, createActivationWriter } = await import('../../workers/neuroxFiles/index.ts');
  const format = formatOfPath(o.out);
  const { loadExtractor } = await import('../../workers/models/index.ts');
  const { createProgress } = await import('../progress.ts');
  const extractor = await loadExtractor(o.model, {
    ...(threads ? { threads } : {}),
    ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
    ...(o.executionProvider ? { executionProvider: o.executionProvider } : {}),
  });
  const empty: number[] = [];
  const tooLong: number[] = [];
  let writer: Awaited<ReturnType<typeof createActivationWriter>> | undefined;
  let tokensOut: Awaited<ReturnType<typeof open>> | undefined;
  const t0 = performance.now();
  try {
    const total = o.progress ? await countLines(corpus) : undefined;
    writer = await createActivationWriter(o.out, { dtype, format });
    if (o.tokensOut) tokensOut = await open(o.tokensOut, 'w');
    const progress = o.progress ? createProgress({ label: 'extract', unit: 'sentences', ...(total !== undefined ? { total } : {}) }) : null;
    // output index -> corpus line, for messages; entries leave as sentences are written (bounded by the extractor's window)
    const lineOf = new Map<number, number>();
    let next = 0;
    async function* sentences(): AsyncIterable<string> {
      for await (const { line, text } of corpusLines(corpus, (n) => {
        empty.push(n);
        progress?.increment();
      })) {
        lineOf.set(next++, line);
        yield text;
      }
    }
    let written = 0;
    let words = 0;
    let truncated = 0;
    let truncatedWords = 0;
    let emptyWords = 0;
    const warn = (message: string) => {
      if (truncated + emptyWords <= 20) process.stderr.write(`warning: ${message}\n`);
    };
    for await (const s of extractor.extract(sentences(), extractOptions)) {
      const line = lineOf.get(s.index) as number;
      lineOf.delete(s.index);
      if (s.nTokens === 0) {
        // the first word alone is longer than the model's maximum: nothing to write (NeuroX writes an
        // empty sentence that its own loader cannot read)
        tooLong.push(line);
        process.stderr.write(`warning: line ${line}: its first word alone is longer than the model's ${extractor.info.maxLength} pieces; skipped\n`);
        progress?.increment();
        continue;
      }
      if (s.truncatedWords > 0) {
        truncated++;
        truncatedWords += s.truncatedWords;
        warn(`line ${line}: longer than the model's ${extractor.info.maxLength} pieces; the last ${s.truncatedWords} words were dropped`);
      }
      for (const w of s.emptyWords) {
        emptyWords++;
        warn(`line ${line}: word ${w + 1} was dropped by the tokenizer; it gets a zero vector`);
      }
      await writer.write({ tokens: s.tokens, activations: s });
      if (tokensOut) await tokensOut.write(`${s.tokens.join(' ')}\n`);
      written++;
      words += s.nTokens;
      progress?.increment();
    }
    progress?.stop();
    await writer.close();
    writer = undefined;
    await tokensOut?.close();
    tokensOut = undefined;
    const seconds = (performance.now() - t0) / 1000;
    const notes = [
      `wrote ${written} sentences (${words} tokens) to ${o.out} in ${seconds.toFixed(1)} s`,
      empty.length ? `skipped ${empty.length} empty lines (${listLines(empty)}): sentence i of the output is the i-th non-empty line` : '',
      tooLong.length ? `skipped ${tooLong.length} lines whose first word alone exceeds the model's maximum (${listLines(tooLong)})` : '',
      truncated ? `${truncated} sentences truncated at ${extractor.info.maxLength} pieces (${truncatedWords} words dropped)` : '',
      emptyWords ? `${emptyWords} words dropped by the tokenizer got zero vectors` : '',
      (empty.length || truncated || tooLong.length) && !o.tokensOut ? 'use --tokens-out to write the tokens file that pairs with the output row for row' : '',
    ].filter(Boolean);
    process.stderr.write(`extract: ${notes.join('; ')}\n`);
  } catch (err) {
    // a partial file would pass for a complete one
    await writer?.close().catch(() => {});
    await tokensOut?.close().catch(() => {});
    await rm(o.out, { force: true });
    if (o.tokensOut) await rm(o.tokensOut, { force: true });
    throw err;
  } finally {
    await extractor.close();
  }
}
