/** Parquet tables: round trips through hyparquet, streaming row groups into stores, and bad input. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, NotFoundError } from '../pipelines/errors.ts';
import {
  histogramsTable, neuronStatsTable, parquetTables, topSentencesTable, topWordsTable,
  type NeuronStatsInput, type TopWordsInput,
} from '../schemas/parquet.ts';
import {
  encodeHistograms, encodeNeuronStats, encodeTable, encodeTopSentences, encodeTopWords,
  concatParquetFiles, ParquetTableWriter, readTable, rowCount, scanTable, storeFile, tableRows, writeTable,
} from '../workers/parquet.ts';
import { LocalStore, MemoryStore, S3Store, s3ConfigFromEnv } from '../workers/store/index.ts';
import { freshBucket, s3TestEnv } from './helpers/s3.ts';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.slice().buffer as ArrayBuffer;
}

/** Physical type (with UTF8 marked) of each column, from the file footer. */
function fileTypes(bytes: Uint8Array): Record<string, string> {
  const meta = parquetMetadata(toArrayBuffer(bytes));
  return Object.fromEntries(meta.schema.slice(1).map((e) => [e.name, e.converted_type === 'UTF8' ? 'STRING' : String(e.type)]));
}

const stats: NeuronStatsInput = {
  layer: new Int32Array([0, 0, 12]),
  neuron: new Int32Array([0, 767, 767]),
  globalNeuron: new Int32Array([0, 767, 9983]),
  count: [1_000_000, 0, 2 ** 40],
  mean: new Float64Array([0.125, NaN, -3.5e-12]),
  variance: new Float64Array([2, NaN, 0]),
  std: new Float64Array([Math.SQRT2, NaN, 0]),
  min: new Float64Array([-Infinity, Infinity, -1e300]),
  max: new Float32Array([1.5, -Infinity, 7.25]),
};

const words: TopWordsInput = {
  layer: [1, 1, 1, 2],
  neuron: [5, 5, 5, 0],
  globalNeuron: [773, 773, 773, 1536],
  rank: [0, 1, 2, 0],
  token: ['the', 'naïve', '😀', '東京'],
  score: [1, 0.5, 0.25, 1],
  count: new BigInt64Array([3n, 1n, 7n, 2n]),
  mean: [0.9, -0.1, 2.5, -4],
};

describe('Parquet tables', () => {
  it('every table round-trips through hyparquet with its declared physical types', async () => {
    const cases = [
      { spec: neuronStatsTable, bytes: encodeNeuronStats(stats) },
      { spec: topWordsTable, bytes: encodeTopWords(words) },
      {
        spec: topSentencesTable,
        bytes: encodeTopSentences({ layer: [3], neuron: [4], globalNeuron: [2308], rank: [0], sentenceIndex: new Int32Array([123456]), maxActivation: new Float32Array([-2.5]), tokenIndex: [17] }),
      },
      {
        spec: histogramsTable,
        bytes: encodeHistograms({ layer: [0, 0], neuron: [1, 1], globalNeuron: [1, 1], binLo: [-1, 0], binHi: [0, 1], count: new Float64Array([10, 0]) }),
      },
    ];
    for (const { spec, bytes } of cases) {
      expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('PAR1');
      const expected = Object.fromEntries(spec.columns.map((c) => [c.name, c.type]));
      expect(fileTypes(bytes), spec.table).toEqual(expected);
      const meta = parquetMetadata(toArrayBuffer(bytes));
      expect(meta.key_value_metadata).toEqual(expect.arrayContaining([{ key: 'neurox.table', value: spec.table }, { key: 'neurox.table_version', value: '1' }]));
      expect(meta.row_groups[0]?.columns[0]?.meta_data?.codec).toBe('UNCOMPRESSED');
    }
    const s = await readTable(neuronStatsTable, cases[0]!.bytes);
    expect(s.layer).toEqual(new Int32Array([0, 0, 12]));
    expect(s.count).toEqual(new Float64Array([1_000_000, 0, 2 ** 40]));
    expect([...s.mean]).toEqual([0.125, NaN, -3.5e-12]);
    expect([...s.min]).toEqual([-Infinity, Infinity, -1e300]);
    expect([...s.max]).toEqual([1.5, -Infinity, 7.25]);
    const w = await readTable(topWordsTable, cases[1]!.bytes);
    expect(w.token).toEqual(['the', 'naïve', '😀', '東京']);
    expect([...w.count]).toEqual([3, 1, 7, 2]);
    expect(tableRows(topWordsTable, w)[2]).toEqual({ layer: 1, neuron: 5, globalNeuron: 773, rank: 2, token: '😀', score: 0.25, count: 7, mean: 2.5 });
    const t = await readTable(topSentencesTable, cases[2]!.bytes);
    expect(tableRows(topSentencesTable, t)).toEqual([{ layer: 3, neuron: 4, globalNeuron: 2308, rank: 0, sentenceIndex: 123456, maxActivation: -2.5, tokenIndex: 17 }]);
    const h = await readTable(histogramsTable, cases[3]!.bytes);
    expect([...h.count]).toEqual([10, 0]);
  });

  it('an empty table is a valid file that reads back with zero rows', async () => {
    for (const spec of parquetTables) {
      const empty = Object.fromEntries(spec.columns.map((c) => [c.field, c.type === 'STRING' ? [] : new Float64Array(0)]));
      const bytes = encodeTable(spec, empty as never);
      const back = await readTable(spec, bytes);
      expect(rowCount(spec, back), spec.table).toBe(0);
    }
  });

  it('refuses bad columns, naming the table, column and row', () => {
    expect(() => encodeNeuronStats({ ...stats, count: [1, 2] })).toThrow(/neuron_stats: column count has 2 rows but layer has 3/);
    expect(() => encodeNeuronStats({ ...stats, layer: [0, 1.5, 2] })).toThrow(/neuron_stats.layer row 1: 1.5 is not an INT32/);
    expect(() => encodeNeuronStats({ ...stats, layer: [0, 2 ** 31, 2] })).toThrow(InputError);
    expect(() => encodeNeuronStats({ ...stats, count: [1, 2 ** 53, 3] })).toThrow(/neuron_stats.count row 1: 9007199254740992 is not a safe integer/);
    expect(() => encodeTopWords({ ...words, token: ['a', 'b', 3 as unknown as string, 'd'] })).toThrow(/top_words.token row 2: 3 is not a string/);
    const { std: _std, ...noStd } = stats;
    expect(() => encodeNeuronStats(noStd as NeuronStatsInput)).toThrow(/column std is missing/);
    expect(() => encodeNeuronStats({ ...stats, extra: [1, 2, 3] } as NeuronStatsInput)).toThrow(/unknown column extra/);
  });

  it('refuses to read a file as the wrong table, naming the column', async () => {
    await expect(readTable(neuronStatsTable, encodeTopWords(words))).rejects.toThrow(/neuron_stats: the file has no column variance/);
    await expect(readTable(topWordsTable, new TextEncoder().encode('not parquet at all'))).rejects.toThrow(InputError);
  });

  it('the streaming writer gathers uneven batches into full row groups and the file reads back whole', async () => {
    const store = new MemoryStore('parquet-stream');
    const w = new ParquetTableWriter(histogramsTable, store, 'runs/r/histograms.parquet', { rowGroupSize: 10_000 });
    let next = 0;
    for (let b = 0; b < 10; b++) {
      const n = 3_700;
      const g = Int32Array.from({ length: n }, (_, i) => next + i);
      await w.write({ layer: g.map((x) => Math.floor(x / 768)), neuron: g.map((x) => x % 768), globalNeuron: g, binLo: Float64Array.from(g, (x) => x / 2), binHi: Float64Array.from(g, (x) => x / 2 + 0.5), count: Float64Array.from(g, (x) => x * 3) });
      next += n;
    }
    expect(await store.head('runs/r/histograms.parquet')).toBeNull(); // nothing visible before close
    const { rows, bytes } = await w.close();
    expect(rows).toBe(37_000);
    const file = await store.get('runs/r/histograms.parquet');
    expect(file.byteLength).toBe(bytes);
    expect(parquetMetadata(toArrayBuffer(file)).row_groups.map((g) => Number(g.num_rows))).toEqual([10_000, 10_000, 10_000, 7_000]);
    const back = await readTable(histogramsTable, await storeFile(store, 'runs/r/histograms.parquet'));
    expect(back.globalNeuron).toEqual(Int32Array.from({ length: 37_000 }, (_, i) => i));
    expect(back.count[36_999]).toBe(36_999 * 3);
    const groups: number[] = [];
    for await (const g of scanTable(histogramsTable, file)) groups.push(g.binLo.length);
    expect(groups).toEqual([10_000, 10_000, 10_000, 7_000]);
  });

  it('streams top_words for 768 neurons x 50 words to a local folder and to S3, read back by ranged GETs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'neurox-pq-'));
    dirs.push(dir);
    const bucket = await freshBucket('parquet-stream');
    const s3 = new S3Store({ bucket, prefix: 'out', config: s3ConfigFromEnv(s3TestEnv()) });
    const stores = [new LocalStore(dir), s3];
    const vocab = ['the', 'of', 'naïve', '😀', 'Köln', '東京', '[CLS]', 'x y'];
    function* blocks(): Iterable<TopWordsInput> {
      for (let block = 0; block < 6; block++) {
        const n = 128 * 50;
        const g0 = block * 128;
        yield {
          layer: new Int32Array(n).fill(1),
          neuron: Int32Array.from({ length: n }, (_, i) => g0 + Math.floor(i / 50)),
          globalNeuron: Int32Array.from({ length: n }, (_, i) => 768 + g0 + Math.floor(i / 50)),
          rank: Int32Array.from({ length: n }, (_, i) => i % 50),
          token: Array.from({ length: n }, (_, i) => `${vocab[i % vocab.length]}${i % 50}`),
          score: Float64Array.from({ length: n }, (_, i) => 1 - (i % 50) / 50),
          count: Float64Array.from({ length: n }, (_, i) => i + 1),
          mean: Float64Array.from({ length: n }, (_, i) => Math.sin(i)),
        };
      }
    }
    try {
      for (const store of stores) {
        const { rows } = await writeTable(topWordsTable, store, 'top_words.parquet', blocks(), { rowGroupSize: 10_000, metadata: { 'neurox.run': 'r1' } });
        expect(rows).toBe(38_400);
        const back = await readTable(topWordsTable, await storeFile(store, 'top_words.parquet'));
        expect(back.token.length).toBe(38_400);
        expect(back.token[3]).toBe('😀3');
        expect(back.neuron[38_399]).toBe(767);
        expect(back.globalNeuron[38_399]).toBe(768 + 767);
        expect(back.count[6_400]).toBe(1);
      }
    } finally {
      s3.close();
    }
  });

  it('a failing batch source or a bad batch leaves no file, and an older file stays', async () => {
    const store = new MemoryStore('parquet-fail');
    await store.put('t.parquet', 'older');
    async function* failing(): AsyncIterable<NeuronStatsInput> {
      yield stats;
      throw new Error('reducer crashed');
    }
    await expect(writeTable(neuronStatsTable, store, 't.parquet', failing(), { rowGroupSize: 2 })).rejects.toThrow('reducer crashed');
    await expect(writeTable(neuronStatsTable, store, 'u.parquet', [stats, { ...stats, layer: [1] }], { rowGroupSize: 2 })).rejects.toThrow(InputError);
    expect(new TextDecoder().decode(await store.get('t.parquet'))).toBe('older');
    expect(await store.head('u.parquet')).toBeNull();
    await expect(storeFile(store, 'u.parquet')).rejects.toThrow(NotFoundError);
  });
  it('concatenates parts row group by row group: same rows, same statistics, the footer offsets moved, no re-encoding', async () => {
    const store = new MemoryStore('parquet-concat');
    const block = (first: number, n: number): TopWordsInput => ({
      layer: Int32Array.from({ length: n }, (_, i) => Math.floor((first + i) / 500)),
      neuron: Int32Array.from({ length: n }, (_, i) => (first + i) % 500),
      globalNeuron: Int32Array.from({ length: n }, (_, i) => first + i),
      rank: Int32Array.from({ length: n }, (_, i) => i % 50),
      token: Array.from({ length: n }, (_, i) => ['the', 'naïve', '😀', '東京', `w${(first + i) % 977}`][i % 5]!),
      score: Float64Array.from({ length: n }, (_, i) => 1 / (1 + (i % 50))),
      count: Array.from({ length: n }, (_, i) => 1 + ((first + i) % 13)),
      mean: Float64Array.from({ length: n }, (_, i) => Math.sin(first + i)),
    });
    // three parts: two row groups, one, and none (an empty block)
    const parts = [block(0, 3_000), block(3_000, 1_234), block(4_234, 0)];
    const options = [{ rowGroupSize: 2_000 }, {}, {}];
    for (const [i, p] of parts.entries()) await store.put(`parts/b${i}.parquet`, encodeTopWords(p, options[i]));
    const { rows, bytes } = await concatParquetFiles(topWordsTable, store, 'top_words.parquet', ['parts/b0.parquet', 'parts/b1.parquet', 'parts/b2.parquet'], { metadata: { 'neurox.run_id': 'r-1' } });
    expect(rows).toBe(4_234);
    const file = await store.get('top_words.parquet');
    expect(file.byteLength).toBe(bytes);
    const back = await readTable(topWordsTable, file);
    const all = block(0, 4_234);
    expect(back.globalNeuron).toEqual(all.globalNeuron);
    expect(back.token).toEqual(all.token);
    expect(back.count).toEqual(Float64Array.from(all.count as number[]));
    expect(back.mean).toEqual(all.mean);
    const meta = parquetMetadata(toArrayBuffer(file));
    expect(meta.row_groups.map((g) => Number(g.num_rows))).toEqual([2_000, 1_000, 1_234]);
    expect(meta.key_value_metadata).toEqual([{ key: 'neurox.table', value: 'top_words' }, { key: 'neurox.table_version', value: '1' }, { key: 'neurox.run_id', value: 'r-1' }]);
    // each row group's chunks (statistics included) are the part's, moved
    const partGroups = [0, 1].flatMap((i) => parquetMetadata(toArrayBuffer(encodeTopWords(parts[i]!, options[i]))).row_groups);
    meta.row_groups.forEach((g, i) => {
      g.columns.forEach((c, j) => {
        const want = partGroups[i]!.columns[j]!.meta_data!;
        expect(c.meta_data!.statistics, `row group ${i} column ${j}`).toEqual(want.statistics);
        expect(c.meta_data!.total_compressed_size).toBe(want.total_compressed_size);
      });
    });
    // the copied bytes are the parts' column chunks, byte for byte
    const b0 = await store.get('parts/b0.parquet');
    const first = meta.row_groups[0]!.columns[0]!.meta_data!;
    const start = Number(first.dictionary_page_offset ?? first.data_page_offset);
    expect(file.subarray(start, start + 64)).toEqual(b0.subarray(start, start + 64));
  });

  it('concatenation refuses a part of another table or a non-Parquet part, naming it, and leaves no file', async () => {
    const store = new MemoryStore('parquet-concat-bad');
    await store.put('a.parquet', encodeTopWords(words));
    await store.put('b.parquet', encodeNeuronStats(stats));
    await store.put('c.parquet', 'not parquet at all');
    await expect(concatParquetFiles(topWordsTable, store, 'out.parquet', ['a.parquet', 'b.parquet'])).rejects.toThrow(/b\.parquet: not a top_words file/);
    await expect(concatParquetFiles(topWordsTable, store, 'out.parquet', ['a.parquet', 'c.parquet'])).rejects.toThrow(/c\.parquet: not a readable Parquet file/);
    await expect(concatParquetFiles(topWordsTable, store, 'out.parquet', ['a.parquet', 'missing.parquet'])).rejects.toThrow(NotFoundError);
    expect(await store.head('out.parquet')).toBeNull();
  });
});
