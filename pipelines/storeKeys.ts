/**
 * The rules every object key obeys, in one place, so that no key (from a
 * plan, a job payload or a user) can escape the root or run prefix of a
 * store: relative, `/`-separated, no empty, `.` or `..` segments, no
 * backslashes, no control characters (NUL included), at most 1024 UTF-8
 * bytes (S3's limit, also applied to the local folder so a run moves
 * between stores unchanged).
 */
import { InputError } from './errors.ts';

export const MAX_KEY_BYTES = 1024;

const encoder = new TextEncoder();

// C0 controls and DEL: invisible in logs, unsafe in XML listings and paths.
const CONTROL = /[\u0000-\u001f\u007f]/;

function show(key: string): string {
  return JSON.stringify(key);
}

function checkSegments(what: string, key: string, segments: readonly string[]): void {
  for (const s of segments) {
    if (s === '') throw new InputError(`${what} ${show(key)} has an empty segment`);
    if (s === '.' || s === '..') throw new InputError(`${what} ${show(key)} has a "${s}" segment`);
  }
}

function checkCharacters(what: string, key: string): void {
  if (key.includes('\\')) throw new InputError(`${what} ${show(key)} contains a backslash`);
  if (CONTROL.test(key)) throw new InputError(`${what} ${show(key)} contains a control character`);
  if (key.startsWith('/')) throw new InputError(`${what} ${show(key)} is absolute`);
  if (/^[A-Za-z]:/.test(key)) throw new InputError(`${what} ${show(key)} starts with a drive letter`);
  const bytes = encoder.encode(key).length;
  if (bytes > MAX_KEY_BYTES) throw new InputError(`${what} ${show(key)} is ${bytes} bytes, more than ${MAX_KEY_BYTES}`);
}

/** Throws `InputError` naming the key unless it is a safe object key; returns it. */
export function checkKey(key: string): string {
  if (typeof key !== 'string' || key === '') throw new InputError(`object key ${show(String(key))} is empty`);
  checkCharacters('object key', key);
  checkSegments('object key', key, key.split('/'));
  return key;
}

/**
 * A listing prefix: `''` (everything), a folder (`renders/run1/`) or the
 * start of a name (`renders/ru`). Same rules as keys, except that it may be
 * empty and end with `/`.
 */
export function checkPrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw new InputError(`key prefix ${show(String(prefix))} is not a string`);
  if (prefix === '') return prefix;
  checkCharacters('key prefix', prefix);
  const body = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  checkSegments('key prefix', prefix, body.split('/'));
  return prefix;
}

/** Joins key parts with `/` and checks the result (`joinKey('runs', id, 'stats.parquet')`). */
export function joinKey(...parts: readonly string[]): string {
  return checkKey(parts.join('/'));
}

/**
 * Byte-wise (UTF-8) order, S3's listing order. It equals code point order,
 * which differs from `<` on UTF-16 strings only where a surrogate pair meets
 * a character in U+E000..U+FFFF: surrogates are moved above that block.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}
