/**
 * The SentencePiece (unigram) tokenizer of Universal Sentence Encoder lite,
 * as `@energetic-ai/embeddings` runs it, plus the word alignment NeuroX needs.
 *
 * Pure: no runtime or I/O imports (it could live in pipelines/).
 *
 * Why not a stock SentencePiece: the package ships only `vocab.json`
 * (pieces and scores, no `.model`), and its own `Tokenizer.encode` (a port
 * of the TF.js USE tokenizer) is what produces the ids the package's
 * embeddings are computed from. We reproduce its behaviour exactly, quirks
 * included, so that our hidden states are the ones behind the package's
 * sentence embeddings (checked against ids recorded from the package, see
 * test/fixtures/use-lite/):
 * - input is NFKC-normalised, then `▁` is prepended and every space becomes
 *   `▁` (an empty text stays empty: no pieces);
 * - the first 6 vocabulary entries (unk, <s>, </s>, extra_token_id_1..3) are
 *   never matched; a character no piece starts with becomes unk (id 0), and
 *   consecutive unks are merged into one;
 * - Viterbi over the piece lattice: for each end position, candidates in
 *   ascending start order; a candidate replaces the best so far when the best
 *   is still exactly 0 ("unset") or the new score is >= it (ties go to the
 *   shorter piece); the backward pass steps back by the chosen piece's length
 *   (1 for unk, also where no piece ended);
 * - a piece listed twice (`”5`) takes the score and id of its last entry;
 * - a null score counts as 0 (see `VocabEntry`).
 */

/**
 * One entry of `vocab.json`: the piece and its log-probability score. The
 * seven pieces containing `:` have a null score (and `:30` has +30): export
 * artifacts, it seems. The package's arithmetic turns null into 0, and so do
 * we, since its embeddings were computed that way.
 */
export type VocabEntry = readonly [piece: string, score: number | null];

/** SentencePiece's word-start mark (U+2581). */
export const WORD_START = '\u2581';
export const UNK_ID = 0;
/** unk, <s>, </s>, extra_token_id_1..3: never produced by the tokenizer. */
const RESERVED_IDS = 6;

/** A sentence's pieces and, for each input word, its range of pieces. */
export interface WordPieces {
  /** Piece ids, `[nPieces]`. */
  readonly ids: Int32Array;
  /** Word w owns pieces `[wordStart[w], wordEnd[w])`; empty when the tokenizer dropped it. `[nWords]` each. */
  readonly wordStart: Int32Array;
  readonly wordEnd: Int32Array;
}

interface TrieNode {
  readonly children: Map<string, TrieNode>;
  id: number;
  score: number;
  /** Piece length in code points. */
  length: number;
}

function trieNode(): TrieNode {
  return { children: new Map(), id: -1, score: 0, length: 0 };
}

export class PieceTokenizer {
  private readonly root: TrieNode = trieNode();
  /** Code points of each piece (what the backward pass steps by); 1 for reserved ids. */
  private readonly pieceLength: Int32Array;

  constructor(private readonly vocabulary: readonly VocabEntry[]) {
    this.pieceLength = new Int32Array(vocabulary.length).fill(1);
    for (let id = RESERVED_IDS; id < vocabulary.length; id++) {
      const [piece, score] = vocabulary[id]!;
      const symbols = Array.from(piece);
      let node = this.root;
      for (const s of symbols) {
        let next = node.children.get(s);
        if (!next) {
          next = trieNode();
          node.children.set(s, next);
        }
        node = next;
      }
      node.id = id;
      node.score = score ?? 0;
      node.length = symbols.length;
      this.pieceLength[id] = symbols.length;
    }
  }

  get vocabSize(): number {
    return this.vocabulary.length;
  }

  /** The piece string of an id (for display and tests). */
  piece(id: number): string {
    const entry = this.vocabulary[id];
    if (!entry) throw new RangeError(`piece id ${id} is out of range [0, ${this.vocabulary.length - 1}]`);
    return entry[0];
  }

  /** Piece ids of a whole text, exactly as the package's `Tokenizer.encode(text)`. */
  encode(text: string): number[] {
    const normalized = text.normalize('NFKC');
    if (normalized.length === 0) return [];
    const symbols = Array.from(WORD_START + normalized.replaceAll(' ', WORD_START));
    return this.encodeSymbols(symbols).ids;
  }

  /**
   * Pieces of a sentence given as words (the sentence is `words.join(' ')`,
   * tokenised as a whole, exactly like `encode`), and which pieces belong to
   * which word. A piece belongs to the word its first character comes from;
   * each word's span starts with the `▁` that stands for the space before it.
   * NFKC is applied per word: it never composes across a space, so this is
   * the same text `encode` sees.
   */
  encodeWords(words: readonly string[]): WordPieces {
    const nWords = words.length;
    const wordStart = new Int32Array(nWords);
    const wordEnd = new Int32Array(nWords);
    const normalized = words.map((w) => w.normalize('NFKC'));
    // The package turns an empty text into no pieces at all (no leading ▁).
    if (normalized.length === 0 || (normalized.length === 1 && normalized[0] === '')) {
      return { ids: new Int32Array(0), wordStart, wordEnd };
    }
    const symbols: string[] = [];
    const owner: number[] = [];
    for (let w = 0; w < nWords; w++) {
      symbols.push(WORD_START);
      owner.push(w);
      for (const ch of normalized[w]!) {
        symbols.push(ch === ' ' ? WORD_START : ch);
        owner.push(w);
      }
    }
    const { ids, starts } = this.encodeSymbols(symbols);
    let p = 0;
    for (let w = 0; w < nWords; w++) {
      wordStart[w] = p;
      while (p < ids.length && owner[starts[p]!] === w) p++;
      wordEnd[w] = p;
    }
    return { ids: Int32Array.from(ids), wordStart, wordEnd };
  }

  /** Viterbi segmentation; `starts[i]` is the symbol index where piece i begins. */
  private encodeSymbols(symbols: readonly string[]): { ids: number[]; starts: number[] } {
    const n = symbols.length;
    // Lattice edges grouped by end position; filled in ascending start order,
    // which is the order the package visits them in.
    const edgesByEnd: Array<Array<{ start: number; id: number; score: number }>> = Array.from({ length: n + 1 }, () => []);
    for (let i = 0; i < n; i++) {
      let node = this.root.children.get(symbols[i]!);
      let matched = false;
      for (let j = i; node; ) {
        if (node.id >= 0) {
          edgesByEnd[i + node.length]!.push({ start: i, id: node.id, score: node.score });
          matched = true;
        }
        j++;
        node = j < n ? node.children.get(symbols[j]!) : undefined;
      }
      if (!matched) edgesByEnd[i + 1]!.push({ start: i, id: UNK_ID, score: 0 });
    }
    const best = new Float64Array(n + 1);
    const chosen = new Int32Array(n + 1); // 0 (unk) where nothing ended
    for (let end = 0; end <= n; end++) {
      for (const edge of edgesByEnd[end]!) {
        const score = edge.score + best[edge.start]!;
        if (best[end] === 0 || score >= best[end]!) {
          best[end] = score;
          chosen[end] = edge.id;
        }
      }
    }
    const reversedIds: number[] = [];
    const reversedStarts: number[] = [];
    for (let end = n; end > 0; ) {
      const id = chosen[end]!;
      const start = end - this.pieceLength[id]!;
      reversedIds.push(id);
      reversedStarts.push(start);
      end = start;
    }
    // Merge runs of unk into one piece, starting where the run starts.
    const ids: number[] = [];
    const starts: number[] = [];
    for (let k = reversedIds.length - 1; k >= 0; k--) {
      const id = reversedIds[k]!;
      if (id === UNK_ID && ids.length > 0 && ids[ids.length - 1] === UNK_ID) continue;
      ids.push(id);
      starts.push(reversedStarts[k]!);
    }
    return { ids, starts };
  }
}
