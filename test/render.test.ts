import { describe, expect, it } from 'vitest';
import { InputError } from '../pipelines/errors.ts';
import { visualizeActivations } from '../pipelines/render/svg.ts';

/** The sentence NeuroX's 178 KB / 386-rectangle figure was measured on: 31 tokens. */
const TOKENS31 =
  'The company said on Monday that it would cut 1,200 jobs in its European operations , citing weak demand and rising costs in the first half of the financial year .'.split(' ');

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
  fill: string;
  opacity: number;
  title: string | null;
}

/** Background rects with the fill of their enclosing group. */
function rects(svg: string): Rect[] {
  const out: Rect[] = [];
  for (const g of svg.matchAll(/<g fill="([^"]+)">(.*?)<\/g>/g)) {
    for (const m of g[2]!.matchAll(/<rect x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)"(?: fill-opacity="([^"]+)")?(?:\/>|><title>([^<]*)<\/title><\/rect>)/g)) {
      out.push({
        x: Number(m[1]),
        y: Number(m[2]),
        width: Number(m[3]),
        height: Number(m[4]),
        fill: g[1]!,
        opacity: m[5] === undefined ? 1 : Number(m[5]),
        title: m[6] ?? null,
      });
    }
  }
  return out.sort((a, b) => a.y - b.y || a.x - b.x);
}

function attributes(svg: string): string[] {
  return [...svg.matchAll(/\s[\w:-]+="([^"]*)"/g)].map((m) => m[1]!);
}

describe('visualizeActivations: output size and structure', () => {
  it('draws one rect per token, not one per character per darken pass (NeuroX: 386 rects, 178 KB)', () => {
    const acts = TOKENS31.map((_, i) => Math.sin(i * 0.7) * 3.14159);
    const svg = visualizeActivations(TOKENS31, acts, { darken: 2 });
    expect(TOKENS31.length).toBe(31);
    expect(rects(svg)).toHaveLength(31);
    expect((svg.match(/<rect/g) ?? []).length).toBe(31);
    expect(Buffer.byteLength(svg)).toBeLessThan(5 * 1024);
    expect((svg.match(/<text/g) ?? []).length).toBe(1); // NeuroX redraws the text per pass
  });

  it('is a standalone SVG document with NeuroX canvas size', () => {
    const svg = visualizeActivations(['a', 'b'], [1, -1], { charLimit: 60, fontSize: 20 });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" ')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    // width (60 + 1) * 0.601 * 20; one line is 30 px in NeuroX, grown to 32 so its 7 + 25 px background is not cut.
    expect(svg).toContain('width="733.22" height="32" viewBox="0 0 733.22 32"');
    const three = visualizeActivations(['aaaa', 'bbbb', 'cccc'], [1, 2, 3], { charLimit: 5 });
    expect(three).toContain('height="90"'); // 3 lines * 25 * 1.2, as NeuroX
  });

  it('uses NeuroX colours: colors[1] for a > 0 at a/limit, colors[0] otherwise, darkened once as 1 - (1 - o)^darken', () => {
    const r = rects(visualizeActivations(['a', 'b', 'c', 'd'], [2, -1, 0, -4], { darken: 3 }));
    expect(r.map((x) => x.fill)).toEqual(['#00aad4', '#d35f5f', '#d35f5f', '#d35f5f']);
    const expected = [0.5, 0.25, 0, 1].map((o) => 1 - (1 - o) ** 3);
    r.forEach((x, i) => expect(x.opacity).toBeCloseTo(expected[i]!, 3));
  });

  it('paints nothing with darken 0, like NeuroX painting zero coats', () => {
    const r = rects(visualizeActivations(['a', 'b'], [1, -1], { darken: 0 }));
    expect(r.every((x) => x.opacity === 0)).toBe(true);
  });

  it('puts each token background across its characters plus the following space', () => {
    const r = rects(visualizeActivations(['ab', 'cde'], [1, 1], { fontSize: 10 }));
    expect(r.map((x) => [x.x, x.width])).toEqual([[0, 18.03], [18.03, 24.04]]);
    expect(r.map((x) => [x.y, x.height])).toEqual([[3.5, 12.5], [3.5, 12.5]]);
  });

  it('escapes & < > " \' in tokens and caption (as NeuroX does)', () => {
    const svg = visualizeActivations(['<b>&amp;', '"x"', "it's"], [1, 2, 3], { caption: 'a<b & "c"' });
    expect(svg).toContain('&lt;b&gt;&amp;amp;');
    expect(svg).toContain('&quot;x&quot;');
    expect(svg).toContain('it&#39;s');
    expect(svg).toContain('a&lt;b &amp; &quot;c&quot;');
    expect(svg).not.toContain('<b>');
  });

  it('writes no nan for all-zero activations (NeuroX divides by zero: opacity: nan)', () => {
    const svg = visualizeActivations(['a', 'b', 'c'], [0, 0, 0]);
    expect(svg).not.toMatch(/nan/i);
    expect(rects(svg).map((x) => x.opacity)).toEqual([0, 0, 0]);
  });

  it('writes no nan when NaN or infinite activations are present; NaN is unpainted, infinity full colour', () => {
    const svg = visualizeActivations(['a', 'b', 'c', 'd', 'e'], [NaN, Infinity, -Infinity, 2, -1]);
    for (const v of attributes(svg)) expect(v).not.toMatch(/nan|infinity/i);
    const r = rects(svg);
    expect(r.map((x) => [x.fill, x.opacity])).toEqual([
      ['#d35f5f', 0],
      ['#00aad4', 1],
      ['#d35f5f', 1],
      ['#00aad4', 1],
      ['#d35f5f', 1 - 0.5 ** 2],
    ]);
    expect(r.map((x) => x.title)).toEqual(['NaN', 'Infinity', '-Infinity', '2', '-1']);
  });

  it("writes no nan when 'top_tokens' zeroes everything", () => {
    const svg = visualizeActivations(['a', 'b'], [0, 0], { filterFn: 'top_tokens' });
    expect(svg).not.toMatch(/nan/i);
  });

  it("keeps only |a| > 0.8 max|a| with 'top_tokens', and titles show the raw activation", () => {
    const r = rects(visualizeActivations(['a', 'b', 'c', 'd'], [1, -0.85, 0.8, 0.5], { filterFn: 'top_tokens', darken: 1 }));
    expect(r.map((x) => x.opacity)).toEqual([1, 0.85, 0, 0]);
    expect(r.map((x) => x.title)).toEqual(['1', '-0.85', '0.8', '0.5']);
  });

  it('applies a filter function to a copy of the activations', () => {
    const input = [1, 2, 3];
    const r = rects(
      visualizeActivations(['a', 'b', 'c'], input, {
        darken: 1,
        filterFn: (a) => {
          a[0] = 99;
          return a.map((v) => -v);
        },
      }),
    );
    expect(input).toEqual([1, 2, 3]);
    expect(r.map((x) => x.fill)).toEqual(['#d35f5f', '#d35f5f', '#d35f5f']);
    expect(r[0]!.opacity).toBe(1);
    expect(r[1]!.opacity).toBeCloseTo(2 / 99, 3);
  });

  it('scales by a fixed vmin/vmax so sentences of one neuron compare, clamping beyond', () => {
    const r = rects(visualizeActivations(['a', 'b', 'c', 'd'], [2, 8, -1, -3], { darken: 1, vmin: -2, vmax: 4 }));
    expect(r.map((x) => x.opacity)).toEqual([0.5, 1, 0.5, 1]);
    // One bound given: the scale is symmetric.
    const s = rects(visualizeActivations(['a', 'b'], [1, -1], { darken: 1, vmax: 4 }));
    expect(s.map((x) => x.opacity)).toEqual([0.25, 0.25]);
    // The same activation gets the same colour in two sentences with different maxima.
    const one = rects(visualizeActivations(['x', 'y'], [1, 2], { vmax: 4 }))[0]!;
    const two = rects(visualizeActivations(['x', 'y'], [1, 4], { vmax: 4 }))[0]!;
    expect(one.opacity).toBe(two.opacity);
  });

  it('can leave out hover titles, and then the transparent rects too', () => {
    const svg = visualizeActivations(['a', 'b', 'c'], [1, 0, -1], { titles: false });
    expect(svg).not.toContain('<title>');
    expect(rects(svg)).toHaveLength(2);
  });

  it('labels the render with a caption and a legend of the scale', () => {
    const svg = visualizeActivations(['a', 'b'], [1, -1], { caption: 'layer 3 · neuron 17', legend: true, vmin: -2, vmax: 5 });
    expect(svg).toContain('>layer 3 · neuron 17</text>');
    expect(svg).toContain('>-2</text>');
    expect(svg).toContain('>5</text>');
    expect(svg).toContain('height="57"'); // 32 + one 25 px footer line
  });

  it('keeps tokens holding spaces, tabs and newlines on their own highlight (NeuroX: IndexError or shifted colours)', () => {
    const svg = visualizeActivations(['a b', 'c\td', 'e\nf', 'g'], [1, -1, 1, -1], { fontSize: 10 });
    const r = rects(svg);
    expect(r).toHaveLength(4);
    const cw = 6.01;
    expect(r.map((x) => Math.round(x.x / cw))).toEqual([0, 4, 8, 12]);
    expect(svg).toContain('>c d</tspan>');
    expect(svg).toContain('>e f</tspan>');
    expect(svg).not.toMatch(/>[^<]*[\t\n][^<]*</);
  });

  it('never crashes on a first token longer than charLimit (NeuroX: IndexError), keeping it inside the canvas', () => {
    const svg = visualizeActivations(['x'.repeat(25), 'y'], [1, -1], { charLimit: 10, fontSize: 10 });
    const width = Number(/width="([^"]+)"/.exec(svg)![1]);
    expect(width).toBeCloseTo(11 * 6.01, 2);
    const r = rects(svg);
    expect(r).toHaveLength(4); // 10 + 10 + 5 characters of x, then y
    for (const x of r) expect(x.x + x.width).toBeLessThanOrEqual(width + 0.01);
  });

  it('renders an empty sentence as an empty one-line canvas (NeuroX: max() of an empty list)', () => {
    const svg = visualizeActivations([], []);
    expect(svg).toContain('height="32"');
    expect(rects(svg)).toHaveLength(0);
  });

  it('accepts typed arrays of activations', () => {
    const r = rects(visualizeActivations(['a', 'b'], new Float32Array([0.5, -1]), { darken: 1 }));
    expect(r.map((x) => x.opacity)).toEqual([0.5, 1]);
  });
});

describe('visualizeActivations: validation', () => {
  const bad = (opts: object, message: string | RegExp) => {
    expect(() => visualizeActivations(['a', 'b'], [1, 2], opts)).toThrow(InputError);
    expect(() => visualizeActivations(['a', 'b'], [1, 2], opts)).toThrow(message);
  };

  it('names both counts when tokens and activations differ', () => {
    expect(() => visualizeActivations(['a', 'b', 'c'], [1, 2])).toThrow(new InputError('3 tokens but 2 activations: there must be one activation per token'));
  });
  it('accepts textDirection in any case and refuses others', () => {
    expect(() => visualizeActivations(['a'], [1], { textDirection: 'RTL' as 'rtl' })).not.toThrow();
    bad({ textDirection: 'ttb' }, `textDirection "ttb" must be one of ['ltr', 'rtl']`);
  });
  it('refuses a non-positive or fractional charLimit', () => {
    bad({ charLimit: 0 }, 'charLimit 0 must be a positive integer');
    bad({ charLimit: -3 }, 'charLimit -3 must be a positive integer');
    bad({ charLimit: 2.5 }, 'charLimit 2.5 must be a positive integer');
  });
  it('refuses colour strings that are not colours', () => {
    bad({ colors: ['#d35f5f', 'bleu'] }, 'colors[1] "bleu" is not a colour');
    bad({ colors: ['#12345', '#00aad4'] }, 'colors[0] "#12345" is not a colour');
    bad({ colors: ['red" onload="x', '#fff'] }, 'is not a colour');
    bad({ colors: ['red'] }, 'colors must be two colours');
    expect(() => visualizeActivations(['a'], [1], { colors: ['Red', '#ABC'] })).not.toThrow();
  });
  it('refuses bad darken, fontSize, vmin/vmax and filterFn', () => {
    bad({ darken: -1 }, 'darken -1 must be a finite number >= 0');
    bad({ darken: NaN }, 'darken NaN');
    bad({ fontSize: 0 }, 'fontSize 0 must be a positive number');
    bad({ vmin: 1 }, 'vmin 1 must be <= 0');
    bad({ vmax: -1, vmin: -2 }, 'vmax -1 must be >= 0');
    bad({ vmax: Infinity }, 'vmax Infinity is not a finite number');
    bad({ vmin: 0, vmax: 0 }, 'vmin and vmax are both 0');
    bad({ filterFn: 'top_words' }, `filterFn "top_words" must be 'top_tokens' or a function`);
    bad({ filterFn: (a: number[]) => a.slice(1) }, 'filterFn returned 1 values for 2 activations');
  });
  it('names a token or activation that has the wrong type', () => {
    expect(() => visualizeActivations(['a', 3 as unknown as string], [1, 2])).toThrow('token 1 is number, not a string');
    expect(() => visualizeActivations(['a', 'b'], [1, '2' as unknown as number])).toThrow('activation 1 is "2", not a number');
  });
});
