/**
 * A neuron's top words as a horizontal bar chart: one row per word in the
 * given (ranked) order, bar length = NeuroX's score, and beside it the count
 * and signed mean activation that NeuroX does not report. Bars are coloured by
 * the sign of the mean (the render colours: blue above zero, red below), so a
 * word the neuron is reliably *off* for is not mistaken for one it fires on.
 */
import { InputError } from '../errors.ts';
import { displayText, splitCells } from '../render/textWidth.ts';
import { label, num } from '../render/xml.ts';
import { INK, linear, MUTED, niceTicks, note, safeText, svgOpen, textWidth, TICK_FONT, TITLE_FONT, xAxis, type Area } from './frame.ts';

export interface TopWordBar {
  token: string;
  score: number;
  count?: number;
  mean?: number;
}

export const POSITIVE = '#00aad4';
export const NEGATIVE = '#d35f5f';
export const NEUTRAL = '#8a8a8a';

const LABEL_FONT = 12;
const ROW = 22;
const BAR_HEIGHT = 14;
/** Longest token label in cells; longer ones end in an ellipsis (the full token is in the bar's title). */
const MAX_LABEL_CELLS = 24;

function checkWords(words: readonly TopWordBar[]): void {
  if (!Array.isArray(words)) throw new InputError('words must be an array of { token, score, count?, mean? }');
  words.forEach((w, i) => {
    if (w === null || typeof w !== 'object') throw new InputError(`word ${i} is ${String(w)}, not an object`);
    if (typeof w.token !== 'string') throw new InputError(`word ${i}: token is ${typeof w.token}, not a string`);
    if (typeof w.score !== 'number' || !Number.isFinite(w.score) || w.score < 0) throw new InputError(`word ${i} (${JSON.stringify(w.token)}): score ${w.score} must be a finite number >= 0`);
    if (w.count !== undefined && (typeof w.count !== 'number' || !Number.isFinite(w.count) || w.count < 0)) throw new InputError(`word ${i} (${JSON.stringify(w.token)}): count ${w.count} must be a finite number >= 0`);
    if (w.mean !== undefined && (typeof w.mean !== 'number' || Number.isNaN(w.mean))) throw new InputError(`word ${i} (${JSON.stringify(w.token)}): mean ${w.mean} must be a number`);
  });
}

function shortLabel(token: string): string {
  const shown = displayText(token);
  const parts = splitCells(shown, MAX_LABEL_CELLS - 1);
  return parts.length > 1 && parts.slice(1).some((p) => p.cells > 0) ? parts[0]!.text + '…' : shown;
}

function annotation(w: TopWordBar): string {
  let s = label(w.score);
  if (w.count !== undefined) s += ` · n=${label(w.count)}`;
  if (w.mean !== undefined) s += ` · mean ${label(w.mean)}`;
  return s;
}

/** The first `maxBars` (default 20) words as bars; the SVG grows with the number of rows. */
export function topWordsBarSvg(words: readonly TopWordBar[], opts: { title?: string; maxBars?: number } = {}): string {
  checkWords(words);
  const maxBars = opts.maxBars ?? 20;
  if (!Number.isInteger(maxBars) || maxBars < 1) throw new InputError(`maxBars ${String(maxBars)} must be a positive integer`);
  if (opts.title !== undefined && typeof opts.title !== 'string') throw new InputError(`title must be a string, got ${typeof opts.title}`);
  const shown = words.slice(0, maxBars);
  const labels = shown.map((w) => shortLabel(w.token));
  const notes = shown.map(annotation);
  const anyMean = shown.some((w) => w.mean !== undefined);

  const labelWidth = Math.max(textWidth('word', LABEL_FONT), ...labels.map((l) => textWidth(l, LABEL_FONT)));
  const noteWidth = Math.max(0, ...notes.map((n) => textWidth(n, TICK_FONT)));
  const barWidth = 280;
  const top = opts.title !== undefined ? TITLE_FONT + 18 : 12;
  const area: Area = { x0: 12 + labelWidth + 8, x1: 12 + labelWidth + 8 + barWidth, y0: top, y1: top + Math.max(1, shown.length) * ROW };
  const width = area.x1 + 8 + noteWidth + 12;
  const height = area.y1 + TICK_FONT * 2 + 24 + (anyMean ? ROW : 0);

  const maxScore = Math.max(1, ...shown.map((w) => w.score));
  const ticks = niceTicks(0, maxScore, 5);
  const x = linear(0, ticks[ticks.length - 1]!, area.x0, area.x1);

  let s = svgOpen(width, height, opts.title);
  s += xAxis(area, ticks, x, 'score', true);
  let bars = '';
  let texts = '';
  shown.forEach((w, i) => {
    const rowTop = area.y0 + i * ROW;
    const cy = rowTop + ROW / 2;
    const fill = w.mean === undefined || w.mean === 0 ? NEUTRAL : w.mean > 0 ? POSITIVE : NEGATIVE;
    const end = x(w.score);
    const tip = `${safeText(w.token)}: ${notes[i]}`;
    bars += `<rect x="${num(area.x0)}" y="${num(cy - BAR_HEIGHT / 2)}" width="${num(end - area.x0)}" height="${BAR_HEIGHT}" fill="${fill}"><title>${tip}</title></rect>`;
    texts += `<text x="${num(area.x0 - 8)}" y="${num(cy + LABEL_FONT * 0.35)}" text-anchor="end" font-size="${LABEL_FONT}" fill="${INK}" xml:space="preserve">${safeText(labels[i]!)}</text>`;
    texts += `<text x="${num(end + 6)}" y="${num(cy + TICK_FONT * 0.35)}" font-size="${TICK_FONT}" fill="${MUTED}">${safeText(notes[i]!)}</text>`;
  });
  s += bars + texts;
  if (shown.length === 0) s += note(area, 'no words');
  if (anyMean) {
    const y = height - ROW / 2;
    const items: [string, string][] = [[POSITIVE, 'mean > 0'], [NEGATIVE, 'mean < 0']];
    let lx = area.x0;
    s += `<g font-size="${TICK_FONT}" fill="${MUTED}">`;
    for (const [colour, text] of items) {
      s += `<rect x="${num(lx)}" y="${num(y - 9)}" width="10" height="10" fill="${colour}"/><text x="${num(lx + 14)}" y="${num(y)}">${safeText(text)}</text>`;
      lx += 14 + textWidth(text, TICK_FONT) + 16;
    }
    s += '</g>';
  }
  return s + '</svg>';
}
