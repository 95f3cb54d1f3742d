import { describe, expect, it } from 'vitest';
import { InputError } from '../pipelines/errors.ts';
import { niceTicks } from '../pipelines/plots/frame.ts';
import { histogramSvg, topWordsBarSvg, varianceDistributionSvg } from '../pipelines/plots/index.ts';
import { rasterize } from './helpers/raster.ts';

/** Bar titles (hover text) in document order. */
function titles(svg: string): string[] {
  return [...svg.matchAll(/<rect [^>]*><title>([^<]*)<\/title><\/rect>/g)].map((m) => m[1]!);
}

describe('plot axes', () => {
  it('picks round tick values of 1, 2 or 5 times a power of ten covering the range', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-3, 3, 5)).toEqual([-4, -2, 0, 2, 4]);
    expect(niceTicks(0, 0.3, 3)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(0, 997, 4)).toEqual([0, 500, 1000]);
    expect(niceTicks(5, 5)).toEqual([5]);
  });
});

describe('histogramSvg', () => {
  it('is a standalone SVG with one bar per non-empty bin, titled with its range and count', () => {
    const svg = histogramSvg({ binLo: [0, 1, 2, 3], binHi: [1, 2, 3, 4], count: [5, 0, 12, 1] }, { title: 'layer 0 · neuron 3', width: 400, height: 250 });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="400" height="250" viewBox="0 0 400 250"')).toBe(true);
    expect(svg).not.toMatch(/<image|href=|url\(/); // no external assets
    expect(titles(svg)).toEqual(['[0, 1]: 5', '[2, 3]: 12', '[3, 4]: 1']);
    expect(svg).toContain('>layer 0 · neuron 3</text>');
    expect(svg).toContain('>activation</text>');
    expect(svg).toContain('>count</text>');
    expect(rasterize(svg).width).toBe(400);
  });
  it('escapes the title and axis labels', () => {
    const svg = histogramSvg({ binLo: [0], binHi: [1], count: [1] }, { title: '<script>&"\'', xLabel: 'a<b', yLabel: 'c&d' });
    expect(svg).toContain('&lt;script&gt;&amp;&quot;&#39;');
    expect(svg).toContain('>a&lt;b<');
    expect(svg).toContain('>c&amp;d<');
    expect(svg).not.toContain('<script>');
    rasterize(svg); // well-formed
  });
  it('draws a constant neuron (one zero-width bin) as a visible bar', () => {
    const svg = histogramSvg({ binLo: [2.5], binHi: [2.5], count: [10] });
    const w = Number(/<rect x="[^"]+" y="[^"]+" width="([^"]+)"[^>]*><title>/.exec(svg)![1]);
    expect(w).toBeGreaterThanOrEqual(2);
  });
  it('says "no data" for an empty histogram instead of failing', () => {
    expect(histogramSvg({ binLo: [], binHi: [], count: [] })).toContain('>no data</text>');
    expect(histogramSvg({ binLo: [0], binHi: [1], count: [0] })).toContain('>no data</text>');
  });
  it('refuses bins it cannot draw, naming the bin', () => {
    const bad = (h: object, msg: string) => {
      expect(() => histogramSvg(h as never)).toThrow(InputError);
      expect(() => histogramSvg(h as never)).toThrow(msg);
    };
    bad({ binLo: [0, 1], binHi: [1], count: [1, 2] }, 'one entry per bin, got 2, 1 and 2');
    bad({ binLo: [0, 1], binHi: [1, Infinity], count: [1, 2] }, 'bin 1 is [1, Infinity]: bounds must be finite');
    bad({ binLo: [1], binHi: [0], count: [1] }, 'bin 0 is [1, 0]: its low bound is above its high bound');
    bad({ binLo: [1, 0], binHi: [2, 1], count: [1, 1] }, 'bin 1 starts at 0, before bin 0 (1)');
    bad({ binLo: [0], binHi: [1], count: [-1] }, 'bin 0 has count -1');
    expect(() => histogramSvg({ binLo: [0], binHi: [1], count: [1] }, { width: 0 })).toThrow('width 0 must be a positive number');
  });
});

describe('varianceDistributionSvg', () => {
  it('bins one layer of neuron variances into equal-width bins, the last one closed', () => {
    const svg = varianceDistributionSvg([1, 1, 1, 2, 3, 3], { bins: 2, title: 'layer 4' });
    expect(titles(svg)).toEqual(['[1, 2]: 3', '[2, 3]: 3']);
    expect(svg).toContain('>variance</text>');
    expect(svg).toContain('>neurons</text>');
    expect(svg).toContain('>layer 4</text>');
  });
  it('puts every neuron in exactly one bin', () => {
    const v = Float64Array.from({ length: 768 }, (_, i) => (i * 0.37) % 1.3);
    const counts = titles(varianceDistributionSvg(v, { bins: 30 })).map((t) => Number(t.split(': ')[1]));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(768);
  });
  it('leaves NaN variances out and says how many', () => {
    const svg = varianceDistributionSvg([1, NaN, 2, NaN], { bins: 1 });
    expect(titles(svg)).toEqual(['[1, 2]: 2']);
    expect(svg).toContain('variance (2 NaN left out)');
  });
  it('draws equal variances as one bar', () => {
    expect(titles(varianceDistributionSvg([0.5, 0.5, 0.5]))).toEqual(['[0.5, 0.5]: 3']);
  });
  it('refuses negative variances and bad bin counts', () => {
    expect(() => varianceDistributionSvg([1, -0.5])).toThrow('variance 1 is -0.5: a variance is finite and >= 0');
    expect(() => varianceDistributionSvg([1], { bins: 0 })).toThrow('bins 0 must be a positive integer');
  });
});

describe('topWordsBarSvg', () => {
  const words = [
    { token: 'the', score: 1, count: 5234, mean: 1.23 },
    { token: 'not', score: 0.5, count: 80, mean: -2 },
    { token: 'of', score: 0.25 },
  ];
  it('has one bar per word in rank order with score, count and signed mean', () => {
    const svg = topWordsBarSvg(words, { title: 'layer 3 · neuron 17' });
    expect(titles(svg)).toEqual(['the: 1 · n=5234 · mean 1.23', 'not: 0.5 · n=80 · mean -2', 'of: 0.25']);
    expect(svg).toContain('>layer 3 · neuron 17</text>');
  });
  it('keeps the first maxBars words', () => {
    expect(titles(topWordsBarSvg(words, { maxBars: 2 }))).toHaveLength(2);
    expect(() => topWordsBarSvg(words, { maxBars: 0 })).toThrow('maxBars 0 must be a positive integer');
  });
  it('escapes tokens and the title', () => {
    const svg = topWordsBarSvg([{ token: '<b>&"\'', score: 1 }], { title: 'a<b' });
    expect(svg).toContain('&lt;b&gt;&amp;&quot;&#39;');
    expect(svg).toContain('>a&lt;b<');
    expect(svg).not.toContain('<b>');
    rasterize(svg);
  });
  it('shortens long tokens in the label but keeps them whole in the hover title', () => {
    const long = 'x'.repeat(60);
    const svg = topWordsBarSvg([{ token: long, score: 1 }]);
    expect(svg).toContain(`>${'x'.repeat(23)}…</text>`);
    expect(titles(svg)[0]).toBe(`${long}: 1`);
  });
  it('says "no words" for an empty list', () => {
    expect(topWordsBarSvg([])).toContain('>no words</text>');
  });
  it('refuses words without a finite non-negative score, naming the word', () => {
    expect(() => topWordsBarSvg([{ token: 'a', score: 1 }, { token: 'b', score: NaN }])).toThrow('word 1 ("b"): score NaN must be a finite number >= 0');
    expect(() => topWordsBarSvg([{ token: 'a', score: 1, count: -2 }])).toThrow('word 0 ("a"): count -2');
  });
});
