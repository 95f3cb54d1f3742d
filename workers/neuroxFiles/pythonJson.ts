/**
 * JSON as NeuroX's Python writes and reads it: `json.dumps` defaults
 * (`", "` and `": "` separators, `ensure_ascii`), floats as Python's `repr`
 * of `round(x, 8)`, and the non-standard `NaN` / `Infinity` / `-Infinity`
 * that `json.dumps` emits and `json.loads` accepts. Byte-identical output
 * lets NeuroX's own loader, and a diff, check what we write.
 */

/** Python's `repr(float)`: shortest round-trip digits, fixed for 1e-4 <= |x| < 1e16, else `1e-05` style. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // toExponential() without an argument gives the shortest round-trip digits, as repr does
  const [mantissa, expText] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const exp = Number(expText);
  const decpt = exp + 1; // position of the decimal point relative to the digits
  if (decpt <= -4 || decpt > 16) {
    const rest = digits.length > 1 ? `.${digits.slice(1)}` : '';
    const e = Math.abs(exp);
    return `${sign}${digits[0]}${rest}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/**
 * Python's `round(x, 8)`: the exact value of `x` rounded to 8 decimals, ties
 * to even. `toFixed` is exact but breaks ties away from zero. A double is an
 * exact tie at the 8th decimal iff it is an odd multiple of 1/512 (its
 * expansion then ends at the 9th decimal with a 5); those go to the even
 * neighbour.
 */
export function pythonRound8(x: number): number {
  if (!Number.isFinite(x) || Math.abs(x) >= 1e15) return x; // no fractional digits left to round
  const fixed = x.toFixed(8);
  let r = Number(fixed);
  const scaled = x * 512; // exact: a power-of-two scaling
  if (Number.isInteger(scaled) && scaled % 2 !== 0 && Number(fixed[fixed.length - 1]) % 2 === 1) {
    r = Number((Math.abs(r) - 1e-8).toFixed(8)) * Math.sign(x);
  }
  return r === 0 && (x < 0 || Object.is(x, -0)) ? -0 : r;
}

/**
 * A float as NeuroX's json writer prints it: `repr(round(x, 8))`. Fast path
 * for 1e-4 <= |x| < 1e7 (repr's fixed notation): the rounded value has at
 * most 15 significant digits, which doubles keep exactly, so its repr is
 * `toFixed(8)` without trailing zeros.
 */
export function neuroxValue(x: number): string {
  const a = Math.abs(x);
  if (a >= 1e-4 && a < 1e7) {
    const scaled = x * 512;
    const fixed = Number.isInteger(scaled) && scaled % 2 !== 0 ? pythonRound8(x).toFixed(8) : x.toFixed(8);
    let end = fixed.length;
    while (fixed.charCodeAt(end - 1) === 0x30) end--;
    return fixed.charCodeAt(end - 1) === 0x2e ? fixed.slice(0, end + 1) : fixed.slice(0, end);
  }
  return pythonFloatRepr(pythonRound8(x));
}

/** A string as `json.dumps` prints it with `ensure_ascii=True`. */
export function pythonJsonString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(start, i);
    start = i + 1;
    switch (c) {
      case 0x22: out += '\\"'; break;
      case 0x5c: out += '\\\\'; break;
      case 0x0a: out += '\\n'; break;
      case 0x0d: out += '\\r'; break;
      case 0x09: out += '\\t'; break;
      case 0x08: out += '\\b'; break;
      case 0x0c: out += '\\f'; break;
      default: out += `\\u${c.toString(16).padStart(4, '0')}`; // UTF-16 units, as Python does for astral characters
    }
  }
  return `${out}${s.slice(start)}"`;
}

const NON_FINITE = /"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)/g;

/**
 * `JSON.parse` that also accepts Python's bare `NaN`, `Infinity` and
 * `-Infinity` (outside strings). The fast path is plain `JSON.parse`.
 */
export function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    if (!/NaN|Infinity/.test(text)) throw err;
    // bare words become strings carrying a nonce absent from the text, so no real string can match them
    let nonce: string;
    do nonce = `\u0000${Math.random().toString(36).slice(2)}:`; while (text.includes(nonce));
    const values = new Map<string, number>([[`${nonce}NaN`, NaN], [`${nonce}Infinity`, Infinity], [`${nonce}-Infinity`, -Infinity]]);
    const marked = text.replace(NON_FINITE, (m: string, bare: string | undefined) => (bare ? JSON.stringify(`${nonce}${bare}`) : m));
    return JSON.parse(marked, (_key, value: unknown) => (typeof value === 'string' && values.has(value) ? values.get(value) : value));
  }
}

/**
 * Parses a JSON object of strings, keeping the order of its keys as written
 * (`JSON.parse` moves integer-like keys, e.g. a sentence "42", to the front).
 * A repeated key keeps its first position and its last value, as Python's
 * `json.loads` does.
 */
export function parseOrderedStringMap(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at character ${i}`);
  };
  const str = (): string => {
    if (text[i] !== '"') fail('expected a string');
    let j = i + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    if (j >= text.length) fail('unterminated string');
    const s = JSON.parse(text.slice(i, j + 1)) as string;
    i = j + 1;
    return s;
  };
  ws();
  if (text[i] !== '{') fail('expected an object');
  i++;
  ws();
  if (text[i] === '}') {
    i++;
  } else {
    for (;;) {
      ws();
      const key = str();
      ws();
      if (text[i] !== ':') fail("expected ':'");
      i++;
      ws();
      out.set(key, str());
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        break;
      }
      fail("expected ',' or '}'");
    }
  }
  ws();
  if (i !== text.length) fail('unexpected text after the object');
  return out;
}

/** `json.dumps` of a dict of strings, in the map's order. */
export function pythonJsonStringMap(map: ReadonlyMap<string, string>): string {
  const parts: string[] = [];
  for (const [k, v] of map) parts.push(`${pythonJsonString(k)}: ${pythonJsonString(v)}`);
  return `{${parts.join(', ')}}`;
}
