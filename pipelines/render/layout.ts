/**
 * Where each token goes, in monospace cells (NeuroX's model: the text is the
 * tokens joined by single spaces, broken at token boundaries into lines of at
 * most `charLimit` cells; a token's background spans its characters and the
 * space after it).
 *
 * Unlike NeuroX, every token has a fixed position of its own, so nothing in
 * one token (spaces, tabs, emptiness, wide characters) can move another
 * token's glyphs or colours, and a token wider than a line is split at
 * grapheme boundaries onto lines of its own instead of overflowing the canvas
 * (or, as NeuroX's first token does, crashing).
 */
import { splitCells, textCells } from './textWidth.ts';

/** One token's glyphs on one line (a token wider than `charLimit` has several pieces). */
export interface Piece {
  /** Index of the token in the sentence. */
  readonly token: number;
  readonly line: number;
  /** First cell of the glyphs, counted from the start of the line in reading order. */
  readonly col: number;
  /** Width of the glyphs in cells. */
  readonly cells: number;
  readonly text: string;
  /** Whether the token's following space is on this piece (true for its last piece). */
  readonly space: boolean;
}

export interface Layout {
  /** In token order, then piece order. */
  readonly pieces: readonly Piece[];
  /** At least 1 (an empty sentence still has one empty line). */
  readonly nLines: number;
  /** Canvas width in cells: charLimit + 1, wider only where one grapheme is wider than charLimit. */
  readonly widthCells: number;
}

/** Lays out display texts (already passed through `displayText`) into lines of at most `charLimit` cells. */
export function layoutTokens(texts: readonly string[], charLimit: number): Layout {
  const pieces: Piece[] = [];
  let line = 0;
  let col = 0; // cells used on this line, each placed token's space included
  let widest = charLimit;
  for (let t = 0; t < texts.length; t++) {
    const text = texts[t]!;
    const cells = textCells(text);
    // The line's text (previous tokens, their spaces, this token) must fit in charLimit.
    if (col > 0 && col + cells > charLimit) {
      line++;
      col = 0;
    }
    if (cells <= charLimit) {
      pieces.push({ token: t, line, col, cells, text, space: true });
      col += cells + 1;
      continue;
    }
    const parts = splitCells(text, charLimit);
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      const last = i === parts.length - 1;
      widest = Math.max(widest, p.cells);
      pieces.push({ token: t, line, col: 0, cells: p.cells, text: p.text, space: last });
      if (last) col = p.cells + 1;
      else line++;
    }
  }
  return { pieces, nLines: line + 1, widthCells: widest + 1 };
}

/**
 * A piece's horizontal extent in cells from the canvas's left edge: its glyphs
 * `[glyphStart, glyphEnd)` and its background `[start, end)` (the glyphs plus
 * the following space, which in right-to-left text lies to their left).
 * Right-to-left lines start at the canvas's right edge.
 */
export function pieceBox(p: Piece, widthCells: number, rtl: boolean): { start: number; end: number; glyphStart: number; glyphEnd: number } {
  const space = p.space ? 1 : 0;
  if (!rtl) return { start: p.col, end: p.col + p.cells + space, glyphStart: p.col, glyphEnd: p.col + p.cells };
  const glyphEnd = widthCells - p.col;
  const glyphStart = glyphEnd - p.cells;
  return { start: glyphStart - space, end: glyphEnd, glyphStart, glyphEnd };
}
