/**
 * Ports: the only ways I/O enters the pure pipelines. Adapters live in
 * workers/ (S3, local folder, memory; ONNX Runtime, TF.js).
 */
import type { SentenceActivations } from './matrix.ts';

// ---------------------------------------------------------------- storage

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag?: string;
  readonly lastModified?: Date;
}

export interface PutOptions {
  readonly contentType?: string;
  /**
   * A hint for bulk objects written once and read back later by ranges (the
   * activation cache): the local folder store writes them past the OS page
   * cache (direct I/O) where the file system allows. Other stores ignore it.
   */
  readonly uncached?: boolean;
}

export interface RangeOptions {
  /** The read side of `PutOptions.uncached`: the local folder store reads past the OS page cache where it can. */
  readonly uncached?: boolean;
}

/**
 * A flat key-value object store (S3 semantics). Keys are relative, `/`
 * separated, never absolute, never containing `..` segments; adapters refuse
 * any key that would escape their root (`InputError` naming the key).
 * Missing keys throw `NotFoundError` naming the key; other failures are I/O
 * errors (retried by the runner).
 */
export interface ObjectStore {
  /** Human-readable location, e.g. `s3://bucket/prefix/` or `file:///data/out/`. */
  readonly location: string;
  get(key: string): Promise<Uint8Array>;
  /**
   * Bytes `[start, end)` of an object. With `into` (at least `end - start`
   * bytes long) they are read into its start and a view of it is returned, so
   * a caller reading many ranges reuses its memory (see ReusableMemory).
   */
  getRange(key: string, start: number, end: number, into?: Uint8Array, options?: RangeOptions): Promise<Uint8Array>;
  getStream(key: string): AsyncIterable<Uint8Array>;
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<void>;
  /** For objects too large to hold in memory (multipart on S3). */
  putStream(key: string, body: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<void>;
  /** `null` when the key does not exist. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Every object whose key starts with `prefix`, in lexicographic key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** A URL a client without credentials can GET, where the store supports it. */
  presignGet?(key: string, expiresInSeconds: number): Promise<string>;
  /** Releases connections (the S3 client's sockets), where the store holds any. */
  close?(): void;
}

// ---------------------------------------------------------------- models

export type Aggregation = 'first' | 'last' | 'average';
export type ActivationDtype = 'float32' | 'float16';

export interface ExtractOptions {
  /** How subword pieces become one word vector (NeuroX's default: 'last'). */
  readonly aggregation: Aggregation;
  /** Keep [CLS]/[SEP]/<s>... as tokens of their own, in position (NeuroX's include_special_tokens). */
  readonly includeSpecialTokens: boolean;
  /** Drop the embedding output (layer 0). */
  readonly ignoreEmbeddings: boolean;
  /**
   * Layers to keep, in this order, 0 being the embedding output; undefined =
   * all (but 0 with ignoreEmbeddings). Listing 0 with ignoreEmbeddings is an
   * error (pipelines/extractOptions.ts decides, for every extractor).
   */
  readonly layers?: readonly number[];
  /** Sentences per model run. */
  readonly batchSize: number;
}

export interface ModelInfo {
  /** Stable identity of the weights and tokenizer (used in content hashes). */
  readonly id: string;
  /** Hidden-state layers the model gives, embedding output included. */
  readonly nLayers: number;
  readonly dModel: number;
  /** Maximum subword pieces per sentence, special tokens included. */
  readonly maxLength: number;
}

/** One sentence's word-level activations, plus what the extractor had to change. */
export interface ExtractedSentence extends SentenceActivations {
  /** 0-based position of the sentence in the input stream. */
  readonly index: number;
  /** Words beyond the model's maximum length, dropped (0 when not truncated). */
  readonly truncatedWords: number;
  /** Indices (into the input words) of words the tokenizer dropped: they got zero vectors. */
  readonly emptyWords: readonly number[];
}

/**
 * Sentences in (space-separated words), word-level activations out, in input
 * order, streaming: never holds more than a batch's worth of activations.
 * `data` is `[nLayers x nTokens x dModel]` for the selected layers.
 */
export interface Extractor {
  readonly info: ModelInfo;
  extract(sentences: AsyncIterable<string> | Iterable<string>, options: ExtractOptions): AsyncIterable<ExtractedSentence>;
  close(): Promise<void>;
}
