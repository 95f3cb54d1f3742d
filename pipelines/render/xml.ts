/**
 * The two things every SVG writer here needs: text that cannot break out of
 * its element or attribute, and numbers written as short as they can be
 * without changing what a renderer draws.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes `& < > " '` so a string is safe as element text and inside either kind of attribute quotes. */
export function escapeXml(s: string): string {
  return /[&<>"']/.test(s) ? s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c) : s;
}

/**
 * Characters that XML 1.0 forbids in a document (C0 controls other than tab,
 * LF and CR; lone surrogates; U+FFFE, U+FFFF) make a browser refuse the whole
 * SVG, so they become U+FFFD.
 */
export function xmlSafe(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/**
 * A coordinate or opacity with at most `decimals` decimals, trailing zeros and
 * the leading zero dropped (`0.50` -> `.5`, `-0.25` -> `-.25`, `12.00` -> `12`);
 * -0 is written `0`. Callers pass finite numbers only.
 */
export function num(x: number, decimals = 2): string {
  const p = 10 ** decimals;
  const r = Math.round(x * p) / p;
  if (r === 0) return '0';
  const s = String(r);
  if (s.startsWith('0.')) return s.slice(1);
  if (s.startsWith('-0.')) return '-' + s.slice(2);
  return s;
}

/** A value for people to read (titles, labels): 4 significant digits, `NaN`/`Infinity` spelled out. */
export function label(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e6) return String(Number(x.toPrecision(4)));
  return x.toExponential(3).replace(/\.?0+e/, 'e');
}
