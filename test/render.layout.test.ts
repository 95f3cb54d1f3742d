import { describe, expect, it } from 'vitest';
import { layoutTokens, pieceBox } from '../pipelines/render/layout.ts';
import { displayText, splitCells, textCells } from '../pipelines/render/textWidth.ts';

describe('width model (NeuroX counts one 0.601 em cell per code point)', () => {
  it('gives combining marks and zero-width joiners no width', () => {
    expect(textCells('cafe\u0301')).toBe(4);
    expect(textCells('a\u200db')).toBe(2);
    expect(textCells('Vie\u0323\u0302t')).toBe(4); // two marks on one letter
  });
  it('gives CJK and fullwidth characters two cells', () => {
    expect(textCells('東京')).toBe(4);
    expect(textCells('한국어')).toBe(6);
    expect(textCells('ＡＢ')).toBe(4);
    expect(textCells('カタカナ')).toBe(8);
  });
  it('gives an emoji two cells, also as a ZWJ sequence, with a skin tone or as a flag', () => {
    expect(textCells('😀')).toBe(2);
    expect(textCells('👨‍👩‍👧')).toBe(2);
    expect(textCells('👍🏽')).toBe(2);
    expect(textCells('🇫🇷')).toBe(2);
    expect(textCells('❤️')).toBe(2);
  });
  it('keeps one cell per printable ASCII character', () => {
    expect(textCells('hello, world')).toBe(12);
    expect(textCells('')).toBe(0);
  });
  it('splits at grapheme boundaries without cutting a character apart', () => {
    expect(splitCells('abcdefg', 3).map((p) => p.text)).toEqual(['abc', 'def', 'g']);
    expect(splitCells('e\u0301e\u0301e\u0301', 2).map((p) => p.text)).toEqual(['e\u0301e\u0301', 'e\u0301']);
    expect(splitCells('東京都', 3).map((p) => p.cells)).toEqual([2, 2, 2]);
    // A character wider than the limit is a piece of its own rather than an endless loop.
    expect(splitCells('東a', 1).map((p) => p.text)).toEqual(['東', 'a']);
  });
  it('draws tabs and newlines as one space each and replaces characters XML forbids', () => {
    expect(displayText('a\tb\nc\rd')).toBe('a b c d');
    expect(displayText('x\u0000y\u001b')).toBe('x\ufffdy\ufffd');
    expect(displayText('lone\ud800')).toBe('lone\ufffd');
    expect(displayText('ok 😀')).toBe('ok 😀');
  });
});

describe('line layout', () => {
  it('fits a line of exactly charLimit characters on one line (NeuroX breaks it at charLimit - 1)', () => {
    // "aaaa bbbb" is 9 characters: NeuroX's _break_lines(limit=9) gives two lines.
    const l = layoutTokens(['aaaa', 'bbbb'], 9);
    expect(l.nLines).toBe(1);
    expect(l.widthCells).toBe(10);
    expect(layoutTokens(['aaaa', 'bbbbb'], 9).nLines).toBe(2);
  });
  it('breaks at token boundaries like NeuroX otherwise', () => {
    const l = layoutTokens(['The', 'quick', 'brown', 'fox'], 10);
    expect(l.pieces.map((p) => [p.line, p.col])).toEqual([[0, 0], [0, 4], [1, 0], [1, 6]]);
  });
  it('wraps a first token longer than charLimit onto lines of its own (NeuroX: IndexError)', () => {
    const l = layoutTokens(['abcdefghijkl', 'x'], 5);
    expect(l.pieces.map((p) => [p.token, p.line, p.text, p.space])).toEqual([
      [0, 0, 'abcde', false],
      [0, 1, 'fghij', false],
      [0, 2, 'kl', true],
      [1, 2, 'x', true],
    ]);
    expect(l.widthCells).toBe(6);
  });
  it('keeps every background inside the canvas for over-long tokens anywhere in the sentence', () => {
    const toks = ['a', 'x'.repeat(130), 'b', '東'.repeat(40), 'c'];
    for (const rtl of [false, true]) {
      const l = layoutTokens(toks, 60);
      for (const p of l.pieces) {
        const b = pieceBox(p, l.widthCells, rtl);
        expect(b.start).toBeGreaterThanOrEqual(0);
        expect(b.end).toBeLessThanOrEqual(l.widthCells);
      }
    }
  });
  it('gives an empty token its space cell without moving the next token (NeuroX shifts glyphs)', () => {
    const l = layoutTokens(['a', '', 'b'], 60);
    expect(l.pieces.map((p) => [p.col, p.cells])).toEqual([[0, 1], [2, 0], [3, 1]]);
  });
  it('lays right-to-left lines out from the right edge, space to the left of each token', () => {
    const l = layoutTokens(['aa', 'bbbb', 'c'], 10);
    const boxes = l.pieces.map((p) => pieceBox(p, l.widthCells, true));
    expect(boxes).toEqual([
      { start: 8, end: 11, glyphStart: 9, glyphEnd: 11 },
      { start: 3, end: 8, glyphStart: 4, glyphEnd: 8 },
      { start: 1, end: 3, glyphStart: 2, glyphEnd: 3 },
    ]);
  });
});
