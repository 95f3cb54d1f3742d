/**
 * The column encoder (workers/parquetEncode.ts) read back by hyparquet: the
 * RLE / bit-packed hybrid at every run length and offset that matters, the
 * encoding chosen per column, INT64 beyond 32 bits, and the statistics the
 * spec asks for. pyarrow and duckdb read the same stress table in
 * parquet-python.test.ts.
 */
import { parquetMetadata } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { topSentencesTable, topWordsTable, type TopWordsInput } from '../schemas/parquet.ts';
import { encodeHistograms, encodeTable, encodeTopWords, readTable } from '../workers/parquet.ts';
import { dictionaryIndices } from '../workers/parquetEncode.ts';
import { stressTopSentences } from './helpers/parquetStress.ts';

function chunks(bytes: Uint8Array) {
  const meta = parquetMetadata(bytes.slice().buffer as ArrayBuffer);
  return Object.fromEntries(meta.row_groups[0]!.columns.map((c) => [c.meta_data!.path_in_schema[0]!, c.meta_data!]));
}

/** Decodes an RLE / bit-packed hybrid page body (bit width byte first): the reference for `dictionaryIndices`. */
function decodeHybrid(body: Uint8Array, n: number): number[] {
  const width = body[0]!;
  const out: number[] = [];
  let at = 1;
  const varint = (): number => {
    let x = 0;
    let scale = 1;
    for (;;) {
      const b = body[at++]!;
      x += (b & 127) * scale;
      if (b < 128) return x;
      scale *= 128;
    }
  };
  while (out.length < n) {
    const h = varint();
    if (h % 2 === 0) {
      let v = 0;
      for (let b = 0; b < Math.ceil(width / 8); b++) v |= body[at++]! << (8 * b);
      for (let k = 0; k < h / 2; k++) out.push(v);
    } else {
      const count = ((h - 1) / 2) * 8;
      let bit = at * 8;
      for (let k = 0; k < count; k++) {
        let v = 0;
        for (let b = 0; b < width; b++, bit++) v |= ((body[bit >> 3]! >> (bit & 7)) & 1) << b;
        out.push(v);
      }
      at += ((h - 1) / 2) * width;
    }
  }
  expect(at, 'every byte of the body is used').toBe(body.length);
  return out.slice(0, n);
}

describe('Parquet column encoder', () => {
  it('the hybrid encoding decodes back to the indices for runs of every length at every offset mod 8', () => {
    let seed = 7;
    const rand = (k: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % k;
    };
    for (const size of [1, 2, 3, 8, 255, 256, 257, 70_000, 1 << 24]) {
      const ids: number[] = [];
      // runs of 1-20 after literal stretches of every length: RLE runs start at each offset mod 8
      for (let lead = 0; lead < 10; lead++) {
        for (let k = 0; k < lead; k++) ids.push(rand(size));
        ids.push(...new Array<number>(1 + rand(20)).fill(rand(size)));
      }
      ids.push(...new Array<number>(8).fill(size - 1)); // a run of exactly 8 at the end, the largest index
      const body = dictionaryIndices(Int32Array.from(ids), size);
      expect(body[0], `width for ${size}`).toBe(size === 1 ? 0 : Math.ceil(Math.log2(size)));
      expect(decodeHybrid(body, ids.length), `dictionary of ${size}`).toEqual(ids);
    }
    expect(() => dictionaryIndices(new Int32Array(1), (1 << 24) + 1)).toThrow(/more than 2\^24/);
  });

  it('long repeats become RLE runs: a sorted 12,800-row block part spends under a byte a row on each integer column', async () => {
    const n = 12_800;
    const part: TopWordsInput = {
      layer: new Int32Array(n).fill(3),
      neuron: Int32Array.from({ length: n }, (_, i) => 100 + Math.floor(i / 50)),
      globalNeuron: Int32Array.from({ length: n }, (_, i) => 1252 + Math.floor(i / 50)),
      rank: Int32Array.from({ length: n }, (_, i) => i % 50),
      token: Array.from({ length: n }, (_, i) => `t${(i * 7919) % 3000}`),
      score: Float64Array.from({ length: n }, (_, i) => 1 / (1 + (i % 50))),
      count: Float64Array.from({ length: n }, (_, i) => 1 + ((i * 31) % 400)),
      mean: Float64Array.from({ length: n }, (_, i) => Math.sin(i)),
    };
    const bytes = encodeTopWords(part);
    const c = chunks(bytes);
    for (const name of ['layer', 'neuron', 'global_neuron', 'rank', 'count', 'token']) {
      expect(c[name]!.encodings, name).toContain('RLE_DICTIONARY');
      expect(c[name]!.codec, name).toBe('UNCOMPRESSED');
    }
    for (const name of ['layer', 'neuron', 'global_neuron', 'rank']) expect(Number(c[name]!.total_compressed_size), name).toBeLessThan(n);
    for (const name of ['score', 'mean']) expect(c[name]!.encodings, name).not.toContain('RLE_DICTIONARY');
    const back = await readTable(topWordsTable, bytes);
    expect(back.neuron).toEqual(part.neuron);
    expect(back.rank).toEqual(part.rank);
    expect(back.token).toEqual(part.token);
    expect(back.count).toEqual(part.count);
    expect(back.mean).toEqual(part.mean);
  });

  it('wide integer columns are PLAIN; INT64 keeps negatives and values beyond 2^32 exactly', async () => {
    const t = stressTopSentences();
    const bytes = encodeTable(topSentencesTable, t);
    const c = chunks(bytes);
    expect(c.global_neuron!.encodings).not.toContain('RLE_DICTIONARY'); // spans more than 65,536 values
    expect(c.sentence_index!.encodings).not.toContain('RLE_DICTIONARY');
    expect(c.token_index!.encodings).toContain('RLE_DICTIONARY');
    const back = await readTable(topSentencesTable, bytes);
    expect(back.globalNeuron).toEqual(t.globalNeuron);
    expect(back.sentenceIndex).toEqual(t.sentenceIndex);
    expect([...back.maxActivation].map((x) => Object.is(x, -0) ? '-0' : x)).toEqual([...t.maxActivation].map((x) => Object.is(x, -0) ? '-0' : x));
    expect(back.tokenIndex).toEqual(t.tokenIndex);
    const s = c.sentence_index!.statistics!;
    expect([s.min_value, s.max_value]).toEqual([BigInt(Math.min(...t.sentenceIndex)), BigInt(Math.max(...t.sentenceIndex))]);
    expect(s.max_value).toBe(BigInt(2 ** 53 - 1));
  });

  it('statistics: NaN skipped, a zero min is -0 and a zero max +0, strings by UTF-8 bytes', () => {
    const h = chunks(encodeHistograms({ layer: [0, 0, 0], neuron: [0, 1, 2], globalNeuron: [0, 1, 2], binLo: [NaN, 0, 5], binHi: [-3, NaN, 0], count: [1, 2, 3] }));
    expect(h.bin_lo!.statistics).toMatchObject({ max_value: 5 });
    expect(Object.is(h.bin_lo!.statistics!.min_value, -0)).toBe(true);
    expect(h.bin_hi!.statistics).toMatchObject({ min_value: -3 });
    expect(Object.is(h.bin_hi!.statistics!.max_value, 0)).toBe(true);
    const allNaN = chunks(encodeHistograms({ layer: [0], neuron: [0], globalNeuron: [0], binLo: [NaN], binHi: [1], count: [0] }));
    expect(allNaN.bin_lo!.statistics!.min_value).toBeUndefined();
    expect(allNaN.bin_lo!.statistics!.max_value).toBeUndefined();
    // UTF-16 puts U+FF5E (0xFF5E) after the emoji's surrogates (0xD83D); UTF-8 puts 😀 (F0 ..) after it (EF ..)
    const w = chunks(encodeTable(topWordsTable, {
      layer: [0, 0, 0], neuron: [0, 0, 0], globalNeuron: [0, 0, 0], rank: [0, 1, 2], token: ['～', '😀', 'a'], score: [1, 1, 1], count: [1, 1, 1], mean: [0, 0, 0],
    }));
    expect(w.token!.statistics).toMatchObject({ min_value: 'a', max_value: '😀' });
  });
});
