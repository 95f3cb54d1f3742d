import { mkdtemp, readFile, writeFile, copyFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { toTokenMajor } from '../pipelines/matrix.ts';
import { InputError, NotFoundError } from '../pipelines/errors.ts';
import { openActivationFile, type ActivationSentence } from '../workers/neuroxFiles/index.ts';
import { parsePythonJson } from '../workers/neuroxFiles/pythonJson.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'neurox-files');
const TOKENS = join(FIXTURES, 'tokens.txt');
const FILES = ['sentences.json', 'sentences.f16.json', 'sentences.hdf5', 'sentences.f16.hdf5'] as const;

interface Expected {
  tokens: string[][];
  /** per file: per sentence, NeuroX's [tokens x layers*neurons] */
  activations: Record<string, number[][][]>;
}
let expected: Expected;
let tmp: string;

beforeAll(async () => {
  expected = parsePythonJson(await readFile(join(FIXTURES, 'expected.json'), 'utf8')) as Expected;
  tmp = await mkdtemp(join(tmpdir(), 'neuroxFiles-read-'));
});

async function readAll(activations: string, tokens = TOKENS): Promise<ActivationSentence[]> {
  const file = await openActivationFile(activations, tokens);
  try {
    const out: ActivationSentence[] = [];
    for await (const s of file.sentences()) out.push(s);
    return out;
  } finally {
    await file.close();
  }
}

/** Rejection of `p`, for asserting on its type and message. */
async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

describe('reading NeuroX activation files', () => {
  it.each(FILES)('%s reads to the values NeuroX\'s load_activations reads', async (name) => {
    const sentences = await readAll(join(FIXTURES, name));
    const want = expected.activations[name]!;
    expect(sentences.length).toBe(want.length);
    for (const s of sentences) {
      const m = toTokenMajor(s.activations);
      const rows = want[s.index]!;
      expect([m.rows, m.cols]).toEqual([rows.length, rows[0]!.length]);
      rows.forEach((row, t) => row.forEach((v, c) => {
        // NeuroX's json loader gives float64; ours is float32 of the same decimal
        if (!Object.is(m.data[t * m.cols + c], Math.fround(v))) {
          throw new Error(`${name} sentence ${s.index} token ${t} column ${c}: ${m.data[t * m.cols + c]} != ${v}`);
        }
      }));
    }
  });

  it('tokens are line.split(" ") exactly: unicode, combining marks, tabs and no-break spaces kept', async () => {
    const sentences = await readAll(join(FIXTURES, 'sentences.json'));
    expect(sentences.map((s) => s.tokens)).toEqual(expected.tokens);
    expect(sentences[1]!.tokens).toContain('e\u0301');
    expect(sentences[1]!.tokens).toContain('\u{1F44D}\u{1F3FD}');
    expect(sentences[4]!.tokens).toContain('tab\there');
    expect(sentences[4]!.tokens).toContain('nb\u00a0sp');
  });

  it('describes the file: format, shape, sentence count (hdf5 only) and dtype', async () => {
    const infos = [];
    for (const name of FILES) {
      const f = await openActivationFile(join(FIXTURES, name), TOKENS);
      infos.push(f.info);
      await f.close();
    }
    expect(infos.map(({ format, nLayers, dModel, nSentences, dtype }) => ({ format, nLayers, dModel, nSentences, dtype }))).toEqual([
      { format: 'json', nLayers: 3, dModel: 4, nSentences: null, dtype: 'float32' },
      { format: 'json', nLayers: 3, dModel: 4, nSentences: null, dtype: 'float32' },
      { format: 'hdf5', nLayers: 3, dModel: 4, nSentences: 7, dtype: 'float32' },
      { format: 'hdf5', nLayers: 3, dModel: 4, nSentences: 7, dtype: 'float16' },
    ]);
  });

  it('hdf5 follows the key order of sentence_to_index, integer-like sentence "42" included', async () => {
    // JSON.parse would move the key "42" (sentence 2) to the front, pairing dataset "2" with line 1
    const sentences = await readAll(join(FIXTURES, 'sentences.hdf5'));
    expect(sentences.map((s) => s.tokens.length)).toEqual(expected.tokens.map((t) => t.length));
    expect(sentences[2]!.tokens).toEqual(['42']);
  });

  it('reads Python\'s NaN / Infinity in json values (float16 overflow of 65520 is inf)', async () => {
    const [first] = await readAll(join(FIXTURES, 'sentences.f16.json'));
    const { data, nTokens, dModel } = first!.activations;
    expect(data[(1 * nTokens + 0) * dModel + 2]).toBe(Infinity); // layer 1, token 0, neuron 2
  });

  it('sentences() can be iterated again, and twice at once', async () => {
    const file = await openActivationFile(join(FIXTURES, 'sentences.hdf5'), TOKENS);
    try {
      const a = file.sentences()[Symbol.asyncIterator]();
      const b = file.sentences()[Symbol.asyncIterator]();
      let n = 0;
      for (;;) {
        const [x, y] = [await a.next(), await b.next()];
        expect(x.done).toBe(y.done);
        if (x.done || y.done) break;
        expect(Array.from(x.value.activations.data)).toEqual(Array.from(y.value.activations.data));
        n++;
      }
      let again = 0;
      for await (const _ of file.sentences()) again++;
      expect([n, again]).toEqual([7, 7]);
    } finally {
      await file.close();
    }
  });

  it.each(FILES)('%s: sentences({ layers: [from, to) }) gives exactly those layers of the full read', async (name) => {
    const full = await readAll(join(FIXTURES, name));
    const file = await openActivationFile(join(FIXTURES, name), TOKENS);
    try {
      let i = 0;
      for await (const s of file.sentences({ layers: [1, 3] })) {
        const f = full[i++]!.activations;
        const size = f.nTokens * f.dModel;
        expect(s.activations.nLayers).toBe(2);
        expect(Array.from(s.activations.data)).toEqual(Array.from(f.data.subarray(size, 3 * size)));
      }
      expect(i).toBe(full.length);
      await expect(async () => {
        for await (const _ of file.sentences({ layers: [2, 4] })) break;
      }).rejects.toThrow('layers [2, 4) are not a range within [0, 3)');
    } finally {
      await file.close();
    }
  });

  it('skips blank lines in a json activations file (NeuroX\'s loader fails on them)', async () => {
    const path = join(tmp, 'blank-lines.json');
    const lines = (await readFile(join(FIXTURES, 'sentences.json'), 'utf8')).split('\n');
    await writeFile(path, ['', ...lines.slice(0, 3), '  ', ...lines.slice(3), '\n'].join('\n'));
    const sentences = await readAll(path);
    expect(sentences.map((s) => s.tokens)).toEqual(expected.tokens);
  });

  it('drops a \\r before \\n in the tokens file, as Python\'s universal newlines do', async () => {
    const crlf = join(tmp, 'crlf.txt');
    await writeFile(crlf, (await readFile(TOKENS, 'utf8')).replaceAll('\n', '\r\n'));
    const sentences = await readAll(join(FIXTURES, 'sentences.json'), crlf);
    expect(sentences.map((s) => s.tokens)).toEqual(expected.tokens);
  });
});

describe('bad activation files are InputErrors that name the problem', () => {
  const lines = async () => (await readFile(TOKENS, 'utf8')).split('\n').slice(0, -1);

  it.each(['sentences.json', 'sentences.hdf5'])('%s: token count vs activation rows names the sentence and both counts', async (name) => {
    const tokens = await lines();
    tokens[3] += ' extra';
    const path = join(tmp, `extra-${name}.txt`);
    await writeFile(path, tokens.map((l) => `${l}\n`).join(''));
    const err = await failure(readAll(join(FIXTURES, name), path));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/^sentence 3: 8 tokens \(.*line 4\) but 7 activation rows/);
  });

  it.each([
    ['sentences.json', 5, /has 5 sentences but .*sentences\.json has 7/],
    ['sentences.json', 9, /has 9 sentences but .*sentences\.json has 7/],
    ['sentences.hdf5', 5, /has 5 sentences but .*sentences\.hdf5 has 7/],
    ['sentences.hdf5', 9, /has 9 sentences but .*sentences\.hdf5 has 7/],
  ] as const)('%s with a tokens file of %d lines names both counts', async (name, n, message) => {
    const all = await lines();
    const tokens = Array.from({ length: n }, (_, i) => all[i % all.length]!);
    const path = join(tmp, `n${n}-${name}.txt`);
    await writeFile(path, tokens.map((l) => `${l}\n`).join(''));
    const err = await failure(readAll(join(FIXTURES, name), path));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(message);
  });

  it('a json sentence with another neuron count names the sentence and both shapes', async () => {
    const path = join(tmp, 'shape.json');
    const line = (i: number, width: number) => JSON.stringify({ linex_index: i, features: [{ token: 'a', layers: [{ index: 0, values: Array(width).fill(0.5) }] }] });
    await writeFile(path, `${line(0, 4)}\n${line(1, 4)}\n${line(2, 5)}\n`);
    const tokens = join(tmp, 'three.txt');
    await writeFile(tokens, 'a\na\na\n');
    const err = await failure(readAll(path, tokens));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/shape\.json sentence 2 \(line 3\): 1 layers x 5 neurons, but sentence 0 has 1 x 4/);
  });

  it('a json line that is not JSON names the file and line', async () => {
    const path = join(tmp, 'broken.json');
    const good = (await readFile(join(FIXTURES, 'sentences.json'), 'utf8')).split('\n');
    await writeFile(path, [good[0], good[1], good[2]!.slice(0, 100), ...good.slice(3)].join('\n'));
    const err = await failure(readAll(path));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/broken\.json line 3 \(sentence 2\): not valid JSON/);
  });

  it('a file that is not HDF5, or is cut short, names the file and the reason', async () => {
    const notHdf5 = join(tmp, 'zeroed.hdf5');
    const bytes = await readFile(join(FIXTURES, 'sentences.hdf5'));
    bytes.fill(0, 0, 8);
    await writeFile(notHdf5, bytes);
    const err = await failure(openActivationFile(notHdf5, TOKENS));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/zeroed\.hdf5: not a readable HDF5 file \(.*signature/);

    const cut = join(tmp, 'cut.hdf5');
    await copyFile(join(FIXTURES, 'sentences.hdf5'), cut);
    await truncate(cut, 3000);
    const err2 = await failure(readAll(cut));
    expect(err2).toBeInstanceOf(InputError);
    expect(err2.message).toMatch(/cut\.hdf5: .*truncated/);
  });

  it('an unknown extension lists the accepted ones; a missing file is a NotFoundError naming it', async () => {
    const err = await failure(openActivationFile(join(tmp, 'acts.txt'), TOKENS));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/acts\.txt: unknown activation file format; expected a \.json, \.jsonl, \.hdf5 or \.h5 file/);
    const missing = await failure(openActivationFile(join(tmp, 'missing.hdf5'), TOKENS));
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.message).toMatch(/activations file not found: .*missing\.hdf5/);
    const noTokens = await failure(openActivationFile(join(FIXTURES, 'sentences.json'), join(tmp, 'none.txt')));
    expect(noTokens).toBeInstanceOf(NotFoundError);
    expect(noTokens.message).toMatch(/tokens file not found: .*none\.txt/);
  });

  it('a tokens file that is not UTF-8 names the line', async () => {
    const path = join(tmp, 'latin1.txt');
    const text = await readFile(TOKENS);
    const bad = Buffer.concat([text.subarray(0, text.indexOf('\n') + 1), Buffer.from([0x63, 0x61, 0xe9, 0x0a]), text.subarray(text.indexOf('\n') + 1)]);
    await writeFile(path, bad);
    const err = await failure(readAll(join(FIXTURES, 'sentences.json'), path));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/latin1\.txt line 2: not valid UTF-8/);
  });

  it('an hdf5 dataset that is not float, or not [layers x tokens x neurons], names the dataset', async () => {
    const h5 = (await import('h5wasm/node')).default;
    await h5.ready;
    const make = (name: string, build: (f: InstanceType<typeof h5.File>) => void) => {
      const path = join(tmp, name);
      const f = new h5.File(path, 'w');
      f.create_dataset({ name: 'sentence_to_index', data: [JSON.stringify({ a: '0' })] });
      build(f);
      f.close();
      return path;
    };
    const tokens = join(tmp, 'one.txt');
    await writeFile(tokens, 'a\n');
    const ints = make('ints.hdf5', (f) => f.create_dataset({ name: '0', data: new Int32Array(4), shape: [1, 1, 4] }));
    const flat = make('flat.hdf5', (f) => f.create_dataset({ name: '0', data: new Float32Array(4), shape: [1, 4] }));
    const missing = make('nodata.hdf5', () => {});
    expect((await failure(openActivationFile(ints, tokens))).message).toMatch(/ints\.hdf5: sentence 0: dataset "0" holds <i, expected float32 or float16/);
    expect((await failure(openActivationFile(flat, tokens))).message).toMatch(/flat\.hdf5: sentence 0: dataset "0" has shape \[1, 4\], expected \[layers x tokens x neurons\]/);
    expect((await failure(openActivationFile(missing, tokens))).message).toMatch(/nodata\.hdf5: sentence 0: no dataset "0"/);
  });
});
