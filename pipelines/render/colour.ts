/**
 * Colours and how an activation becomes an opacity.
 *
 * NeuroX's rule, kept: with `limit = max(max(a), |min(a)|)` (the largest
 * finite |a| of the sentence), a > 0 is painted colors[1] at opacity a/limit,
 * anything else colors[0] at |a|/limit; `darken` paints that layer `darken`
 * times, which composites to `1 - (1 - opacity)^darken`, so it is computed
 * once here instead.
 *
 * Fixed scale (vmin/vmax), so that sentences of one neuron compare: vmax is
 * the activation painted colors[1] at full opacity and vmin (<= 0) the one
 * painted colors[0] at full opacity; zero is transparent, values between scale
 * linearly on their side of zero and values beyond clamp. Given only one of
 * them, the other is its negation (a symmetric scale). vmax = 0 (or vmin = 0)
 * leaves that side unpainted.
 *
 * Values NeuroX cannot handle: NaN is unpainted (opacity 0; its `<title>` says
 * NaN); +/-Infinity is painted at full opacity in its sign's colour (unless a
 * fixed scale leaves that side unpainted); non-finite values never count
 * towards the sentence's limit. When the limit is 0 (all zeros, or all zeroed
 * by 'top_tokens') every finite value is transparent, instead of NeuroX's
 * division by zero and `opacity: nan`.
 */
import { InputError } from '../errors.ts';

/** Magnitudes painted at full colour on each side of zero; 0 leaves a side unpainted. */
export interface Scale {
  readonly neg: number;
  readonly pos: number;
}

/** NeuroX's per-sentence scale: both sides at the largest finite |a|. */
export function sentenceScale(values: ArrayLike<number>): Scale {
  let limit = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]!);
    if (a > limit && a !== Infinity) limit = a;
  }
  // No finite value is non-zero, so any positive bound paints them all at 0 and infinities at 1.
  if (limit === 0) limit = 1;
  return { neg: limit, pos: limit };
}

/** The fixed scale of `vmin`/`vmax` (see the module comment), or null when neither is given. */
export function fixedScale(vmin: number | undefined, vmax: number | undefined): Scale | null {
  if (vmin === undefined && vmax === undefined) return null;
  for (const [name, v] of [['vmin', vmin], ['vmax', vmax]] as const) {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) throw new InputError(`${name} ${String(v)} is not a finite number`);
  }
  const lo = vmin ?? -vmax!;
  const hi = vmax ?? -vmin!;
  if (lo > 0) throw new InputError(`vmin ${lo} must be <= 0: colours are centred on zero (vmin is painted colors[0] at full opacity)`);
  if (hi < 0) throw new InputError(`vmax ${hi} must be >= 0: colours are centred on zero (vmax is painted colors[1] at full opacity)`);
  if (lo === 0 && hi === 0) throw new InputError('vmin and vmax are both 0: nothing would be painted');
  return { neg: -lo, pos: hi };
}

/** Effective opacity in [0, 1] of activation `a` under `scale`, after `darken` coats. */
export function opacityOf(a: number, scale: Scale, darken: number): number {
  let o = 0;
  if (a > 0) o = scale.pos > 0 ? Math.min(a / scale.pos, 1) : 0;
  else if (a < 0) o = scale.neg > 0 ? Math.min(-a / scale.neg, 1) : 0;
  if (o === 0) return 0;
  return 1 - (1 - o) ** darken;
}

/** CSS named colours: SVG renderers (browsers, resvg) all know these. */
const NAMED = new Set(
  ('aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue blueviolet brown burlywood cadetblue ' +
    'chartreuse chocolate coral cornflowerblue cornsilk crimson cyan darkblue darkcyan darkgoldenrod darkgray darkgreen darkgrey ' +
    'darkkhaki darkmagenta darkolivegreen darkorange darkorchid darkred darksalmon darkseagreen darkslateblue darkslategray ' +
    'darkslategrey darkturquoise darkviolet deeppink deepskyblue dimgray dimgrey dodgerblue firebrick floralwhite forestgreen ' +
    'fuchsia gainsboro ghostwhite gold goldenrod gray green greenyellow grey honeydew hotpink indianred indigo ivory khaki ' +
    'lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan lightgoldenrodyellow lightgray lightgreen ' +
    'lightgrey lightpink lightsalmon lightseagreen lightskyblue lightslategray lightslategrey lightsteelblue lightyellow lime ' +
    'limegreen linen magenta maroon mediumaquamarine mediumblue mediumorchid mediumpurple mediumseagreen mediumslateblue ' +
    'mediumspringgreen mediumturquoise mediumvioletred midnightblue mintcream mistyrose moccasin navajowhite navy oldlace olive ' +
    'olivedrab orange orangered orchid palegoldenrod palegreen paleturquoise palevioletred papayawhip peachpuff peru pink plum ' +
    'powderblue purple rebeccapurple red rosybrown royalblue saddlebrown salmon sandybrown seagreen seashell sienna silver ' +
    'skyblue slateblue slategray slategrey snow springgreen steelblue tan teal thistle tomato turquoise violet wheat white ' +
    'whitesmoke yellow yellowgreen').split(' '),
);

/**
 * A colour as written into the SVG: `#rgb` or `#rrggbb` (lower-cased), or a
 * CSS colour name. Anything else is an InputError naming `what` and the value,
 * so a typo fails here instead of rendering black.
 */
export function checkColour(value: unknown, what: string): string {
  if (typeof value === 'string') {
    const c = value.trim().toLowerCase();
    if (/^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/.test(c) || NAMED.has(c)) return c;
  }
  throw new InputError(`${what} ${JSON.stringify(value)} is not a colour: use #rgb, #rrggbb or a CSS colour name`);
}
