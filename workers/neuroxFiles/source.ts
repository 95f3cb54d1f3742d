/** What a format-specific reader gives the pairing code in reader.ts. */

/**
 * One sentence's activations as stored. `nLayers` is the file's layer count;
 * `data` is `[nRead x nTokens x dModel]` for the layers asked for (all by default).
 */
export interface RawSentence {
  readonly nLayers: number;
  readonly nTokens: number;
  readonly dModel: number;
  readonly data: Float32Array;
  /** Where it came from, for messages: e.g. `line 18` or `dataset "17"`. */
  readonly where: string;
}

/** One pass over the sentences of an activations file, in NeuroX's order. */
export interface SentenceSource {
  /** The next sentence, or null after the last. */
  next(): Promise<RawSentence | null>;
  /** How many sentences are left, counted cheaply (for count-mismatch messages). */
  countRest(): Promise<number>;
  close(): Promise<void>;
}

export interface OpenedActivations {
  readonly nLayers: number;
  readonly dModel: number;
  /** Known up front for hdf5 (its index lists them); null for json. */
  readonly nSentences: number | null;
  readonly dtype: 'float32' | 'float16';
  /** A pass over the sentences, reading layers `[from, to)` only (default: all). */
  source(layers?: readonly [number, number]): SentenceSource;
  close(): Promise<void>;
}
