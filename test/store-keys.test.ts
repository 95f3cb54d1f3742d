/** The key rules that keep every key inside its store's root. */
import { describe, expect, it } from 'vitest';
import { InputError } from '../pipelines/errors.ts';
import { checkKey, checkPrefix, compareKeys, joinKey } from '../pipelines/storeKeys.ts';

describe('store keys', () => {
  it('accepts relative keys with unicode, dots inside names and spaces', () => {
    for (const k of ['a', 'runs/abc/neuron_stats.parquet', 'renders/r/3/17/12.svg', 'é/😀 x', '.hidden', 'a..b', '...']) {
      expect(checkKey(k)).toBe(k);
    }
  });

  it('refuses each way out of the root, naming the key', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /is empty/],
      ['/abs', /"\/abs" is absolute/],
      ['..', /".." segment/],
      ['a/../../b', /"a\/..\/..\/b" has a ".." segment/],
      ['a/./b', /"." segment/],
      ['a//b', /empty segment/],
      ['a/', /empty segment/],
      ['a\\b', /backslash/],
      ['a\u0000b', /"a\\u0000b" contains a control character/],
      ['x\u007f', /control character/],
      ['C:/Windows', /drive letter/],
      ['é'.repeat(513), /1026 bytes, more than 1024/],
    ];
    for (const [key, message] of cases) {
      expect(() => checkKey(key), key).toThrow(InputError);
      expect(() => checkKey(key), key).toThrow(message);
    }
  });

  it('allows an empty prefix and a trailing slash in prefixes only', () => {
    expect(checkPrefix('')).toBe('');
    expect(checkPrefix('renders/')).toBe('renders/');
    expect(checkPrefix('renders/ru')).toBe('renders/ru');
    expect(() => checkPrefix('/')).toThrow(InputError);
    expect(() => checkPrefix('a//')).toThrow(InputError);
    expect(() => checkPrefix('../')).toThrow(InputError);
  });

  it('joinKey joins with / and checks the result', () => {
    expect(joinKey('runs', 'r1', 'stats.parquet')).toBe('runs/r1/stats.parquet');
    expect(() => joinKey('runs', '..', 'x')).toThrow(InputError);
    expect(() => joinKey('runs', '', 'x')).toThrow(InputError);
  });

  it('compareKeys orders like UTF-8 bytes (S3), not like UTF-16 string comparison', () => {
    expect(compareKeys('\uFFFD', '😀')).toBeLessThan(0);
    expect('\uFFFD' < '😀').toBe(false);
    const alphabet = ['a', 'b', '/', '-', '.', 'é', '\uFFFD', '\uE000', '😀', '𝕏', '0', ' '];
    let seed = 7;
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    const keys = Array.from({ length: 400 }, () => Array.from({ length: 1 + rand(5) }, () => alphabet[rand(alphabet.length)]).join(''));
    const bytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...keys].sort(compareKeys)).toEqual(bytes);
  });
});
