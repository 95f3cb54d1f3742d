/**
 * What a user sees: SVGs rendered by resvg, sampled at each token's
 * background. Without a font loaded resvg draws no glyphs, so backgrounds are
 * sampled at the centre of each token's cells; the glyph tests load a
 * monospace font and look for ink. Positions come from NeuroX's layout model
 * (cell = 0.601 * fontSize, line = 1.25 * fontSize, backgrounds from 0.35 *
 * fontSize below the line top), written out by hand here.
 */
import { describe, expect, it } from 'vitest';
import { visualizeActivations } from '../pipelines/render/svg.ts';
import { colourDistance, monoFont, overWhite, rasterize, type Raster } from './helpers/raster.ts';

const NEG = '#d35f5f';
const POS = '#00aad4';
const FS = 20;
const CW = FS * 0.601;
const CH = FS * 1.25;

/** Pixel at the middle of cell range [c0, c1) of `line`, in the background's lower part (under any glyph's baseline). */
function sample(r: Raster, c0: number, c1: number, line = 0): [number, number, number] {
  return r.rgb(((c0 + c1) / 2) * CW, 7 + line * CH + CH * 0.5);
}

function expectColour(actual: readonly number[], hex: string, opacity: number): void {
  const want = overWhite(hex, opacity);
  expect(colourDistance(actual, want), `got rgb(${actual.join(',')}), want rgb(${want.join(',')})`).toBeLessThanOrEqual(2);
}

/** Columns (x) with ink (a dark pixel) in the text band of `line`. */
function inkColumns(r: Raster, line: number): number[] {
  const cols: number[] = [];
  for (let x = 0; x < r.width; x++) {
    for (let y = Math.ceil(7 + line * CH); y < Math.floor(7 + (line + 1) * CH); y++) {
      const [R, G, B] = r.rgb(x, y);
      if (R < 140 && G < 140 && B < 140) {
        cols.push(x);
        break;
      }
    }
  }
  return cols;
}

describe('rendered backgrounds (resvg)', () => {
  it('paints each token in its colour at NeuroX opacity, for darken 1, 2 and 3', () => {
    const tokens = ['one', 'two', 'three', 'four'];
    const acts = [2, -1, 0.5, -2];
    // Cells: one [0,4) two [4,8) three [8,14) four [14,19), each with its space.
    const spans: [number, number][] = [[0, 4], [4, 8], [8, 14], [14, 19]];
    for (const darken of [1, 2, 3]) {
      const r = rasterize(visualizeActivations(tokens, acts, { darken }));
      const o = (a: number) => 1 - (1 - Math.abs(a) / 2) ** darken;
      spans.forEach(([c0, c1], i) => expectColour(sample(r, c0, c1), acts[i]! > 0 ? POS : NEG, o(acts[i]!)));
    }
  });

  it('darkens exactly as NeuroX painting the background darken times', () => {
    const o = 0.3;
    for (const darken of [2, 3]) {
      // NeuroX: `darken` rects of opacity o stacked; here: one rect.
      const coats = Array.from({ length: darken }, () => `<rect x="0" y="7" width="24.04" height="25" style="opacity:${o};fill:${POS}"/>`).join('');
      const neurox = rasterize(`<svg xmlns="http://www.w3.org/2000/svg" width="100" height="40">${coats}</svg>`);
      const ours = rasterize(visualizeActivations(['a', 'b'], [o, 1], { darken }));
      expect(colourDistance(sample(ours, 0, 2), neurox.rgb(12, 20))).toBeLessThanOrEqual(1);
    }
  });

  it('puts right-to-left colours on the right tokens (NeuroX takes them left to right while drawing right to left)', () => {
    // Width 11 cells; from the right edge: aa at [9,11), bbbb at [4,8), c at [2,3).
    const r = rasterize(visualizeActivations(['aa', 'bbbb', 'c'], [1, -1, 0.5], { textDirection: 'rtl', charLimit: 10 }));
    expectColour(sample(r, 9, 11), POS, 1);
    expectColour(sample(r, 4, 8), NEG, 1);
    expectColour(sample(r, 2, 3), POS, 0.75);
    // The space after each token lies to its left, in the token's colour; the rest of the line is unpainted.
    expectColour(sample(r, 8, 9), POS, 1);
    expectColour(sample(r, 3, 4), NEG, 1);
    expectColour(sample(r, 0, 1), '#ffffff', 1);
  });

  it('keeps colours on their tokens after an empty token (NeuroX shifts glyphs against highlights)', () => {
    const r = rasterize(visualizeActivations(['a', '', 'b'], [1, -1, 0.5], { darken: 1 }));
    expectColour(sample(r, 0, 2), POS, 1);
    expectColour(sample(r, 2, 3), NEG, 1);
    expectColour(sample(r, 3, 5), POS, 0.5);
  });

  it('colours a token wider than charLimit on every line it wraps onto (NeuroX overflows or crashes)', () => {
    const r = rasterize(visualizeActivations(['abcdefghijklmnopqrstuvwxy', 'z'], [1, -1], { charLimit: 10 }));
    expect(r.width).toBe(Math.round(11 * CW));
    expectColour(sample(r, 0, 10, 0), POS, 1);
    expectColour(sample(r, 0, 10, 1), POS, 1);
    expectColour(sample(r, 0, 6, 2), POS, 1);
    expectColour(sample(r, 6, 8, 2), NEG, 1);
  });

  it('parses as XML even when tokens hold characters XML forbids', () => {
    const svg = visualizeActivations(['a\u0000b', '\u001b[31m', 'ok'], [1, -1, 1]);
    const r = rasterize(svg); // resvg refuses documents that are not well-formed
    expectColour(sample(r, 0, 4), POS, 1);
  });
});

describe.skipIf(!monoFont)('rendered glyphs (resvg with a monospace font)', () => {
  /** Every inked column lies in some token's glyph cells, and every non-empty token has ink. */
  function expectGlyphsInside(r: Raster, line: number, spans: [number, number][]): void {
    const ink = inkColumns(r, line);
    expect(ink.length).toBeGreaterThan(0);
    for (const x of ink) {
      const inside = spans.some(([c0, c1]) => x >= c0 * CW - 1 && x <= c1 * CW + 1);
      expect(inside, `ink at x=${x} outside every token's cells ${JSON.stringify(spans)}`).toBe(true);
    }
    for (const [c0, c1] of spans) expect(ink.some((x) => x >= c0 * CW && x <= c1 * CW), `no ink in cells [${c0}, ${c1})`).toBe(true);
  }

  it('draws left-to-right text inside its highlights, also after empty tokens and tokens with tabs', () => {
    const r = rasterize(visualizeActivations(['Hello', '', 'wor\tld', 'cafe\u0301', '!'], [0, 0, 0, 0, 0]), { font: monoFont! });
    // Hello [0,5), '' (space at 6), wor ld [7,13), café [14,18), ! [19,20)
    expectGlyphsInside(r, 0, [[0, 5], [7, 13], [14, 18], [19, 20]]);
  });

  it('draws right-to-left text inside its highlights (NeuroX anchors it off the canvas)', () => {
    const r = rasterize(visualizeActivations(['שלום', 'עולם', 'abc'], [0, 0, 0], { textDirection: 'rtl', charLimit: 20 }), { font: monoFont! });
    // Width 21 cells: שלום [17,21), עולם [12,16), abc [8,11).
    expectGlyphsInside(r, 0, [[17, 21], [12, 16], [8, 11]]);
  });
});
