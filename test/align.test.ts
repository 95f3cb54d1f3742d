import { describe, expect, it } from 'vitest';
import { aggregateWords, planSentence, specialTemplate, tokensOf, wordPieces, type BatchStates, type Encode } from '../pipelines/align.ts';
import { InputError } from '../pipelines/errors.ts';

const CLS = 101;
const SEP = 102;
const BERT = { prefix: [CLS], suffix: [SEP] };
const specials = new Set([CLS, SEP]);

/** A toy WordPiece: each word is split into pieces of 3 characters; ids are stable per piece. */
function toyEncoder(): { encode: Encode; calls: string[] } {
  const ids = new Map<string, number>();
  const calls: string[] = [];
  const encode: Encode = (text) => {
    calls.push(text);
    const out: number[] = [];
    for (const word of text.split(/\s+/).filter(Boolean)) {
      if (word === '[SEP]') {
        out.push(SEP);
        continue;
      }
      if (word === '\u200b') continue; // dropped, like BERT's clean_text
      for (let i = 0; i < word.length; i += 3) {
        const piece = (i ? '##' : '') + word.slice(i, i + 3);
        if (!ids.has(piece)) ids.set(piece, 1000 + ids.size);
        out.push(ids.get(piece) as number);
      }
    }
    return out;
  };
  return { encode, calls };
}

/** States whose value encodes (layer, row, position, neuron), so every copy can be traced. */
function traceableStates(nLayers: number, batch: number, seqLen: number, dModel: number): BatchStates {
  const layers = [...Array(nLayers).keys()].map((l) => {
    const a = new Float32Array(batch * seqLen * dModel);
    for (let r = 0; r < batch; r++) for (let p = 0; p < seqLen; p++) for (let n = 0; n < dModel; n++) a[(r * seqLen + p) * dModel + n] = l * 1000 + r * 100 + p + n / 10;
    return a;
  });
  return { layers, seqLen, dModel };
}

describe('specialTemplate', () => {
  it('finds the special tokens before and after the pieces', () => {
    expect(specialTemplate([CLS, 1037, SEP], [1037])).toEqual({ prefix: [CLS], suffix: [SEP] });
    expect(specialTemplate([0, 64, 2], [64])).toEqual({ prefix: [0], suffix: [2] });
  });
  it('is empty for tokenizers that add nothing (GPT-2)', () => {
    expect(specialTemplate([64], [64])).toEqual({ prefix: [], suffix: [] });
  });
  it('refuses an encoding that does not contain the pieces', () => {
    expect(() => specialTemplate([CLS, 5, SEP], [7])).toThrow(InputError);
  });
});

describe('wordPieces', () => {
  it('tokenizes the first word alone and every other word after "a "', () => {
    const { encode, calls } = toyEncoder();
    const probe = encode('a');
    const pieces = wordPieces(['tokenization', 'is', 'fun'], encode, probe);
    expect(pieces.map((p) => p.length)).toEqual([4, 1, 1]);
    expect(calls).toEqual(['a', 'tokenization', 'a is', 'a fun']);
  });
  it('gives an empty word (double space) and a dropped word no pieces', () => {
    const { encode } = toyEncoder();
    expect(wordPieces(['x', '', '\u200b', 'y'], encode, encode('a')).map((p) => p.length)).toEqual([1, 0, 0, 1]);
  });
  it('caches words per position kind: a first word and the same word later are different keys', () => {
    const { encode, calls } = toyEncoder();
    const cache = new Map<string, readonly number[]>();
    const probe = encode('a');
    wordPieces(['ok', 'ok', 'ok'], encode, probe, cache);
    wordPieces(['ok', 'ok'], encode, probe, cache);
    expect(calls).toEqual(['a', 'ok', 'a ok']);
    expect(cache.size).toBe(2);
  });
  it("refuses a tokenizer that does not keep 'a' apart", () => {
    const merging: Encode = (t) => (t === 'a' ? [1] : [2, 3]);
    expect(() => wordPieces(['x', 'y'], merging, [1])).toThrow(/cannot be aligned/);
  });
});

describe('planSentence', () => {
  it('places each word after the prefix special tokens', () => {
    const plan = planSentence([[5], [6, 7], [8]], BERT, specials, 16);
    expect(plan.inputIds).toEqual([CLS, 5, 6, 7, 8, SEP]);
    expect([...plan.wordOffsets]).toEqual([0, 1, 3, 4]);
    expect([...plan.positions]).toEqual([1, 2, 3, 4]);
    expect(plan).toMatchObject({ keptWords: 3, truncatedWords: 0, emptyWords: [] });
  });
  it('reports words without pieces as empty, and a literal special token is fed but not counted as a piece', () => {
    const plan = planSentence([[5], [], [SEP], [6, SEP, 7]], BERT, specials, 16);
    expect(plan.inputIds).toEqual([CLS, 5, SEP, 6, SEP, 7, SEP]);
    expect(plan.emptyWords).toEqual([1, 2]);
    expect([...plan.positions]).toEqual([1, 3, 5]);
    expect([...plan.wordOffsets]).toEqual([0, 1, 1, 1, 3]);
  });
  it('truncates like the Python tokenizers: content cut to max - specials, the closing [SEP] kept', () => {
    // max 6: [CLS] + 4 content pieces + [SEP]; the 2-piece third word is cut in the middle
    const plan = planSentence([[5], [6], [7, 8, 9], [10]], BERT, specials, 6);
    expect(plan.inputIds).toEqual([CLS, 5, 6, 7, 8, SEP]);
    expect(plan).toMatchObject({ keptWords: 2, truncatedWords: 2 });
  });
  it('keeps a sentence that fills the maximum exactly, and drops the word that misses it by one piece', () => {
    expect(planSentence([[5], [6], [7], [8]], BERT, specials, 6)).toMatchObject({ keptWords: 4, truncatedWords: 0 });
    const over = planSentence([[5], [6], [7], [8], [9]], BERT, specials, 6);
    expect(over.inputIds).toEqual([CLS, 5, 6, 7, 8, SEP]);
    expect(over).toMatchObject({ keptWords: 4, truncatedWords: 1 });
  });
  it('needs room for at least one piece', () => {
    expect(() => planSentence([[5]], BERT, specials, 2)).toThrow(/no room/);
  });
});

describe('aggregateWords', () => {
  const plan = planSentence([[5], [6, 7, 8], [], [9, 10]], BERT, specials, 16);
  // positions: [CLS]=0, 5=1, 6..8=2..4, 9..10=5..6, [SEP]=7
  const states = traceableStates(2, 2, 9, 3);
  const at = (data: Float32Array, nTokens: number, l: number, t: number, n = 0) => data[(l * nTokens + t) * 3 + n];

  it("takes a word's first piece, last piece, or the average of its pieces (NeuroX's 'first' | 'last' | 'average')", () => {
    const first = aggregateWords(plan, states, 1, 'first', false);
    const last = aggregateWords(plan, states, 1, 'last', false);
    const avg = aggregateWords(plan, states, 1, 'average', false);
    expect(first.length).toBe(2 * 4 * 3);
    // row 1, layer 1, word 1 (pieces at positions 2, 3, 4)
    expect(at(first, 4, 1, 1)).toBeCloseTo(1000 + 100 + 2, 4);
    expect(at(last, 4, 1, 1)).toBeCloseTo(1000 + 100 + 4, 4);
    expect(at(avg, 4, 1, 1, 2)).toBeCloseTo(1000 + 100 + 3 + 0.2, 4);
    expect(at(avg, 4, 0, 3)).toBeCloseTo(100 + 5.5, 4);
  });
  it('gives a word without pieces a zero vector', () => {
    const out = aggregateWords(plan, states, 0, 'last', false);
    for (let l = 0; l < 2; l++) for (let n = 0; n < 3; n++) expect(at(out, 4, l, 2, n)).toBe(0);
  });
  it('keeps special tokens in place as tokens of their own when asked', () => {
    const out = aggregateWords(plan, states, 0, 'last', true);
    expect(out.length).toBe(2 * 6 * 3);
    expect(at(out, 6, 0, 0)).toBeCloseTo(0, 4); // [CLS]
    expect(at(out, 6, 0, 1)).toBeCloseTo(1, 4); // word 0
    expect(at(out, 6, 1, 5)).toBeCloseTo(1000 + 7, 4); // [SEP]
    expect(tokensOf(['a', 'bcd', '', 'ef'], plan, true, (id) => (id === CLS ? '[CLS]' : '[SEP]'))).toEqual(['[CLS]', 'a', 'bcd', '', 'ef', '[SEP]']);
  });
  it('truncated with special tokens: [SEP] keeps its own values and no word takes them (NeuroX defect avoided)', () => {
    // NeuroX gives the word that would have fitted but for [SEP] the [SEP] values, then an all-zero row.
    const cut = planSentence([[5], [6], [7], [8], [9]], BERT, specials, 6);
    const out = aggregateWords(cut, traceableStates(1, 1, 6, 3), 0, 'last', true);
    const tokens = tokensOf(['w0', 'w1', 'w2', 'w3', 'w4'], cut, true, (id) => (id === CLS ? '[CLS]' : '[SEP]'));
    expect(tokens).toEqual(['[CLS]', 'w0', 'w1', 'w2', 'w3', '[SEP]']);
    const rows = [...Array(tokens.length).keys()].map((t) => out[t * 3]);
    expect(rows).toEqual([0, 1, 2, 3, 4, 5]); // each row is its own position; none is zero-filled
  });
});
