/**
 * What every plot shares: a white canvas with a title, a plot area with
 * margins, linear scales, "nice" tick values (1, 2, 5 x 10^k) and the two
 * axes. Text is monospace so that label widths can be computed with the
 * render module's cell model (one cell = 0.601 em), keeping labels from
 * overlapping without a font at hand.
 */
import { InputError } from '../errors.ts';
import { FONT_FAMILY } from '../render/svg.ts';
import { displayText, textCells } from '../render/textWidth.ts';
import { escapeXml, label, num } from '../render/xml.ts';

export const TICK_FONT = 11;
export const TITLE_FONT = 14;
export const INK = '#333';
export const GRID = '#e6e6e6';
export const MUTED = '#666';

/** Caller text (titles, tokens) made safe as element text: escaped, controls replaced. */
export function safeText(s: string): string {
  return escapeXml(displayText(s));
}

/** Width in px of `s` at `fontSize` in the monospace font. */
export function textWidth(s: string, fontSize: number): number {
  return textCells(s) * fontSize * 0.601;
}

/** Maps [d0, d1] onto [r0, r1]; a zero-width domain maps to the middle of the range. */
export function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  if (d1 === d0) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/**
 * About `target` round tick values covering [lo, hi]: steps of 1, 2 or 5 x
 * 10^k, from the first multiple of the step at or below lo to the first at or
 * above hi (so the axis can be extended to them). lo === hi gives one tick.
 */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi < lo) throw new InputError(`ticks: bad range [${lo}, ${hi}]`);
  if (lo === hi) return [lo];
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  // Multiplying integers by the step (not adding steps) keeps 0.1 * 3 from drifting further.
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

export function checkSize(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new InputError(`${what} ${String(value)} must be a positive number`);
  return value;
}

/** Opening of a standalone SVG with a white background and an optional centred title. */
export function svgOpen(width: number, height: number, title: string | undefined): string {
  let s = `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" font-family="${FONT_FAMILY}">`;
  s += `<rect width="100%" height="100%" fill="#fff"/>`;
  if (title !== undefined) s += `<text x="${num(width / 2)}" y="${num(TITLE_FONT + 6)}" font-size="${TITLE_FONT}" font-weight="bold" text-anchor="middle" fill="${INK}">${safeText(title)}</text>`;
  return s;
}

/** The plot area in px: x from x0 to x1, y from y0 (top) to y1 (bottom). */
export interface Area {
  readonly x0: number;
  readonly x1: number;
  readonly y0: number;
  readonly y1: number;
}

/** A horizontal axis along the bottom of `area`: ticks, labels and an axis title. */
export function xAxis(area: Area, ticks: readonly number[], x: (v: number) => number, title: string | undefined, grid: boolean): string {
  let s = `<g font-size="${TICK_FONT}" fill="${INK}" text-anchor="middle">`;
  for (const t of ticks) {
    const px = num(x(t));
    if (grid) s += `<line x1="${px}" x2="${px}" y1="${num(area.y0)}" y2="${num(area.y1)}" stroke="${GRID}"/>`;
    s += `<line x1="${px}" x2="${px}" y1="${num(area.y1)}" y2="${num(area.y1 + 4)}" stroke="${INK}"/>`;
    s += `<text x="${px}" y="${num(area.y1 + 6 + TICK_FONT)}">${escapeXml(label(t))}</text>`;
  }
  s += `<line x1="${num(area.x0)}" x2="${num(area.x1)}" y1="${num(area.y1)}" y2="${num(area.y1)}" stroke="${INK}"/>`;
  if (title !== undefined) s += `<text x="${num((area.x0 + area.x1) / 2)}" y="${num(area.y1 + 10 + 2 * TICK_FONT + 4)}" fill="${MUTED}">${safeText(title)}</text>`;
  return s + '</g>';
}

/** A vertical axis along the left of `area`, with horizontal grid lines at the ticks. */
export function yAxis(area: Area, ticks: readonly number[], y: (v: number) => number, title: string | undefined): string {
  let s = `<g font-size="${TICK_FONT}" fill="${INK}" text-anchor="end">`;
  for (const t of ticks) {
    const py = num(y(t));
    s += `<line x1="${num(area.x0)}" x2="${num(area.x1)}" y1="${py}" y2="${py}" stroke="${GRID}"/>`;
    s += `<line x1="${num(area.x0 - 4)}" x2="${num(area.x0)}" y1="${py}" y2="${py}" stroke="${INK}"/>`;
    s += `<text x="${num(area.x0 - 6)}" y="${num(y(t) + TICK_FONT * 0.35)}">${escapeXml(label(t))}</text>`;
  }
  s += `<line x1="${num(area.x0)}" x2="${num(area.x0)}" y1="${num(area.y0)}" y2="${num(area.y1)}" stroke="${INK}"/>`;
  if (title !== undefined) {
    const cx = num(TICK_FONT);
    const cy = num((area.y0 + area.y1) / 2);
    s += `<text x="${cx}" y="${cy}" transform="rotate(-90 ${cx} ${cy})" text-anchor="middle" fill="${MUTED}">${safeText(title)}</text>`;
  }
  return s + '</g>';
}

/** A centred note in the plot area (e.g. "no data"). */
export function note(area: Area, text: string): string {
  return `<text x="${num((area.x0 + area.x1) / 2)}" y="${num((area.y0 + area.y1) / 2)}" font-size="${TICK_FONT + 1}" text-anchor="middle" fill="${MUTED}">${safeText(text)}</text>`;
}
