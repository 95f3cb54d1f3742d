import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadVocabulary, packageInfo } from '../workers/models/useLite/graph.ts';
import { PieceTokenizer, UNK_ID, WORD_START } from '../workers/models/useLite/tokenizer.ts';

interface ReferenceCase {
  readonly sentence: string;
  readonly ids: number[];
  readonly embedding?: number[];
}
/** Ids (and a few embeddings) recorded from @energetic-ai/embeddings itself; see generate.cjs there. */
const reference = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'use-lite', 'reference.json'), 'utf8')) as {
  cases: ReferenceCase[];
};

let tok: PieceTokenizer;
beforeAll(async () => {
  tok = new PieceTokenizer(await loadVocabulary((await packageInfo()).dir));
});

const piecesOf = (text: string): string[] => tok.encode(text).map((id) => tok.piece(id));
const wordPieces = (sentence: string): string[][] => {
  const wp = tok.encodeWords(sentence.split(' '));
  return Array.from(wp.wordStart, (s, w) => Array.from(wp.ids.subarray(s, wp.wordEnd[w]), (id) => tok.piece(id)));
};

describe('USE lite tokenizer', () => {
  it('gives the same piece ids as the package tokenizer on every reference sentence', () => {
    expect(reference.cases.length).toBeGreaterThan(10);
    for (const c of reference.cases) {
      expect(tok.encode(c.sentence), c.sentence).toEqual(c.ids);
    }
  });

  it('tokenising word by word (NFKC per word) gives the same pieces as the whole sentence', () => {
    for (const c of reference.cases) {
      expect(Array.from(tok.encodeWords(c.sentence.split(' ')).ids), c.sentence).toEqual(c.ids);
    }
  });

  it('gives every word a contiguous run of pieces that starts at its word-start mark and spells the word', () => {
    for (const c of reference.cases) {
      const words = c.sentence.split(' ');
      const wp = tok.encodeWords(words);
      if (c.sentence === '') continue;
      expect(wp.wordStart[0]).toBe(0);
      expect(wp.wordEnd[words.length - 1]).toBe(wp.ids.length);
      for (let w = 0; w < words.length; w++) {
        const ids = Array.from(wp.ids.subarray(wp.wordStart[w], wp.wordEnd[w]));
        expect(ids.length, `${c.sentence} word ${w}`).toBeGreaterThan(0);
        expect(tok.piece(ids[0]!).startsWith(WORD_START), `${c.sentence} word ${w}`).toBe(true);
        if (w > 0) expect(wp.wordStart[w]).toBe(wp.wordEnd[w - 1]);
        if (!ids.includes(UNK_ID)) {
          const spelled = ids.map((id) => tok.piece(id)).join('');
          expect(spelled).toBe(WORD_START + words[w]!.normalize('NFKC').replaceAll(' ', WORD_START));
        }
      }
    }
  });

  it('splits words into several pieces and punctuation into the mark plus the symbol', () => {
    expect(wordPieces('unbelievably Hello ,')).toEqual([['▁un', 'bel', 'ie', 'v', 'ably'], ['▁H', 'ello'], ['▁', ',']]);
  });

  it('normalises unicode with NFKC and turns unknown characters into one merged unk', () => {
    expect(piecesOf('ﬁnance')).toEqual(piecesOf('finance'));
    expect(piecesOf('e\u0301')).toEqual(piecesOf('\u00e9'));
    expect(piecesOf('ＡＢＣ')).toEqual(piecesOf('ABC'));
    const emoji = tok.encode('😀😀');
    expect(emoji).toEqual([30, UNK_ID]); // '▁' then one unk for both emoji
  });

  it('tokenises the empty sentence to nothing, and an empty word between two spaces to a lone mark', () => {
    const empty = tok.encodeWords(['']);
    expect(empty.ids.length).toBe(0);
    expect([empty.wordStart[0], empty.wordEnd[0]]).toEqual([0, 0]);
    expect(wordPieces('a  b')).toEqual([['▁a'], ['▁'], ['▁b']]);
  });

  it('scores the null-score pieces (those with ":") as 0, as the package does', () => {
    const c = reference.cases.find((x) => x.sentence.includes('10:30'));
    expect(c).toBeDefined();
    expect(piecesOf(c!.sentence)).toContain(':30');
    // At the start of a sentence the running score of '▁:)' is exactly 0,
    // which the package's Viterbi treats as "unset" and overwrites.
    expect(piecesOf(':)')).toEqual(['▁', ':', ')']);
  });

  // The two rules below never decide a real-vocabulary case we could find,
  // so they are pinned on a tiny vocabulary.
  const reserved = ['<unk>', '<s>', '</s>', 'e1', 'e2', 'e3'].map((p) => [p, 0] as const);

  it('breaks Viterbi ties towards the later start (the shorter last piece), as the package does', () => {
    const small = new PieceTokenizer([...reserved, ['▁', -1], ['a', -1], ['b', -1], ['ab', -2]]);
    // '▁' 'ab' and '▁' 'a' 'b' both score -3
    expect(small.encode('ab').map((id) => small.piece(id))).toEqual(['▁', 'a', 'b']);
  });

  it('gives a piece listed twice the id and score of its last entry', () => {
    const small = new PieceTokenizer([...reserved, ['▁', -1], ['x', -1], ['x', -2]]);
    expect(small.encode('x')).toEqual([6, 8]);
  });
});
