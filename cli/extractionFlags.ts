/**
 * The extraction flags `extract` and `analyze` (with `submit` and `schedule
 * add`) share, declared and parsed in one place so they mean and refuse the
 * same things. Only `--dtype`'s help differs: the file's precision for one,
 * the activation cache's for the other.
 */
import type { Command } from 'commander';
import type { ActivationDtype, Aggregation } from '../pipelines/ports.ts';
import { parseNumber } from './errors.ts';

/** The flags as commander gives them. */
export interface ExtractionFlags {
  aggregation: string;
  includeSpecialTokens?: boolean;
  ignoreEmbeddings?: boolean;
  layers?: string;
  dtype: string;
  batchSize: string;
}

export interface ExtractionFlagValues {
  readonly aggregation: Aggregation;
  readonly includeSpecialTokens: boolean;
  readonly ignoreEmbeddings: boolean;
  readonly layers?: number[];
  readonly dtype: ActivationDtype;
  readonly batchSize: number;
}

/** Adds the flags of `ExtractionFlags` to a command. */
export function addExtractionFlags(command: Command, { dtype }: { dtype: string }): Command {
  return command
    .option('--aggregation <how>', 'subword pieces to word: first, last or average', 'last')
    .option('--include-special-tokens', 'keep [CLS]/[SEP]/<s>... as tokens of their own, in place')
    .option('--ignore-embeddings', 'leave out the embedding output (layer 0)')
    .option('--layers <list>', 'comma-separated layers to keep, in this order (0 = embedding output); default all; not with --ignore-embeddings')
    .option('--dtype <type>', dtype, 'float32')
    .option('--batch-size <n>', 'sentences per model run', '16');
}

export function parseAggregation(value: string): Aggregation {
  if (value !== 'first' && value !== 'last' && value !== 'average') throw new Error(`--aggregation: expected first, last or average, got '${value}'`);
  return value;
}

/** Checks every flag, naming the bad one; `--layers` with `--ignore-embeddings` is refused as NeuroX refuses it. */
export function parseExtractionFlags(o: ExtractionFlags): ExtractionFlagValues {
  const aggregation = parseAggregation(o.aggregation);
  if (o.dtype !== 'float32' && o.dtype !== 'float16') throw new Error(`--dtype: expected float32 or float16, got '${o.dtype}'`);
  const layers = o.layers === undefined ? undefined : o.layers.split(',').map((p) => parseNumber('--layers', p.trim(), { integer: true, min: 0 }));
  if (layers && o.ignoreEmbeddings) throw new Error('--layers and --ignore-embeddings cannot be used together (as in NeuroX): list the layers you want');
  return {
    aggregation,
    includeSpecialTokens: Boolean(o.includeSpecialTokens),
    ignoreEmbeddings: Boolean(o.ignoreEmbeddings),
    ...(layers ? { layers } : {}),
    dtype: o.dtype,
    batchSize: parseNumber('--batch-size', o.batchSize, { integer: true, min: 1 }),
  };
}
