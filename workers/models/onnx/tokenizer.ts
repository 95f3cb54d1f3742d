/**
 * A model's tokenizer (transformers.js `AutoTokenizer` over tokenizer.json +
 * tokenizer_config.json) seen through what alignment needs: pieces of a text
 * without special tokens, the special-token template, ids of special tokens,
 * the maximum length and a padding id. One per model instance, each with its
 * own word cache: NeuroX shares one cache across all models in a process.
 */
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { specialTemplate, wordPieces, type SpecialTemplate } from '../../../pipelines/align.ts';
import { InputError } from '../../../pipelines/errors.ts';

/** Words cached per tokenizer before the cache is dropped (keeps memory bounded on huge vocabularies of typos). */
const WORD_CACHE_LIMIT = 200_000;

/** What config.json says about positions (the subset we read). */
export interface ModelConfig {
  readonly model_type?: string;
  readonly max_position_embeddings?: number;
  readonly n_positions?: number;
  readonly pad_token_id?: number | null;
  readonly hidden_size?: number;
  readonly n_embd?: number;
  readonly dim?: number;
  readonly d_model?: number;
}

/** RoBERTa-style models number positions from `pad_token_id + 1`. */
const OFFSET_POSITIONS = new Set(['roberta', 'xlm-roberta', 'camembert', 'longformer', 'bart', 'mpnet']);

export class ModelTokenizer {
  readonly template: SpecialTemplate;
  /** Special tokens other than [UNK]: never counted as a word's piece (NeuroX drops them from words too). */
  readonly specialIds: ReadonlySet<number>;
  readonly maxLength: number;
  readonly padId: number;
  private readonly probe: readonly number[];
  private readonly cache = new Map<string, readonly number[]>();

  constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    config: ModelConfig,
    what: string,
  ) {
    const unk = tokenizer.unk_token_id;
    this.specialIds = new Set(tokenizer.all_special_ids.filter((id) => id !== unk));
    this.probe = this.encode('a');
    this.template = specialTemplate(tokenizer.encode('a', { add_special_tokens: true }), this.probe);
    this.maxLength = maxLengthOf(tokenizer.model_max_length, config, what);
    this.padId = tokenizer.pad_token_id ?? tokenizer.eos_token_id ?? 0;
  }

  /** Piece ids of `text`, without the special tokens the tokenizer adds around a sentence. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false });
  }

  /** Piece ids of every word, in context (see pipelines/align.ts). */
  wordPieces(words: readonly string[]): Array<readonly number[]> {
    if (this.cache.size > WORD_CACHE_LIMIT) this.cache.clear();
    return wordPieces(words, (t) => this.encode(t), this.probe, this.cache);
  }

  /** The token string of a piece id (e.g. `[CLS]`). */
  pieceToken(id: number): string {
    return this.tokenizer._tokenizer.id_to_token(id) ?? `<${id}>`;
  }

  /** Number of words cached (for tests). */
  get cachedWords(): number {
    return this.cache.size;
  }
}

/**
 * The pieces a sentence may have, special tokens included: the tokenizer's
 * `model_max_length`, capped by the model's position table (some tokenizers
 * leave `model_max_length` unset, which would let a long sentence crash the model).
 */
export function maxLengthOf(tokenizerMax: number | undefined, config: ModelConfig, what: string): number {
  let positions = config.max_position_embeddings ?? config.n_positions;
  if (positions !== undefined && OFFSET_POSITIONS.has(config.model_type ?? '')) positions -= (config.pad_token_id ?? 1) + 1;
  const limits = [tokenizerMax, positions].filter((x): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0 && x < 1e9);
  if (limits.length === 0) throw new InputError(`${what}: no maximum length in tokenizer_config.json (model_max_length) nor config.json (max_position_embeddings / n_positions)`);
  return Math.min(...limits);
}

/** Width of the hidden states according to config.json. */
export function hiddenSizeOf(config: ModelConfig): number | undefined {
  return config.hidden_size ?? config.n_embd ?? config.dim ?? config.d_model;
}
