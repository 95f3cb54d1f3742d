/**
 * Histograms as standalone SVG: one neuron's activation histogram (the bins of
 * `histograms.parquet`) and, per layer, the distribution of its neurons'
 * variances.
 */
import { InputError } from '../errors.ts';
import { label, num } from '../render/xml.ts';
import { checkSize, linear, niceTicks, note, svgOpen, textWidth, TICK_FONT, TITLE_FONT, xAxis, yAxis, type Area } from './frame.ts';

export const BAR = '#00aad4';

/** Bins `[nBins]` each: bin i spans [binLo[i], binHi[i]] and holds count[i] values. */
export interface HistogramBins {
  binLo: ArrayLike<number>;
  binHi: ArrayLike<number>;
  count: ArrayLike<number>;
}

export interface HistogramOptions {
  title?: string;
  /** Canvas size in px (defaults 480 x 300). */
  width?: number;
  height?: number;
  /** Axis titles (defaults 'activation' and 'count'). */
  xLabel?: string;
  yLabel?: string;
}

function checkTitle(t: unknown, what: string): string | undefined {
  if (t !== undefined && typeof t !== 'string') throw new InputError(`${what} must be a string, got ${typeof t}`);
  return t;
}

/**
 * Bins must be finite, each with lo <= hi, in ascending order; counts finite
 * and >= 0. A single zero-width bin (a constant neuron) is drawn as a narrow
 * bar in the middle of a small range around its value.
 */
function checkBins(h: HistogramBins): number {
  if (h === null || typeof h !== 'object') throw new InputError('histogram must be an object with binLo, binHi and count');
  const n = h.count?.length;
  if (typeof n !== 'number' || h.binLo?.length !== n || h.binHi?.length !== n) {
    throw new InputError(`histogram: binLo, binHi and count must have one entry per bin, got ${h.binLo?.length}, ${h.binHi?.length} and ${n}`);
  }
  for (let i = 0; i < n; i++) {
    const lo = h.binLo[i]!;
    const hi = h.binHi[i]!;
    const c = h.count[i]!;
    if (typeof lo !== 'number' || typeof hi !== 'number' || !Number.isFinite(lo) || !Number.isFinite(hi)) {
      throw new InputError(`histogram: bin ${i} is [${lo}, ${hi}]: bounds must be finite numbers to be placed on an axis`);
    }
    if (hi < lo) throw new InputError(`histogram: bin ${i} is [${lo}, ${hi}]: its low bound is above its high bound`);
    if (i > 0 && lo < h.binLo[i - 1]!) throw new InputError(`histogram: bin ${i} starts at ${lo}, before bin ${i - 1} (${h.binLo[i - 1]}): bins must be in ascending order`);
    if (typeof c !== 'number' || !Number.isFinite(c) || c < 0) throw new InputError(`histogram: bin ${i} has count ${c}, expected a finite number >= 0`);
  }
  return n;
}

/** One bar per non-empty bin, bar height = count, on a linear x axis spanning the bins. */
export function histogramSvg(h: HistogramBins, opts: HistogramOptions = {}): string {
  const n = checkBins(h);
  const title = checkTitle(opts.title, 'title');
  const xLabel = checkTitle(opts.xLabel, 'xLabel') ?? 'activation';
  const yLabel = checkTitle(opts.yLabel, 'yLabel') ?? 'count';
  const width = checkSize(opts.width ?? 480, 'width');
  const height = checkSize(opts.height ?? 300, 'height');

  let lo = n > 0 ? h.binLo[0]! : 0;
  let hi = n > 0 ? h.binHi[n - 1]! : 1;
  for (let i = 0; i < n; i++) hi = Math.max(hi, h.binHi[i]!);
  if (hi === lo) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  let maxCount = 0;
  for (let i = 0; i < n; i++) maxCount = Math.max(maxCount, h.count[i]!);

  const xTicks = niceTicks(lo, hi, Math.max(2, Math.floor(width / 90))).filter((t) => t >= lo - 1e-12 * Math.abs(hi - lo) && t <= hi + 1e-12 * Math.abs(hi - lo));
  const yTicks = niceTicks(0, maxCount || 1, Math.max(2, Math.floor(height / 60)));
  const yTop = yTicks[yTicks.length - 1]!;
  const labelWidth = Math.max(...yTicks.map((t) => textWidth(label(t), TICK_FONT)));
  const area: Area = {
    x0: TICK_FONT * 2 + labelWidth + 10,
    x1: width - Math.max(12, textWidth(label(xTicks[xTicks.length - 1] ?? 0), TICK_FONT) / 2 + 4),
    y0: title !== undefined ? TITLE_FONT + 18 : 12,
    y1: height - (TICK_FONT * 2 + 20),
  };
  if (area.x1 - area.x0 < 20 || area.y1 - area.y0 < 20) throw new InputError(`histogram: ${width} x ${height} px leaves no room to plot`);
  const x = linear(lo, hi, area.x0, area.x1);
  const y = linear(0, yTop, area.y1, area.y0);

  let s = svgOpen(width, height, title);
  s += yAxis(area, yTicks, y, yLabel);
  s += `<g fill="${BAR}">`;
  for (let i = 0; i < n; i++) {
    const c = h.count[i]!;
    if (c === 0) continue;
    let left = x(h.binLo[i]!);
    let right = x(h.binHi[i]!);
    // A hairline gap between neighbours keeps bins distinct; a zero-width bin still shows.
    if (right - left > 3) {
      left += 0.5;
      right -= 0.5;
    } else if (right - left < 2) {
      const mid = (left + right) / 2;
      left = mid - 1;
      right = mid + 1;
    }
    const top = y(c);
    s += `<rect x="${num(left)}" y="${num(top)}" width="${num(right - left)}" height="${num(area.y1 - top)}"><title>[${label(h.binLo[i]!)}, ${label(h.binHi[i]!)}]: ${label(c)}</title></rect>`;
  }
  s += '</g>';
  s += xAxis(area, xTicks, x, xLabel, false);
  if (n === 0 || maxCount === 0) s += note(area, 'no data');
  return s + '</svg>';
}

/**
 * The distribution of one layer's neuron variances `[dModel]`: `bins` (default
 * 30) equal-width bins from the smallest to the largest variance, the last bin
 * closed. NaN variances (neurons with no finite values) are left out and
 * counted in the axis title; a negative or infinite variance is an InputError.
 */
export function varianceDistributionSvg(variances: ArrayLike<number>, opts: { title?: string; bins?: number; width?: number; height?: number } = {}): string {
  if (variances === null || typeof variances !== 'object' || typeof variances.length !== 'number') throw new InputError('variances must be an array of numbers');
  const bins = opts.bins ?? 30;
  if (!Number.isInteger(bins) || bins < 1) throw new InputError(`bins ${String(bins)} must be a positive integer`);
  let lo = Infinity;
  let hi = -Infinity;
  let nan = 0;
  for (let i = 0; i < variances.length; i++) {
    const v = variances[i]!;
    if (typeof v !== 'number') throw new InputError(`variance ${i} is ${typeof v}, not a number`);
    if (Number.isNaN(v)) {
      nan++;
      continue;
    }
    if (v < 0 || v === Infinity) throw new InputError(`variance ${i} is ${v}: a variance is finite and >= 0`);
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const counted = variances.length - nan;
  const nBins = counted === 0 ? 0 : lo === hi ? 1 : bins;
  const binLo = new Float64Array(nBins);
  const binHi = new Float64Array(nBins);
  const count = new Float64Array(nBins);
  const step = (hi - lo) / nBins;
  for (let b = 0; b < nBins; b++) {
    binLo[b] = lo + b * step;
    binHi[b] = b === nBins - 1 ? hi : lo + (b + 1) * step;
  }
  for (let i = 0; i < variances.length && nBins > 0; i++) {
    const v = variances[i]!;
    if (Number.isNaN(v)) continue;
    let b = nBins === 1 ? 0 : Math.min(nBins - 1, Math.floor((v - lo) / step));
    // Floating division can land a value one bin off its edges; the edges decide.
    while (b > 0 && v < binLo[b]!) b--;
    while (b < nBins - 1 && v >= binLo[b + 1]!) b++;
    count[b] = count[b]! + 1;
  }
  const xLabel = nan > 0 ? `variance (${nan} NaN left out)` : 'variance';
  return histogramSvg({ binLo, binHi, count }, { title: opts.title, width: opts.width, height: opts.height, xLabel, yLabel: 'neurons' });
}
