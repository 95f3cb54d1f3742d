/**
 * Bars where expected, seen by a real renderer (resvg, no font: only shapes).
 * Bars are found by their colour, so the tests do not depend on margins.
 */
import { describe, expect, it } from 'vitest';
import { histogramSvg, topWordsBarSvg, varianceDistributionSvg } from '../pipelines/plots/index.ts';
import { colourDistance, overWhite, rasterize, type Raster } from './helpers/raster.ts';

const BAR = overWhite('#00aad4', 1);
const RED = overWhite('#d35f5f', 1);
const GREY = overWhite('#8a8a8a', 1);

interface Run {
  start: number;
  end: number; // exclusive
  extent: number;
}

/** Vertical bars: maximal runs of columns holding `colour`, each with its height in px. */
function columnBars(r: Raster, colour: readonly number[]): Run[] {
  const runs: Run[] = [];
  let cur: Run | null = null;
  for (let x = 0; x < r.width; x++) {
    let h = 0;
    for (let y = 0; y < r.height; y++) if (colourDistance(r.rgb(x, y), colour) <= 3) h++;
    if (h > 0 && cur && Math.abs(cur.extent - h) <= 1) cur.end = x + 1;
    else if (h > 0) runs.push((cur = { start: x, end: x + 1, extent: h }));
    else cur = null;
  }
  return runs;
}

/** Horizontal bars: maximal runs of rows holding `colour`, each with its length in px (wider than `minLength`). */
function rowBars(r: Raster, colour: readonly number[], minLength = 12): Run[] {
  const runs: Run[] = [];
  let cur: Run | null = null;
  for (let y = 0; y < r.height; y++) {
    let w = 0;
    for (let x = 0; x < r.width; x++) if (colourDistance(r.rgb(x, y), colour) <= 3) w++;
    if (w > minLength && cur && Math.abs(cur.extent - w) <= 1) cur.end = y + 1;
    else if (w > minLength) runs.push((cur = { start: y, end: y + 1, extent: w }));
    else cur = null;
  }
  return runs;
}

describe('histogram pixels', () => {
  it('draws bar heights proportional to counts, in bin order, with a gap for an empty bin', () => {
    const r = rasterize(histogramSvg({ binLo: [0, 1, 2, 3, 4], binHi: [1, 2, 3, 4, 5], count: [2, 8, 0, 4, 1] }, { width: 500, height: 300 }));
    const bars = columnBars(r, BAR);
    expect(bars).toHaveLength(4);
    const unit = bars[1]!.extent / 8;
    expect(unit).toBeGreaterThan(10);
    [2, 8, 4, 1].forEach((c, i) => expect(Math.abs(bars[i]!.extent - c * unit)).toBeLessThanOrEqual(2));
    // Equal-width bins: bar i starts i bin-widths from the first; bin 2 is missing.
    const binWidth = bars[1]!.start - bars[0]!.start;
    expect(Math.abs(bars[2]!.start - bars[0]!.start - 3 * binWidth)).toBeLessThanOrEqual(1);
    expect(Math.abs(bars[3]!.start - bars[0]!.start - 4 * binWidth)).toBeLessThanOrEqual(1);
    // All bars stand on the same baseline.
    const bottom = (run: Run) => {
      const x = Math.floor((run.start + run.end) / 2);
      let y = r.height - 1;
      while (y > 0 && colourDistance(r.rgb(x, y), BAR) > 3) y--;
      return y;
    };
    const b0 = bottom(bars[0]!);
    for (const b of bars) expect(Math.abs(bottom(b) - b0)).toBeLessThanOrEqual(1);
  });

  it('places bars on an unevenly binned axis by their bounds', () => {
    // Bin 1 is three times as wide as bin 0 and holds the same count.
    const r = rasterize(histogramSvg({ binLo: [0, 1], binHi: [1, 4], count: [3, 3] }));
    const bars = columnBars(r, BAR);
    expect(bars).toHaveLength(2);
    const [a, b] = bars.map((x) => x.end - x.start + 1); // + the 1 px gap between neighbours
    expect(Math.abs(b! / a! - 3)).toBeLessThan(0.1);
    expect(bars[0]!.extent).toBe(bars[1]!.extent);
  });

  it("shows a layer's variance distribution as bars of neuron counts", () => {
    const equal = columnBars(rasterize(varianceDistributionSvg([1, 1, 1, 2, 3, 3], { bins: 2 })), BAR);
    expect(equal).toHaveLength(2);
    expect(equal[0]!.extent).toBe(equal[1]!.extent);
    const two = columnBars(rasterize(varianceDistributionSvg([1, 1, 1, 1, 3, 3], { bins: 2 })), BAR);
    expect(two).toHaveLength(2);
    expect(Math.abs(two[0]!.extent / two[1]!.extent - 2)).toBeLessThan(0.05);
  });
});

describe('top words pixels', () => {
  it('draws bar lengths proportional to scores, top to bottom in rank order, coloured by the sign of the mean', () => {
    const svg = topWordsBarSvg([
      { token: 'the', score: 1, count: 10, mean: 0.7 },
      { token: 'not', score: 0.6, count: 4, mean: -1.5 },
      { token: 'a', score: 0.3, count: 3, mean: 0.2 },
      { token: 'of', score: 0.45 },
    ]);
    const r = rasterize(svg);
    const blue = rowBars(r, BAR);
    const red = rowBars(r, RED);
    const grey = rowBars(r, GREY);
    expect(blue).toHaveLength(2);
    expect(red).toHaveLength(1);
    expect(grey).toHaveLength(1);
    const full = blue[0]!.extent;
    expect(Math.abs(red[0]!.extent - 0.6 * full)).toBeLessThanOrEqual(2);
    expect(Math.abs(blue[1]!.extent - 0.3 * full)).toBeLessThanOrEqual(2);
    expect(Math.abs(grey[0]!.extent - 0.45 * full)).toBeLessThanOrEqual(2);
    // Rank order: the (blue), not (red), a (blue), of (grey).
    expect(blue[0]!.start).toBeLessThan(red[0]!.start);
    expect(red[0]!.start).toBeLessThan(blue[1]!.start);
    expect(blue[1]!.start).toBeLessThan(grey[0]!.start);
  });
});
