/**
 * Independent readers of our Parquet files: pyarrow and duckdb check the
 * schema types, row counts and values (unicode tokens included); and our
 * reader reads what pyarrow writes with ZSTD.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { histogramsTable, neuronStatsTable, topSentencesTable, topWordsTable, type TopWordsInput } from '../schemas/parquet.ts';
import { concatParquetFiles, encodeHistograms, encodeNeuronStats, encodeTopSentences, encodeTopWords, readTable, writeTable } from '../workers/parquet.ts';
import { LocalStore } from '../workers/store/index.ts';
import { stressTopSentences } from './helpers/parquetStress.ts';
import { hasPython, runPython } from './helpers/python.ts';

const dir = mkdtempSync(join(tmpdir(), 'neurox-pq-py-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tokens = ['the', 'naïve', '😀', '東京', 'x y', '', '"quoted"', 'Ω\u0301'];

function topWords(n: number) {
  return {
    layer: Int32Array.from({ length: n }, (_, i) => Math.floor(i / 100)),
    neuron: Int32Array.from({ length: n }, (_, i) => Math.floor(i / 10) % 10),
    globalNeuron: Int32Array.from({ length: n }, (_, i) => Math.floor(i / 10)),
    rank: Int32Array.from({ length: n }, (_, i) => i % 10),
    token: Array.from({ length: n }, (_, i) => tokens[i % tokens.length] as string),
    score: Float64Array.from({ length: n }, (_, i) => 1 / (1 + (i % 10))),
    count: Array.from({ length: n }, (_, i) => i * 1_000_003),
    mean: Float64Array.from({ length: n }, (_, i) => Math.cos(i) * 1e-3),
  } satisfies TopWordsInput;
}

const SCHEMA_AND_VALUES = `
import json, sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
print(json.dumps({
  "types": {f.name: str(f.type) for f in t.schema},
  "nullable": [f.nullable for f in t.schema],
  "rows": t.num_rows,
  "meta": {k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items() if k.startswith(b"neurox.")},
  "data": t.to_pydict(),
}, allow_nan=True))
`;

describe.skipIf(!hasPython)('Parquet files read by pyarrow and duckdb', () => {
  it('pyarrow reads every table with the declared types, values and unicode tokens', async () => {
    const store = new LocalStore(dir);
    const input = topWords(2_500);
    await writeTable(topWordsTable, store, 'top_words.parquet', [input], { rowGroupSize: 1_000 });
    const got = JSON.parse(runPython(SCHEMA_AND_VALUES, [join(dir, 'top_words.parquet')])) as {
      types: Record<string, string>; nullable: boolean[]; rows: number; meta: Record<string, string>; data: Record<string, unknown[]>;
    };
    expect(got.types).toEqual({ layer: 'int32', neuron: 'int32', global_neuron: 'int32', rank: 'int32', token: 'string', score: 'double', count: 'int64', mean: 'double' });
    expect(got.nullable.every((x) => x === false)).toBe(true);
    expect(got.rows).toBe(2_500);
    expect(got.meta).toEqual({ 'neurox.table': 'top_words', 'neurox.table_version': '1' });
    expect(got.data.token).toEqual(input.token);
    expect(got.data.count).toEqual(input.count);
    expect(got.data.mean).toEqual([...input.mean]);
    expect(got.data.global_neuron).toEqual([...input.globalNeuron]);

    const files = {
      neuron_stats: encodeNeuronStats({ layer: [0, 1], neuron: [3, 3], globalNeuron: [3, 771], count: [5, 2 ** 50], mean: [0.5, -0.25], variance: [1, 4], std: [1, 2], min: [-1, -5], max: [2, 3] }),
      top_sentences: encodeTopSentences({ layer: [2], neuron: [1], globalNeuron: [1537], rank: [0], sentenceIndex: [9_000_000_000], maxActivation: [-7.5], tokenIndex: [4] }),
      histograms: encodeHistograms({ layer: [0], neuron: [0], globalNeuron: [0], binLo: [-0.5], binHi: [0.5], count: [42] }),
    };
    const expectedTypes: Record<string, Record<string, string>> = {};
    for (const spec of [neuronStatsTable, topSentencesTable, histogramsTable]) {
      expectedTypes[spec.table] = Object.fromEntries(spec.columns.map((c) => [c.name, { INT32: 'int32', INT64: 'int64', DOUBLE: 'double', STRING: 'string' }[c.type]]));
    }
    for (const [table, bytes] of Object.entries(files)) {
      const path = join(dir, `${table}.parquet`);
      writeFileSync(path, bytes);
      const r = JSON.parse(runPython(SCHEMA_AND_VALUES, [path])) as { types: Record<string, string>; data: Record<string, unknown[]> };
      expect(r.types, table).toEqual(expectedTypes[table]);
      if (table === 'neuron_stats') expect(r.data.count).toEqual([5, 2 ** 50]);
      if (table === 'top_sentences') expect(r.data).toMatchObject({ sentence_index: [9_000_000_000], max_activation: [-7.5], token_index: [4] });
      if (table === 'histograms') expect(r.data).toMatchObject({ bin_lo: [-0.5], bin_hi: [0.5], count: [42] });
    }
  });

  it('pyarrow reads a file concatenated from parts (values, row groups and each row group\'s min/max statistics)', async () => {
    const store = new LocalStore(dir);
    const all = topWords(3_000);
    const part = (a: number, b: number): TopWordsInput => Object.fromEntries(Object.entries(all).map(([k, v]) => [k, (v as Int32Array | string[]).slice(a, b)])) as unknown as TopWordsInput;
    await store.put('parts/b0.parquet', encodeTopWords(part(0, 1_700), { rowGroupSize: 1_000 }));
    await store.put('parts/b1.parquet', encodeTopWords(part(1_700, 3_000)));
    await concatParquetFiles(topWordsTable, store, 'concat.parquet', ['parts/b0.parquet', 'parts/b1.parquet']);
    const out = JSON.parse(runPython(`
import json, sys, pyarrow.parquet as pq
f = pq.ParquetFile(sys.argv[1])
t = f.read()
md = f.metadata
stats = [[md.row_group(g).column(c).statistics.min, md.row_group(g).column(c).statistics.max] for g in range(md.num_row_groups) for c in (2, 7)]
print(json.dumps({"groups": [md.row_group(g).num_rows for g in range(md.num_row_groups)], "data": t.to_pydict(), "stats": stats}))
`, [join(dir, 'concat.parquet')])) as { groups: number[]; data: Record<string, unknown[]>; stats: number[][] };
    expect(out.groups).toEqual([1_000, 700, 1_300]);
    expect(out.data.token).toEqual(all.token);
    expect(out.data.global_neuron).toEqual([...all.globalNeuron]);
    expect(out.data.count).toEqual(all.count);
    expect(out.data.mean).toEqual([...all.mean]);
    const range = (a: number, b: number, col: ArrayLike<number>): number[] => { const v = Array.from(col).slice(a, b); return [Math.min(...v), Math.max(...v)]; };
    const bounds = [[0, 1_000], [1_000, 1_700], [1_700, 3_000]];
    expect(out.stats).toEqual(bounds.flatMap(([a, b]) => [range(a!, b!, all.globalNeuron), range(a!, b!, all.mean)]));
  });

  it('duckdb queries top_words: column types, row count, sums and a unicode token filter', async () => {
    const store = new LocalStore(dir);
    const input = topWords(5_000);
    await writeTable(topWordsTable, store, 'top_words_duck.parquet', [input], { rowGroupSize: 1_500 });
    const out = runPython(`
import json, sys, duckdb
f = sys.argv[1]
con = duckdb.connect()
types = {r[0]: r[1] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [f]).fetchall()}
n, s, c = con.execute("SELECT count(*), sum(global_neuron), sum(count) FROM read_parquet(?)", [f]).fetchone()
emoji = con.execute("SELECT count(*) FROM read_parquet(?) WHERE token = ?", [f, '😀']).fetchone()[0]
tokyo = con.execute("SELECT min(rank), max(layer) FROM read_parquet(?) WHERE token = '東京'", [f]).fetchone()
print(json.dumps({"types": types, "n": n, "sum_g": int(s), "sum_count": int(c), "emoji": emoji, "tokyo": list(tokyo)}))
`, [join(dir, 'top_words_duck.parquet')]);
    const r = JSON.parse(out) as { types: Record<string, string>; n: number; sum_g: number; sum_count: number; emoji: number; tokyo: number[] };
    expect(r.types).toEqual({ layer: 'INTEGER', neuron: 'INTEGER', global_neuron: 'INTEGER', rank: 'INTEGER', token: 'VARCHAR', score: 'DOUBLE', count: 'BIGINT', mean: 'DOUBLE' });
    expect(r.n).toBe(5_000);
    expect(r.sum_g).toBe([...input.globalNeuron].reduce((a, b) => a + b, 0));
    expect(r.sum_count).toBe((input.count as number[]).reduce((a, b) => a + b, 0));
    expect(r.emoji).toBe(input.token.filter((t) => t === '😀').length);
    const tokyoRows = input.token.flatMap((t, i) => (t === '東京' ? [i] : []));
    expect(r.tokyo).toEqual([Math.min(...tokyoRows.map((i) => input.rank[i] as number)), Math.max(...tokyoRows.map((i) => input.layer[i] as number))]);
  });

  it('pyarrow and duckdb read every encoder path: RLE runs at every offset, bit-packed and PLAIN integers, INT64 beyond 32 bits, NaN, -0 and infinities', () => {
    const t = stressTopSentences();
    const path = join(dir, 'stress.parquet');
    writeFileSync(path, encodeTopSentences(t));
    const out = JSON.parse(runPython(`
import json, math, sys, duckdb, pyarrow.parquet as pq
f = pq.ParquetFile(sys.argv[1])
d = f.read().to_pydict()
st = f.metadata.row_group(0).column(4).statistics
fl = lambda x: "nan" if math.isnan(x) else ("-0" if x == 0 and math.copysign(1, x) < 0 else repr(x))
con = duckdb.connect()
duck = con.execute("SELECT count(*), sum(layer), sum(neuron), sum(global_neuron), sum(rank), min(sentence_index), max(sentence_index), sum(token_index), count(*) FILTER (WHERE isnan(max_activation)) FROM read_parquet(?)", [sys.argv[1]]).fetchone()
print(json.dumps({"ints": {k: d[k] for k in ("layer", "neuron", "global_neuron", "rank", "sentence_index", "token_index")},
  "floats": [fl(x) for x in d["max_activation"]], "stats": [st.min, st.max], "duck": [int(x) for x in duck]}))
`, [path])) as { ints: Record<string, number[]>; floats: string[]; stats: number[]; duck: number[] };
    expect(out.ints.layer).toEqual([...t.layer]);
    expect(out.ints.neuron).toEqual([...t.neuron]);
    expect(out.ints.global_neuron).toEqual([...t.globalNeuron]);
    expect(out.ints.rank).toEqual([...t.rank]);
    expect(out.ints.sentence_index).toEqual([...t.sentenceIndex]);
    expect(out.ints.token_index).toEqual([...t.tokenIndex]);
    const repr = (x: number): string => (Number.isNaN(x) ? 'nan' : Object.is(x, -0) ? '-0' : x === Infinity ? 'inf' : x === -Infinity ? '-inf' : String(x));
    expect(out.floats.map((x) => x.replace(/\.0$/, ''))).toEqual([...t.maxActivation].map(repr).map((x) => x.replace(/\.0$/, '')));
    expect(out.stats).toEqual([Math.min(...t.sentenceIndex), Math.max(...t.sentenceIndex)]);
    const sum = (a: ArrayLike<number>): number => Array.from(a).reduce((x, y) => x + y, 0);
    expect(out.duck).toEqual([t.layer.length, sum(t.layer), sum(t.neuron), sum(t.globalNeuron), sum(t.rank), Math.min(...t.sentenceIndex), Math.max(...t.sentenceIndex), sum(t.tokenIndex), [...t.maxActivation].filter(Number.isNaN).length]);
  });

  it('reads neuron_stats that pyarrow wrote with ZSTD, GZIP and dictionary encoding', async () => {
    for (const codec of ['zstd', 'gzip', 'snappy']) {
      const path = join(dir, `from-pyarrow-${codec}.parquet`);
      runPython(`
import sys, pyarrow as pa, pyarrow.parquet as pq
t = pa.table({
  "layer": pa.array([0, 1, 1], pa.int32()), "neuron": pa.array([2, 0, 2], pa.int32()),
  "global_neuron": pa.array([2, 3, 5], pa.int32()), "count": pa.array([10, 20, 30], pa.int64()),
  "mean": [0.5, float("nan"), -1.0], "variance": [1.0, 2.0, 3.0], "std": [1.0, 2.0 ** 0.5, 3.0 ** 0.5],
  "min": [-1.0, -2.0, -3.0], "max": [1.0, 2.0, 3.0], "note": ["extra", "columns", "ignored"]},
  schema=pa.schema([("layer", pa.int32(), False), ("neuron", pa.int32(), False), ("global_neuron", pa.int32(), False),
    ("count", pa.int64(), False), ("mean", pa.float64(), False), ("variance", pa.float64(), False), ("std", pa.float64(), False),
    ("min", pa.float64(), False), ("max", pa.float64(), False), ("note", pa.string(), False)]))
pq.write_table(t, sys.argv[1], compression=sys.argv[2], row_group_size=2)
`, [path, codec]);
      const s = await readTable(neuronStatsTable, new Uint8Array(readFileSync(path)));
      expect([...s.globalNeuron], codec).toEqual([2, 3, 5]);
      expect([...s.count]).toEqual([10, 20, 30]);
      expect([...s.mean]).toEqual([0.5, NaN, -1]);
      expect(s.std[1]).toBeCloseTo(Math.SQRT2, 15);
    }
  });
});
