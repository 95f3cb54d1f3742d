/**
 * The object-key layout of the store a run writes to (README "Storage layout").
 *
 * Two trees:
 * - `cache/<model>/<options>/<shard>/`: the activation cache, content-addressed
 *   by the model identity, the extraction options and the shard's text, so
 *   that any run (a re-run, a grown corpus) reuses the shards it shares with
 *   an earlier one.
 * - `runs/<runId>/`: everything that depends on the whole corpus (merged
 *   moments, pass-2 partials, the Parquet outputs, the manifest).
 *
 * Every job writes at a key fixed here, so a retried or duplicated job
 * rewrites the same object and a reducer reads exactly the keys it expects.
 * Numbers are zero-padded so that listings come back in plan order.
 */
import { createHash } from 'node:crypto';
import { InputError } from './errors.ts';

/** Lower-case hex SHA-256 of a string (UTF-8) or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Run ids become key segments and BullMQ job-id prefixes: letters, digits,
 * `.`, `_`, `-` (no `:`, which BullMQ reserves; no `/`, which would nest keys).
 */
export function checkRunId(runId: string): string {
  if (!RUN_ID.test(runId) || /^\d+$/.test(runId)) {
    throw new InputError(`run id '${runId}' is invalid: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit, not only digits`);
  }
  return runId;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** `s000017`: shard numbers sort in plan order up to a million shards. */
export function shardName(shard: number): string {
  return `s${pad(shard, 6)}`;
}

/** `b0003`: neuron-block numbers. */
export function blockName(block: number): string {
  return `b${pad(block, 4)}`;
}

/** Keys of one shard's entry in the activation cache. */
export interface ShardCacheKeys {
  readonly prefix: string;
  /** The shard codec's bytes (pipelines/shard.ts). */
  readonly activations: string;
  /** Encoded per-neuron partial moments of the shard (pipelines/moments.ts). */
  readonly moments: string;
  /** JSON summary (tokens, truncations); written last, so its presence means the entry is complete. */
  readonly meta: string;
}

export function shardCacheKeys(modelHash: string, optionsHash: string, shardHash: string): ShardCacheKeys {
  const prefix = `cache/${modelHash}/${optionsHash}/${shardHash}/`;
  return { prefix, activations: `${prefix}activations.nxs`, moments: `${prefix}moments.bin`, meta: `${prefix}meta.json` };
}

/** Keys under `runs/<runId>/`. */
export interface RunKeys {
  readonly prefix: string;
  readonly manifest: string;
  /** Merged moments of the whole corpus (pipelines/moments.ts encoding). */
  readonly moments: string;
  /** Pass 1's summary (tokens, truncations, cached shards): JSON. */
  readonly pass1: string;
  /** `[end - start]` float64 means of one block's neurons, raw little-endian: what its pass-2 jobs subtract. */
  mu(block: number): string;
  readonly neuronStats: string;
  readonly topWords: string;
  /** Per-shard extraction results of this run (presence = the shard is done for this run). */
  readonly extractedPrefix: string;
  extracted(shard: number): string;
  /** Ranked top-word rows of one neuron block (a Parquet file), concatenated into top_words.parquet at the end. */
  readonly topWordsBlocksPrefix: string;
  topWordsBlock(block: number): string;
}

export function runKeys(runId: string): RunKeys {
  const prefix = `runs/${checkRunId(runId)}/`;
  return {
    prefix,
    manifest: `${prefix}manifest.json`,
    moments: `${prefix}moments.bin`,
    pass1: `${prefix}pass1.json`,
    mu: (block) => `${prefix}mu/${blockName(block)}.f64`,
    neuronStats: `${prefix}neuron_stats.parquet`,
    topWords: `${prefix}top_words.parquet`,
    extractedPrefix: `${prefix}extracted/`,
    extracted: (shard) => `${prefix}extracted/${shardName(shard)}.json`,
    topWordsBlocksPrefix: `${prefix}top-words/`,
    topWordsBlock: (block) => `${prefix}top-words/${blockName(block)}.parquet`,
  };
}

/** Where `neurox submit` uploads a local corpus: content-addressed, so uploading twice is a no-op. */
export function corpusKey(sha256: string): string {
  return `corpora/${sha256}.txt`;
}
