/**
 * How many monospace cells a piece of text takes, NeuroX's layout unit
 * (one cell = 0.601 * font size). NeuroX counts one cell per code point,
 * which is wrong for three kinds of text that users' corpora contain:
 * - combining marks (`e` + U+0301) and other zero-width code points (ZWJ,
 *   variation selectors): 0 cells, they draw on the previous character;
 * - East Asian wide and fullwidth characters (CJK, kana, Hangul): 2 cells;
 * - emoji, including ZWJ sequences, skin tones and flags: 2 cells per
 *   user-perceived character (grapheme cluster), as monospace fonts and
 *   terminals draw them.
 * Widths are per grapheme cluster (Intl.Segmenter), so a token can be split
 * for wrapping without cutting a character apart.
 */

import { xmlSafe } from './xml.ts';

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** Printable ASCII, the common case, one cell per character without segmenting. */
const ASCII = /^[\x20-\x7e]*$/;
const ZERO_WIDTH = /^[\p{M}\p{Default_Ignorable_Code_Point}]/u;
const EMOJI = /\p{Emoji_Presentation}|\ufe0f|\p{Regional_Indicator}/u;

/** East Asian Wide (W) and Fullwidth (F) ranges of Unicode 15 that are not emoji, as [first, last] pairs. */
const WIDE: readonly number[] = [
  0x1100, 0x115f, 0x2e80, 0x303e, 0x3041, 0x33ff, 0x3400, 0x4dbf, 0x4e00, 0x9fff, 0xa000, 0xa4cf,
  0xa960, 0xa97f, 0xac00, 0xd7a3, 0xf900, 0xfaff, 0xfe10, 0xfe19, 0xfe30, 0xfe6f, 0xff00, 0xff60,
  0xffe0, 0xffe6, 0x16fe0, 0x16fe4, 0x17000, 0x18cd5, 0x1b000, 0x1b2fb, 0x20000, 0x2fffd, 0x30000, 0x3fffd,
];

function isWide(cp: number): boolean {
  if (cp < WIDE[0]!) return false;
  for (let i = 0; i < WIDE.length; i += 2) {
    if (cp < WIDE[i]!) return false;
    if (cp <= WIDE[i + 1]!) return true;
  }
  return false;
}

/** Cells of one grapheme cluster: 0, 1 or 2. */
export function graphemeCells(g: string): number {
  if (g.length === 0 || ZERO_WIDTH.test(g)) return 0;
  if (EMOJI.test(g)) return 2;
  return isWide(g.codePointAt(0)!) ? 2 : 1;
}

/** Cells of a string (sum over its grapheme clusters). */
export function textCells(s: string): number {
  if (ASCII.test(s)) return s.length;
  let n = 0;
  for (const { segment } of segmenter.segment(s)) n += graphemeCells(segment);
  return n;
}

/**
 * Splits `s` into pieces of at most `maxCells` cells at grapheme boundaries,
 * for a token longer than a line. A single grapheme wider than `maxCells`
 * (a 2-cell character with maxCells 1) is a piece of its own.
 * Returns the pieces with their cells; `""` gives one empty piece.
 */
export function splitCells(s: string, maxCells: number): { text: string; cells: number }[] {
  const out: { text: string; cells: number }[] = [];
  let text = '';
  let cells = 0;
  for (const { segment } of segmenter.segment(s)) {
    const w = graphemeCells(segment);
    if (w > 0 && cells > 0 && cells + w > maxCells) {
      out.push({ text, cells });
      text = '';
      cells = 0;
    }
    text += segment;
    cells += w;
  }
  out.push({ text, cells });
  return out;
}

/**
 * What is drawn for a token: tab, newline, carriage return and the Unicode
 * line/paragraph separators become a space (one cell, so a token that
 * contains them keeps its highlight under its glyphs), other control
 * characters, lone surrogates and U+FFFE/U+FFFF become U+FFFD (XML
 * forbids them), everything else is kept.
 */
export function displayText(token: string): string {
  if (ASCII.test(token)) return token;
  return xmlSafe(token.replace(/[\p{Cc}\u2028\u2029]/gu, (c) => (/[\t\n\r\u2028\u2029]/.test(c) ? ' ' : '\ufffd')));
}
