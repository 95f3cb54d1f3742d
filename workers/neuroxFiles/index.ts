/**
 * NeuroX activation files: read (json / hdf5, with the tokens file) and
 * write, streaming sentence by sentence.
 *
 * Reading pairs sentence i of the activations file with line i of the tokens
 * file (tokens = `line.split(' ')`, exactly), as NeuroX's `load_activations`
 * + `load_data` do, and checks what NeuroX does not: token count against
 * activation rows, one shape for every sentence, the same number of
 * sentences on both sides.
 */
import { stat } from 'node:fs/promises';
import type { SentenceActivations } from '../../pipelines/matrix.ts';
import { InputError, NotFoundError } from '../../pipelines/errors.ts';
import { countLines, textLines, tokensOfLine } from './lines.ts';
import { openJsonActivations } from './jsonReader.ts';
import { openHdf5Activations } from './hdf5Reader.ts';
import { formatOfPath, type ActivationDtype, type ActivationFormat } from './writer.ts';
import type { OpenedActivations } from './source.ts';

export { createActivationWriter, formatOfPath, neuroxJsonLine, type ActivationWriter, type ActivationDtype, type ActivationFormat } from './writer.ts';

export interface ActivationFileInfo {
  readonly path: string;
  readonly format: ActivationFormat;
  readonly nLayers: number;
  readonly dModel: number;
  /** Known up front for hdf5; null for json (known after a full pass). */
  readonly nSentences: number | null;
  readonly dtype: ActivationDtype;
}

export interface ActivationSentence {
  /** 0-based position in the file (= 0-based line of the tokens file). */
  readonly index: number;
  readonly tokens: string[];
  /** `[nLayers x nTokens x dModel]` */
  readonly activations: SentenceActivations;
}

export interface ActivationFile {
  readonly info: ActivationFileInfo;
  /**
   * A fresh pass over every sentence each time it is called. With `layers:
   * [from, to)`, `activations` holds only those layers (`nLayers = to - from`,
   * its layer 0 is the file's layer `from`); hdf5 then reads only them.
   */
  sentences(options?: { layers?: readonly [number, number] }): AsyncIterable<ActivationSentence>;
  close(): Promise<void>;
}

async function requireFile(path: string, what: string): Promise<void> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new NotFoundError(path, `${what} not found: ${path}`);
    throw err;
  });
  if (!st.isFile()) throw new InputError(`${what} is not a regular file: ${path}`);
}

function countMismatch(tokensPath: string, nTokens: number, activationsPath: string, nActivations: number): InputError {
  return new InputError(`${tokensPath} has ${nTokens} sentences but ${activationsPath} has ${nActivations}`);
}

async function* pairs(opened: OpenedActivations, activationsPath: string, tokensPath: string, layers?: readonly [number, number]): AsyncGenerator<ActivationSentence> {
  const [from, to] = layers ?? [0, opened.nLayers];
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > opened.nLayers || from >= to) {
    throw new InputError(`layers [${from}, ${to}) are not a range within [0, ${opened.nLayers})`);
  }
  const source = opened.source(layers);
  const lines = textLines(tokensPath, 'tokens file');
  let index = 0;
  try {
    for (;;) {
      const line = await lines.next();
      const raw = await source.next();
      if (line.done && raw === null) return;
      if (line.done) throw countMismatch(tokensPath, index, activationsPath, index + 1 + (await source.countRest()));
      if (raw === null) {
        let rest = 0;
        while (!(await lines.next()).done) rest++;
        throw countMismatch(tokensPath, index + 1 + rest, activationsPath, index);
      }
      const tokens = tokensOfLine(line.value.text);
      const where = `${activationsPath} sentence ${index} (${raw.where})`;
      if (raw.nLayers !== opened.nLayers || raw.dModel !== opened.dModel) {
        throw new InputError(`${where}: ${raw.nLayers} layers x ${raw.dModel} neurons, but sentence 0 has ${opened.nLayers} x ${opened.dModel}`);
      }
      if (raw.nTokens !== tokens.length) {
        throw new InputError(`sentence ${index}: ${tokens.length} tokens (${tokensPath} line ${index + 1}) but ${raw.nTokens} activation rows (${activationsPath}, ${raw.where})`);
      }
      yield { index, tokens, activations: { tokens, data: raw.data, nLayers: to - from, nTokens: raw.nTokens, dModel: raw.dModel } };
      index++;
    }
  } finally {
    await lines.return(undefined);
    await source.close();
  }
}

/**
 * Opens a NeuroX activations file (`.json`/`.jsonl` or `.hdf5`/`.h5`) with
 * its tokens file. Cheap: reads the first sentence's shape (and, for hdf5,
 * the sentence index, checking its count against the tokens file's lines).
 */
export async function openActivationFile(activationsPath: string, tokensPath: string): Promise<ActivationFile> {
  const format = formatOfPath(activationsPath);
  await requireFile(activationsPath, 'activations file');
  await requireFile(tokensPath, 'tokens file');
  const opened = format === 'json' ? await openJsonActivations(activationsPath) : await openHdf5Activations(activationsPath);
  try {
    if (opened.nSentences !== null) {
      const nLines = await countLines(tokensPath, 'tokens file');
      if (nLines !== opened.nSentences) throw countMismatch(tokensPath, nLines, activationsPath, opened.nSentences);
    }
  } catch (err) {
    await opened.close();
    throw err;
  }
  const info: ActivationFileInfo = {
    path: activationsPath,
    format,
    nLayers: opened.nLayers,
    dModel: opened.dModel,
    nSentences: opened.nSentences,
    dtype: opened.dtype,
  };
  return {
    info,
    sentences: (options) => pairs(opened, activationsPath, tokensPath, options?.layers),
    close: () => opened.close(),
  };
}
