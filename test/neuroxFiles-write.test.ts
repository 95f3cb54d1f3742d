import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../pipelines/errors.ts';
import { toTokenMajor, type SentenceActivations } from '../pipelines/matrix.ts';
import { createActivationWriter, openActivationFile, type ActivationSentence } from '../workers/neuroxFiles/index.ts';
import { hasPython, runPython } from './helpers/python.ts';
import { parsePythonJson } from '../workers/neuroxFiles/pythonJson.ts';
import { writeFile } from 'node:fs/promises';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'neurox-files');
const TOKENS = join(FIXTURES, 'tokens.txt');
let tmp: string;
let sentences: ActivationSentence[];

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

async function writeAll(path: string, dtype: 'float32' | 'float16', input: readonly ActivationSentence[]): Promise<void> {
  const writer = await createActivationWriter(path, { dtype });
  for (const s of input) await writer.write({ tokens: s.tokens, activations: s.activations });
  await writer.close();
}

/** Reads an hdf5 file the way NeuroX's load_activations does, in Python. */
const NEUROX_HDF5_LOADER = `
import h5py, json, sys, numpy as np
f = h5py.File(sys.argv[1], "r")
index = json.loads(f.get("sentence_to_index")[0])
out = {"keys": list(index), "dtypes": [], "activations": []}
for _, name in index.items():
    ds = f[name]
    out["dtypes"].append(str(ds.dtype))
    a = np.asarray(ds, dtype=np.float32)
    out["activations"].append(np.swapaxes(a, 0, 1).reshape(a.shape[1], -1).tolist())
print(json.dumps(out))
`;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'neuroxFiles-write-'));
  sentences = await readAll(join(FIXTURES, 'sentences.hdf5')); // float32, written by NeuroX's writer logic
});

describe('writing NeuroX activation files', () => {
  it.each([
    ['float32', 'sentences.json'],
    ['float16', 'sentences.f16.json'],
  ] as const)('json (%s) is byte-identical to what NeuroX\'s writer writes', async (dtype, reference) => {
    const path = join(tmp, `out.${dtype}.json`);
    await writeAll(path, dtype, sentences);
    expect(await readFile(path, 'utf8')).toBe(await readFile(join(FIXTURES, reference), 'utf8'));
  });

  it.each([
    ['float32', 'sentences.hdf5'],
    ['float16', 'sentences.f16.hdf5'],
  ] as const)('hdf5 (%s) reads back here as the values of NeuroX\'s own %s', async (dtype, reference) => {
    const path = join(tmp, `out.${dtype}.hdf5`);
    await writeAll(path, dtype, sentences);
    const file = await openActivationFile(path, TOKENS);
    expect(file.info.dtype).toBe(dtype);
    await file.close();
    const back = await readAll(path);
    const want = await readAll(join(FIXTURES, reference));
    expect(back.map((s) => s.tokens)).toEqual(want.map((s) => s.tokens));
    back.forEach((s, i) => expect(Buffer.from(s.activations.data.buffer).equals(Buffer.from(want[i]!.activations.data.buffer))).toBe(true));
  });

  it.skipIf(!hasPython).each(['float32', 'float16'] as const)('hdf5 (%s) reads in h5py the way NeuroX\'s loader reads it, "(Occurrence N)" keys included', async (dtype) => {
    const path = join(tmp, `py.${dtype}.hdf5`);
    await writeAll(path, dtype, sentences);
    const ours = parsePythonJson(runPython(NEUROX_HDF5_LOADER, [path])) as { keys: string[]; dtypes: string[]; activations: number[][][] };
    const theirs = parsePythonJson(runPython(NEUROX_HDF5_LOADER, [join(FIXTURES, dtype === 'float32' ? 'sentences.hdf5' : 'sentences.f16.hdf5')])) as typeof ours;
    expect(ours.keys).toEqual(theirs.keys);
    expect(ours.keys).toContain('The cat sat on the mat . (Occurrence 3)');
    expect(ours.dtypes).toEqual(Array(7).fill(dtype));
    expect(ours.activations).toEqual(theirs.activations);
  });

  it.skipIf(!hasPython)('a file of 9,000 sentences (a three-level group B-tree) reads in h5py and here', async () => {
    const path = join(tmp, 'many.hdf5');
    const tokensPath = join(tmp, 'many.txt');
    const writer = await createActivationWriter(path, { dtype: 'float32' });
    const n = 9000;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const tokens = [`w${i % 50}`];
      lines.push(tokens.join(' '));
      await writer.write({ tokens, activations: { tokens, data: Float32Array.of(i, -i), nLayers: 2, nTokens: 1, dModel: 1 } });
    }
    await writer.close();
    await writeFile(tokensPath, lines.map((l) => `${l}\n`).join(''));
    const check = runPython(`
import h5py, json, sys
f = h5py.File(sys.argv[1], "r")
index = json.loads(f["sentence_to_index"][0])
assert len(f.keys()) == len(index) + 1
bad = [name for name in index.values() if float(f[name][0, 0, 0]) != int(name) or float(f[name][1, 0, 0]) != -int(name)]
print(len(index), len(bad), list(index)[-1])
`, [path]);
    expect(check.trim()).toBe(`${n} 0 w49 (Occurrence 180)`);
    let i = 0;
    for (const s of await readAll(path, tokensPath)) {
      expect(Array.from(s.activations.data)).toEqual([i, -i]);
      i++;
    }
    expect(i).toBe(n);
  });

  it('an hdf5 file is not readable before close(): an interrupted write is never taken for a complete file', async () => {
    const path = join(tmp, 'partial.hdf5');
    const writer = await createActivationWriter(path, { dtype: 'float32' });
    await writer.write({ tokens: sentences[0]!.tokens, activations: sentences[0]!.activations });
    const one = join(tmp, 'one.txt');
    await writeFile(one, `${sentences[0]!.tokens.join(' ')}\n`);
    await expect(openActivationFile(path, one)).rejects.toThrow(/partial\.hdf5: not a readable HDF5 file/);
    await writer.close();
    const back = await readAll(path, one);
    expect(Array.from(toTokenMajor(back[0]!.activations).data)).toEqual(Array.from(toTokenMajor(sentences[0]!.activations).data));
  });

  it.each(['json', 'hdf5'] as const)('%s writer refuses a token count that is not the row count, and a change of shape', async (format) => {
    const writer = await createActivationWriter(join(tmp, `bad.${format}`), { dtype: 'float32' });
    const acts = (nLayers: number, nTokens: number, dModel: number): SentenceActivations => ({
      tokens: Array(nTokens).fill('t'), data: new Float32Array(nLayers * nTokens * dModel), nLayers, nTokens, dModel,
    });
    await expect(writer.write({ tokens: ['a', 'b'], activations: acts(2, 3, 4) })).rejects.toThrow(/sentence 0: 2 tokens but 3 activation rows/);
    await writer.write({ tokens: ['a', 'b'], activations: acts(2, 2, 4) });
    const err = writer.write({ tokens: ['a'], activations: acts(2, 1, 5) });
    await expect(err).rejects.toBeInstanceOf(InputError);
    await expect(writer.write({ tokens: ['a'], activations: acts(2, 1, 5) })).rejects.toThrow(/sentence 1: 2 layers x 5 neurons, but sentence 0 has 2 x 4/);
    await writer.close();
  });

  it('the format comes from the extension unless given; others are refused by name', async () => {
    const path = join(tmp, 'explicit.out');
    await expect(createActivationWriter(path, { dtype: 'float32' })).rejects.toThrow(/explicit\.out: unknown activation file format/);
    const writer = await createActivationWriter(path, { dtype: 'float32', format: 'json' });
    await writer.write({ tokens: sentences[2]!.tokens, activations: sentences[2]!.activations });
    await writer.close();
    expect((await readFile(path, 'utf8')).startsWith('{"linex_index": 0, "features": [{"token": "42", "layers": [{"index": 0, "values": [')).toBe(true);
  });
});
