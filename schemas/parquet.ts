/**
 * The Parquet tables a run writes, one explicit schema each (README
 * "Parquet outputs"). Column names in the files are snake_case; the
 * TypeScript fields are the project's camelCase vocabulary (`globalNeuron`).
 * Every column is REQUIRED (no nulls); DOUBLE columns may hold NaN.
 *
 * JS types, per Parquet type:
 * | Parquet        | written from                          | read as        |
 * |----------------|---------------------------------------|----------------|
 * | INT32          | `Int32Array` or any `ArrayLike<number>` | `Int32Array`   |
 * | INT64          | `ArrayLike<number>` or `BigInt64Array`  | `Float64Array` |
 * | DOUBLE         | `Float64Array`, `Float32Array`, ...     | `Float64Array` |
 * | STRING (UTF8)  | `readonly string[]`                     | `string[]`     |
 * INT64 columns (counts, sentence indices) are numbers in JS so that they
 * JSON-serialise and mix with arithmetic; values beyond 2^53 are refused
 * with an error on both write and read, never rounded.
 */

export type ParquetColumnType = 'INT32' | 'INT64' | 'DOUBLE' | 'STRING';

export interface ParquetColumnSpec {
  /** Column name in the file. */
  readonly name: string;
  /** Property name in TypeScript. */
  readonly field: string;
  readonly type: ParquetColumnType;
  readonly doc: string;
}

export interface ParquetTableSpec {
  /** Table name, also written to the file's key-value metadata as `neurox.table`. */
  readonly table: string;
  /** Bumped on any change of columns or meaning (`neurox.table_version`). */
  readonly version: number;
  readonly doc: string;
  readonly columns: readonly ParquetColumnSpec[];
}

const layer = { name: 'layer', field: 'layer', type: 'INT32', doc: 'layer index (0 = embedding output when embeddings are included)' } as const;
const neuron = { name: 'neuron', field: 'neuron', type: 'INT32', doc: 'neuron index within the layer, [0, dModel)' } as const;
const globalNeuron = { name: 'global_neuron', field: 'globalNeuron', type: 'INT32', doc: 'layer * dModel + neuron (NeuroX\'s neuron index)' } as const;
const rank = { name: 'rank', field: 'rank', type: 'INT32', doc: '0-based rank within the neuron (0 = best)' } as const;

export const neuronStatsTable = {
  table: 'neuron_stats',
  version: 1,
  doc: 'One row per neuron: moments of its activation over every token of the corpus.',
  columns: [
    layer, neuron, globalNeuron,
    { name: 'count', field: 'count', type: 'INT64', doc: 'tokens seen' },
    { name: 'mean', field: 'mean', type: 'DOUBLE', doc: 'mean activation' },
    { name: 'variance', field: 'variance', type: 'DOUBLE', doc: 'population variance (divided by count, as NeuroX\'s sigma)' },
    { name: 'std', field: 'std', type: 'DOUBLE', doc: 'sqrt(variance)' },
    { name: 'min', field: 'min', type: 'DOUBLE', doc: 'smallest activation' },
    { name: 'max', field: 'max', type: 'DOUBLE', doc: 'largest activation' },
  ],
} as const satisfies ParquetTableSpec;

export const topWordsTable = {
  table: 'top_words',
  version: 1,
  doc: 'NeuroX get_top_words for every neuron: one row per (neuron, kept token type), best first.',
  columns: [
    layer, neuron, globalNeuron, rank,
    { name: 'token', field: 'token', type: 'STRING', doc: 'the token type (exact string)' },
    { name: 'score', field: 'score', type: 'DOUBLE', doc: 'NeuroX\'s normalised score: mean |x - mu| / sigma over the type, divided by the best type\'s (best = 1)' },
    { name: 'count', field: 'count', type: 'INT64', doc: 'occurrences of the type in the corpus' },
    { name: 'mean', field: 'mean', type: 'DOUBLE', doc: 'signed mean activation over the type\'s occurrences' },
  ],
} as const satisfies ParquetTableSpec;

export const topSentencesTable = {
  table: 'top_sentences',
  version: 1,
  doc: 'Top sentences per neuron by the largest |activation| over their tokens.',
  columns: [
    layer, neuron, globalNeuron, rank,
    { name: 'sentence_index', field: 'sentenceIndex', type: 'INT64', doc: '0-based position of the sentence in the corpus' },
    { name: 'max_activation', field: 'maxActivation', type: 'DOUBLE', doc: 'the signed activation of largest magnitude in the sentence' },
    { name: 'token_index', field: 'tokenIndex', type: 'INT32', doc: 'position of that token in the sentence' },
  ],
} as const satisfies ParquetTableSpec;

export const histogramsTable = {
  table: 'histograms',
  version: 1,
  doc: 'Per-neuron histograms of activations: one row per (neuron, bin), bins in ascending order.',
  columns: [
    layer, neuron, globalNeuron,
    { name: 'bin_lo', field: 'binLo', type: 'DOUBLE', doc: 'lower edge of the bin (inclusive)' },
    { name: 'bin_hi', field: 'binHi', type: 'DOUBLE', doc: 'upper edge of the bin (exclusive, except the last bin of a neuron)' },
    { name: 'count', field: 'count', type: 'INT64', doc: 'activations in the bin' },
  ],
} as const satisfies ParquetTableSpec;

export const parquetTables = [neuronStatsTable, topWordsTable, topSentencesTable, histogramsTable] as const;

type ColumnsOf<S extends ParquetTableSpec> = S['columns'][number];

/** The array a column is read as. */
export type ColumnArray<T extends ParquetColumnType> =
  T extends 'INT32' ? Int32Array : T extends 'STRING' ? string[] : Float64Array;

/** What a column may be written from. */
export type ColumnInput<T extends ParquetColumnType> =
  T extends 'STRING' ? readonly string[] : T extends 'INT64' ? ArrayLike<number> | BigInt64Array : ArrayLike<number>;

/** A table as columns, all of one length (`nRows`), keyed by field. */
export type TableColumns<S extends ParquetTableSpec> = { [C in ColumnsOf<S> as C['field']]: ColumnArray<C['type']> };

/** Columns to write, keyed by field. */
export type TableInput<S extends ParquetTableSpec> = { readonly [C in ColumnsOf<S> as C['field']]: ColumnInput<C['type']> };

/** One row, keyed by field. */
export type TableRow<S extends ParquetTableSpec> = { [C in ColumnsOf<S> as C['field']]: C['type'] extends 'STRING' ? string : number };

export type NeuronStatsColumns = TableColumns<typeof neuronStatsTable>;
export type NeuronStatsInput = TableInput<typeof neuronStatsTable>;
export type NeuronStatsRow = TableRow<typeof neuronStatsTable>;
export type TopWordsColumns = TableColumns<typeof topWordsTable>;
export type TopWordsInput = TableInput<typeof topWordsTable>;
export type TopWordsRow = TableRow<typeof topWordsTable>;
export type TopSentencesColumns = TableColumns<typeof topSentencesTable>;
export type TopSentencesInput = TableInput<typeof topSentencesTable>;
export type TopSentencesRow = TableRow<typeof topSentencesTable>;
export type HistogramsColumns = TableColumns<typeof histogramsTable>;
export type HistogramsInput = TableInput<typeof histogramsTable>;
export type HistogramsRow = TableRow<typeof histogramsTable>;
