/**
 * NeuroX's visualize_activations: an SVG of a sentence with each token's
 * background coloured by its activation (colors[0] below zero, colors[1]
 * above), as one standalone SVG string.
 *
 * Kept from NeuroX: the colour rule, `darken`, the monospace layout (a cell
 * is 0.601 * fontSize wide, a line 1.25 * fontSize tall, canvas
 * (charLimit + 1) cells wide and lines * 1.5 * fontSize tall), filter_fn and
 * its 'top_tokens', the validation. Changed (see README, "Deliberate
 * differences from NeuroX"): one rectangle per token instead of one per
 * character per coat; right-to-left lines that keep each token's colour under
 * its own glyphs; no crash or shift on long, empty or whitespace-holding
 * tokens; a width model for combining marks, CJK and emoji; no `nan` output;
 * optional fixed scale, hover values, caption and legend.
 */
import { InputError } from '../errors.ts';
import { checkColour, fixedScale, opacityOf, sentenceScale, type Scale } from './colour.ts';
import { layoutTokens, pieceBox } from './layout.ts';
import { displayText } from './textWidth.ts';
import { escapeXml, label, num } from './xml.ts';

/** NeuroX's filter_fn: 'top_tokens' or a function returning as many values as it is given. */
export type FilterFn = 'top_tokens' | ((activations: number[]) => number[]);

export interface RenderOptions {
  /** Coats of background paint; effective opacity 1 - (1 - a)^darken. Default 2; 0 paints nothing. */
  darken?: number;
  /** [negative, positive]; `#rgb`, `#rrggbb` or a CSS colour name. Default ['#d35f5f', '#00aad4']. */
  colors?: readonly [string, string];
  /** 'ltr' or 'rtl', case-insensitive. Default 'ltr'. */
  textDirection?: 'ltr' | 'rtl';
  /** Most cells on a line (a positive integer). Default 60. */
  charLimit?: number;
  /** Font size in px (positive). Default 20. */
  fontSize?: number;
  filterFn?: FilterFn;
  /** Fixed scale so that sentences of one neuron compare (see colour.ts); default: per sentence, like NeuroX. */
  vmin?: number;
  vmax?: number;
  /** A label under the text, e.g. 'layer 3 · neuron 17'. */
  caption?: string;
  /** A `<title>` (hover text) on each token's background with its raw activation. Default true. */
  titles?: boolean;
  /** Swatches under the text with the activations painted at full colour. Default false. */
  legend?: boolean;
}

/**
 * Fonts whose advance is 0.6 em, as NeuroX's 0.601 assumes; Courier first, as
 * in NeuroX. Unquoted (valid CSS for multi-word names) because resvg 2.6
 * ignores a quoted name that follows ", " and falls back to a proportional font.
 */
export const FONT_FAMILY = 'Courier New, Courier, Liberation Mono, DejaVu Sans Mono, Menlo, Consolas, monospace';

const DEFAULT_COLORS: readonly [string, string] = ['#d35f5f', '#00aad4'];

interface Resolved {
  darken: number;
  colors: readonly [string, string];
  rtl: boolean;
  charLimit: number;
  fontSize: number;
  scale: Scale | null;
  titles: boolean;
  legend: boolean;
  caption: string | undefined;
}

function resolve(o: RenderOptions): Resolved {
  const darken = o.darken ?? 2;
  if (typeof darken !== 'number' || !Number.isFinite(darken) || darken < 0) throw new InputError(`darken ${String(darken)} must be a finite number >= 0`);
  const colors = o.colors ?? DEFAULT_COLORS;
  if (!Array.isArray(colors) || colors.length !== 2) throw new InputError(`colors must be two colours [negative, positive], got ${JSON.stringify(colors)}`);
  const checked = [checkColour(colors[0], 'colors[0]'), checkColour(colors[1], 'colors[1]')] as const;
  const dir = o.textDirection ?? 'ltr';
  const lower = typeof dir === 'string' ? dir.toLowerCase() : dir;
  if (lower !== 'ltr' && lower !== 'rtl') throw new InputError(`textDirection ${JSON.stringify(dir)} must be one of ['ltr', 'rtl']`);
  const charLimit = o.charLimit ?? 60;
  if (!Number.isInteger(charLimit) || charLimit <= 0) throw new InputError(`charLimit ${String(charLimit)} must be a positive integer`);
  const fontSize = o.fontSize ?? 20;
  if (typeof fontSize !== 'number' || !Number.isFinite(fontSize) || fontSize <= 0) throw new InputError(`fontSize ${String(fontSize)} must be a positive number`);
  if (o.caption !== undefined && typeof o.caption !== 'string') throw new InputError(`caption must be a string, got ${typeof o.caption}`);
  return {
    darken,
    colors: checked,
    rtl: lower === 'rtl',
    charLimit,
    fontSize,
    scale: fixedScale(o.vmin, o.vmax),
    titles: o.titles ?? true,
    legend: o.legend ?? false,
    caption: o.caption,
  };
}

function toNumbers(values: ArrayLike<number>, what: string): number[] {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number') throw new InputError(`${what} ${i} is ${JSON.stringify(v) ?? String(v)}, not a number`);
    out[i] = v;
  }
  return out;
}

/** NeuroX's 'top_tokens': keeps a where |a| > 0.8 * max|a|, else 0; the max is over finite values, so ±Infinity is kept. */
export function topTokens(activations: readonly number[]): number[] {
  let max = 0;
  for (const a of activations) if (Math.abs(a) > max && Math.abs(a) !== Infinity) max = Math.abs(a);
  const threshold = 0.8 * max;
  return activations.map((a) => (Math.abs(a) > threshold ? a : 0));
}

function applyFilter(filterFn: FilterFn | undefined, values: number[]): number[] {
  if (filterFn === undefined) return values;
  if (filterFn === 'top_tokens') return topTokens(values);
  if (typeof filterFn !== 'function') throw new InputError(`filterFn ${JSON.stringify(filterFn)} must be 'top_tokens' or a function`);
  const out: unknown = filterFn(values.slice());
  if (out === null || typeof out !== 'object' || typeof (out as ArrayLike<number>).length !== 'number') {
    throw new InputError(`filterFn returned ${typeof out}, expected an array of ${values.length} numbers`);
  }
  const arr = out as ArrayLike<number>;
  if (arr.length !== values.length) throw new InputError(`filterFn returned ${arr.length} values for ${values.length} activations`);
  return toNumbers(arr, 'filterFn value');
}

/**
 * The SVG document (a string) of `tokens` with each background coloured by
 * the matching activation. Throws InputError on bad input, naming the value.
 */
export function visualizeActivations(tokens: readonly string[], activations: ArrayLike<number>, options: RenderOptions = {}): string {
  if (!Array.isArray(tokens)) throw new InputError('tokens must be an array of strings');
  if (activations === null || typeof activations !== 'object' || typeof activations.length !== 'number') {
    throw new InputError('activations must be an array of numbers');
  }
  if (tokens.length !== activations.length) {
    throw new InputError(`${tokens.length} tokens but ${activations.length} activations: there must be one activation per token`);
  }
  const o = resolve(options);
  const texts = tokens.map((t, i) => {
    if (typeof t !== 'string') throw new InputError(`token ${i} is ${typeof t}, not a string`);
    return displayText(t);
  });
  const raw = toNumbers(activations, 'activation');
  const shown = applyFilter(options.filterFn, raw);
  const scale = o.scale ?? sentenceScale(shown);

  const fs = o.fontSize;
  const cw = fs * 0.601;
  const ch = fs * 1.25;
  const rectTop = fs * 0.35; // NeuroX's 7 px at 20 px
  const layout = layoutTokens(texts, o.charLimit);
  const width = layout.widthCells * cw;
  // NeuroX's height, grown where it would cut off a one-line sentence's backgrounds.
  const textHeight = Math.max(layout.nLines * ch * 1.2, rectTop + layout.nLines * ch);
  const footer = o.caption !== undefined || o.legend;
  const height = textHeight + (footer ? ch : 0);

  const opacity = shown.map((a) => opacityOf(a, scale, o.darken));
  const rects: [string, string] = ['', ''];
  let glyphs = '';
  const rh = num(ch);
  for (const p of layout.pieces) {
    const box = pieceBox(p, layout.widthCells, o.rtl);
    const op = opacity[p.token]!;
    if (op > 0 || o.titles) {
      const side = shown[p.token]! > 0 ? 1 : 0;
      let r = `<rect x="${num(box.start * cw)}" y="${num(rectTop + p.line * ch)}" width="${num((box.end - box.start) * cw)}" height="${rh}"`;
      const fo = num(op, 3);
      if (fo !== '1') r += ` fill-opacity="${fo}"`;
      r += o.titles ? `><title>${label(raw[p.token]!)}</title></rect>` : '/>';
      rects[side] += r;
    }
    if (p.text.length > 0) {
      glyphs += `<tspan x="${num(((box.glyphStart + box.glyphEnd) / 2) * cw)}" y="${num((p.line + 1) * ch)}">${escapeXml(p.text)}</tspan>`;
    }
  }

  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}">`;
  if (rects[0]) svg += `<g fill="${o.colors[0]}">${rects[0]}</g>`;
  if (rects[1]) svg += `<g fill="${o.colors[1]}">${rects[1]}</g>`;
  // Each token is its own anchored chunk centred on its cells, so a font whose
  // advance differs slightly from 0.601 em still keeps every glyph inside its
  // highlight; pointer-events lets hovering a glyph reach the rect's title.
  // No whitespace between tspans: xml:space="preserve" would draw it.
  if (glyphs) {
    svg += `<text font-family="${FONT_FAMILY}" font-size="${num(fs)}" text-anchor="middle" xml:space="preserve" pointer-events="none"${o.rtl ? ' direction="rtl"' : ''}>${glyphs}</text>`;
  }
  if (footer) svg += footerSvg(o, scale, width, textHeight, ch);
  return svg + '</svg>';
}

/** Caption (left) and legend swatches (right) on one line under the text. */
function footerSvg(o: Resolved, scale: Scale, width: number, top: number, ch: number): string {
  const fs = o.fontSize * 0.7;
  const baseline = top + ch * 0.75;
  let out = `<g font-family="${FONT_FAMILY}" font-size="${num(fs)}" fill="#444">`;
  if (o.caption !== undefined) out += `<text x="0" y="${num(baseline)}">${escapeXml(displayText(o.caption))}</text>`;
  if (o.legend) {
    const cw = fs * 0.601;
    const sw = fs * 0.8; // swatch side
    let x = width;
    const items = [
      { colour: o.colors[1], text: label(scale.pos) },
      { colour: o.colors[0], text: label(-scale.neg) },
    ];
    for (const it of items) {
      x -= it.text.length * cw;
      out += `<text x="${num(x)}" y="${num(baseline)}">${escapeXml(it.text)}</text>`;
      x -= sw + cw * 0.5;
      out += `<rect x="${num(x)}" y="${num(baseline - sw)}" width="${num(sw)}" height="${num(sw)}" fill="${it.colour}"/>`;
      x -= cw * 2;
    }
  }
  return out + '</g>';
}
