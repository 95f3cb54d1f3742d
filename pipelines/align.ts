/**
 * Word alignment, truncation planning and subword aggregation: how a
 * sentence of space-separated words becomes one model input, and how the
 * model's piece-level hidden states become one vector per word.
 *
 * Pure: the tokenizer enters as an `encode` callback, hidden states as flat
 * Float32Arrays. NeuroX's rules (NEUROX.md "Extraction"):
 * - words are `sentence.split(' ')`, so a double space makes an empty word;
 * - each word is tokenized in context: the first word alone, every other
 *   word after `'a '` with the pieces of `'a'` dropped (word-start marks of
 *   byte-level BPE and SentencePiece depend on the preceding space);
 * - a word's vector is its first piece's, its last piece's or their average;
 * - a word the tokenizer drops entirely gets a zero vector (and a warning);
 * - over-length sentences are truncated like the Python tokenizers do it:
 *   content pieces are cut, the closing special tokens are kept, and words
 *   not wholly inside the kept pieces are dropped.
 * Where NeuroX errs (special tokens mixed with words on truncation), special
 * tokens stay tokens of their own here.
 */
import { InputError } from './errors.ts';
import type { Aggregation } from './ports.ts';

/** `text -> piece ids` without the tokenizer's special tokens around it. */
export type Encode = (text: string) => readonly number[];

/** The special tokens a single sentence gets before and after its pieces, e.g. `[CLS]` / `[SEP]`. */
export interface SpecialTemplate {
  readonly prefix: readonly number[];
  readonly suffix: readonly number[];
}

/**
 * Finds the template by encoding a probe with and without special tokens
 * (transformers.js exposes no `build_inputs_with_special_tokens`).
 */
export function specialTemplate(withSpecial: readonly number[], withoutSpecial: readonly number[]): SpecialTemplate {
  const n = withoutSpecial.length;
  for (let at = 0; at + n <= withSpecial.length; at++) {
    let same = true;
    for (let j = 0; j < n && same; j++) same = withSpecial[at + j] === withoutSpecial[j];
    if (same) return { prefix: withSpecial.slice(0, at), suffix: withSpecial.slice(at + n) };
  }
  throw new InputError(`tokenizer: the pieces [${withoutSpecial.join(', ')}] do not appear in their encoding with special tokens [${withSpecial.join(', ')}]`);
}

/**
 * Piece ids of every word, tokenized in context the way NeuroX does.
 * `probe` is `encode('a')`; `cache` (one per tokenizer) maps a word, marked
 * first or not, to its pieces.
 */
export function wordPieces(words: readonly string[], encode: Encode, probe: readonly number[], cache?: Map<string, readonly number[]>): Array<readonly number[]> {
  return words.map((word, i) => {
    const key = (i === 0 ? '^' : ' ') + word;
    const hit = cache?.get(key);
    if (hit) return hit;
    let ids: readonly number[];
    if (i === 0) {
      ids = encode(word);
    } else {
      const all = encode(`a ${word}`);
      for (let j = 0; j < probe.length; j++) {
        if (all[j] !== probe[j]) {
          throw new InputError(`tokenizer: 'a ${word}' does not start with the pieces of 'a' ([${all.join(', ')}] vs [${probe.join(', ')}]), so the word cannot be aligned`);
        }
      }
      ids = all.slice(probe.length);
    }
    cache?.set(key, ids);
    return ids;
  });
}

/** One sentence's model input and where each kept word's pieces sit in it. */
export interface SentencePlan {
  /** Model input: prefix specials, the kept content pieces, suffix specials. */
  readonly inputIds: readonly number[];
  readonly prefixLength: number;
  readonly suffixLength: number;
  /** Words kept (all of them unless the sentence was truncated). */
  readonly keptWords: number;
  /** Words dropped because their pieces do not all fit. */
  readonly truncatedWords: number;
  /** Indices of kept words without any (non-special) piece: they get zero vectors. */
  readonly emptyWords: readonly number[];
  /**
   * Positions in `inputIds` of each kept word's non-special pieces, CSR:
   * word w's are `positions[wordOffsets[w] .. wordOffsets[w + 1])`.
   */
  readonly positions: Int32Array;
  readonly wordOffsets: Int32Array;
}

/**
 * Truncation and alignment of one sentence. `specialIds` are the tokenizer's
 * special tokens (not [UNK]): a literal `[SEP]` in the text is fed to the model,
 * as Python does, but never counted as a piece of its word.
 */
export function planSentence(pieces: ReadonlyArray<readonly number[]>, template: SpecialTemplate, specialIds: ReadonlySet<number>, maxLength: number): SentencePlan {
  const { prefix, suffix } = template;
  const maxContent = maxLength - prefix.length - suffix.length;
  if (!Number.isInteger(maxLength) || maxContent < 1) {
    throw new InputError(`maximum length ${maxLength} leaves no room for pieces besides ${prefix.length + suffix.length} special tokens`);
  }
  const inputIds: number[] = [...prefix];
  const positions: number[] = [];
  const wordOffsets: number[] = [0];
  const emptyWords: number[] = [];
  let content = 0;
  let keptWords = 0;
  let truncated = false;
  for (const word of pieces) {
    if (content + word.length > maxContent) {
      // Python keeps the pieces that fit, even part of a word; the word itself is dropped
      for (let j = 0; content < maxContent; j++, content++) inputIds.push(word[j] as number);
      truncated = true;
      break;
    }
    let real = 0;
    for (const id of word) {
      if (!specialIds.has(id)) {
        positions.push(inputIds.length);
        real++;
      }
      inputIds.push(id);
    }
    content += word.length;
    if (real === 0) emptyWords.push(keptWords);
    keptWords++;
    wordOffsets.push(positions.length);
  }
  inputIds.push(...suffix);
  return {
    inputIds,
    prefixLength: prefix.length,
    suffixLength: suffix.length,
    keptWords,
    truncatedWords: truncated ? pieces.length - keptWords : 0,
    emptyWords,
    positions: Int32Array.from(positions),
    wordOffsets: Int32Array.from(wordOffsets),
  };
}

/**
 * Piece-level hidden states of a batch, one buffer per layer, each
 * `[batch x seqLen x dModel]` row-major (sentences padded to `seqLen`).
 */
export interface BatchStates {
  readonly layers: readonly Float32Array[];
  readonly seqLen: number;
  readonly dModel: number;
}

/**
 * Word-level activations of batch row `row`: `[nLayers x nTokens x dModel]`
 * for `states.layers`, where the tokens are the kept words, with the prefix
 * and suffix special tokens in place around them when `includeSpecialTokens`.
 */
export function aggregateWords(plan: SentencePlan, states: BatchStates, row: number, aggregation: Aggregation, includeSpecialTokens: boolean): Float32Array {
  const { layers, seqLen, dModel } = states;
  if (plan.inputIds.length > seqLen) {
    throw new RangeError(`sentence has ${plan.inputIds.length} pieces but the batch holds ${seqLen} per row`);
  }
  const lead = includeSpecialTokens ? plan.prefixLength : 0;
  const nTokens = plan.keptWords + (includeSpecialTokens ? plan.prefixLength + plan.suffixLength : 0);
  const out = new Float32Array(layers.length * nTokens * dModel);
  const rowBase = row * seqLen * dModel;
  const suffixStart = plan.inputIds.length - plan.suffixLength;
  const acc = new Float64Array(dModel);
  for (let l = 0; l < layers.length; l++) {
    const src = layers[l] as Float32Array;
    const outBase = l * nTokens * dModel;
    const copy = (position: number, token: number): void => {
      const from = rowBase + position * dModel;
      out.set(src.subarray(from, from + dModel), outBase + token * dModel);
    };
    if (includeSpecialTokens) {
      for (let p = 0; p < plan.prefixLength; p++) copy(p, p);
      for (let s = 0; s < plan.suffixLength; s++) copy(suffixStart + s, lead + plan.keptWords + s);
    }
    for (let w = 0; w < plan.keptWords; w++) {
      const start = plan.wordOffsets[w] as number;
      const end = plan.wordOffsets[w + 1] as number;
      if (end === start) continue; // dropped by the tokenizer: stays zero
      if (aggregation === 'first' || aggregation === 'last' || end - start === 1) {
        copy(plan.positions[aggregation === 'last' ? end - 1 : start] as number, lead + w);
        continue;
      }
      const at = outBase + (lead + w) * dModel;
      acc.fill(0);
      for (let k = start; k < end; k++) {
        const from = rowBase + (plan.positions[k] as number) * dModel;
        for (let n = 0; n < dModel; n++) acc[n] = (acc[n] as number) + (src[from + n] as number);
      }
      const inv = 1 / (end - start);
      for (let n = 0; n < dModel; n++) out[at + n] = (acc[n] as number) * inv;
    }
  }
  return out;
}

/** Token strings in the order of `aggregateWords`' rows. */
export function tokensOf(words: readonly string[], plan: SentencePlan, includeSpecialTokens: boolean, pieceToken: (id: number) => string): string[] {
  const kept = words.slice(0, plan.keptWords);
  if (!includeSpecialTokens) return kept;
  const ids = plan.inputIds;
  const pre = ids.slice(0, plan.prefixLength).map(pieceToken);
  const post = ids.slice(ids.length - plan.suffixLength).map(pieceToken);
  return [...pre, ...kept, ...post];
}
