import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { neuroxValue, parseOrderedStringMap, parsePythonJson, pythonFloatRepr, pythonJsonString } from '../workers/neuroxFiles/pythonJson.ts';
import { hasPython, runPython } from './helpers/python.ts';

describe('JSON as NeuroX\'s Python writes it', () => {
  it('prints values as repr(round(x, 8)): ties to even, exponents from 1e-05 and 1e+16, signed zero', () => {
    const cases: Array<[number, string]> = [
      [1 / 512, '0.00195312'], [-3 / 512, '-0.00585938'], [5 / 512, '0.00976562'], [1e-9, '0.0'], [-1e-9, '-0.0'], [-0, '-0.0'],
      [1e-5, '1e-05'], [0.0001, '0.0001'], [1.5e-8, '1e-08'], [2.5e-8, '2e-08'], [12345.678, '12345.678'], [1e16, '1e+16'], [1e15, '1000000000000000.0'],
      [Math.fround(0.1), '0.1'], [2, '2.0'], [NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'], [123456789.123, '123456789.123'],
    ];
    for (const [x, text] of cases) expect([x, neuroxValue(x)]).toEqual([x, text]);
    expect(pythonFloatRepr(1.0000000272564224e16)).toBe('1.0000000272564224e+16');
  });

  it.skipIf(!hasPython)('matches Python\'s repr(round(x, 8)) on 20,000 float32 values of every magnitude', async () => {
    let seed = 99;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const values = Array.from({ length: 20_000 }, (_, i) => {
      if (i % 10 === 0) return Math.fround((Math.floor(rand() * 4000) - 2000) / 512); // exact ties
      return Math.fround((rand() - 0.5) * 10 ** Math.floor(rand() * 30 - 12));
    });
    const dir = await mkdtemp(join(tmpdir(), 'pyjson-'));
    await writeFile(join(dir, 'in.bin'), new Uint8Array(new Float32Array(values).buffer));
    const out = runPython(`
import numpy as np, sys
x = np.fromfile(sys.argv[1], dtype=np.float32)
print("\\n".join(repr(round(v.item(), 8)) for v in x))
`, [join(dir, 'in.bin')]).trim().split('\n');
    const ours = values.map(neuroxValue);
    const diffs = ours.map((s, i) => (s === out[i] ? null : `${values[i]}: ${s} vs ${out[i]}`)).filter(Boolean);
    expect(diffs.slice(0, 5)).toEqual([]);
  });

  it.skipIf(!hasPython)('prints strings as json.dumps does (ensure_ascii): escapes, astral characters, lone surrogates', async () => {
    const strings = ['plain', 'quote" back\\slash', 'tab\tnl\ncr\rbs\bff\f', '\u0000\u001f\u007f', 'é日本👍🏽', '\ud800 lone', '<&>\u2028'];
    const dir = await mkdtemp(join(tmpdir(), 'pystr-'));
    await writeFile(join(dir, 'in.json'), JSON.stringify(strings));
    const out = runPython(`
import json, sys
for s in json.load(open(sys.argv[1])): print(json.dumps(s))
`, [join(dir, 'in.json')]).trim().split('\n');
    expect(strings.map(pythonJsonString)).toEqual(out);
  });

  it('parses Python\'s bare NaN / Infinity / -Infinity, and leaves them alone inside strings', () => {
    const v = parsePythonJson('{"token": "NaN Infinity", "values": [NaN, Infinity, -Infinity, 1.5]}') as { token: string; values: number[] };
    expect(v.token).toBe('NaN Infinity');
    expect(v.values).toEqual([NaN, Infinity, -Infinity, 1.5]);
    expect(() => parsePythonJson('[1, 2')).toThrow();
  });

  it('keeps the written order of sentence_to_index keys, integer-like ones too; a repeated key keeps its place and takes the last value', async () => {
    const map = parseOrderedStringMap('{"b c": "0", "42": "1", "7": "2", "a\\"q": "3", "b c": "4"}');
    expect([...map]).toEqual([['b c', '4'], ['42', '1'], ['7', '2'], ['a"q', '3']]);
    expect([...parseOrderedStringMap(' { } ')]).toEqual([]);
    expect(() => parseOrderedStringMap('{"a": 1}')).toThrow(/expected a string at character 6/);
    expect(() => parseOrderedStringMap('{"a": "1"} x')).toThrow(/unexpected text after the object/);
  });
});
