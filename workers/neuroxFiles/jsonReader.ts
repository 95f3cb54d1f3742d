/**
 * Reader of NeuroX json activation files (JSON Lines, one sentence per
 * line), streamed line by line. Like NeuroX's loader it uses the order of the
 * lines (not `linex_index`) and the order of each token's `layers` list
 * (not their `index`). Blank lines are skipped (NeuroX's loader fails on them).
 */
import { InputError } from '../../pipelines/errors.ts';
import { byteLines } from './lines.ts';
import { parsePythonJson } from './pythonJson.ts';
import type { OpenedActivations, RawSentence, SentenceSource } from './source.ts';

const isBlank = (line: Buffer): boolean => {
  for (const b of line) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  return true;
};

function fail(path: string, lineIndex: number, sentence: number, what: string): never {
  throw new InputError(`${path} line ${lineIndex + 1} (sentence ${sentence}): ${what}`);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Decodes one line; `[nLayers x nTokens x dModel]` from its features, checked for a consistent shape. */
export function decodeJsonSentence(path: string, lineIndex: number, sentence: number, line: Buffer): RawSentence {
  let value: unknown;
  try {
    value = parsePythonJson(new TextDecoder('utf-8', { fatal: true }).decode(line));
  } catch (err) {
    fail(path, lineIndex, sentence, `not valid JSON (${(err as Error).message})`);
  }
  const features = isRecord(value) ? value.features : undefined;
  if (!Array.isArray(features)) fail(path, lineIndex, sentence, 'no "features" list');
  const nTokens = features.length;
  if (nTokens === 0) fail(path, lineIndex, sentence, 'no tokens in "features"');
  let nLayers = 0;
  let dModel = 0;
  let data = new Float32Array(0);
  for (let t = 0; t < nTokens; t++) {
    const feature = features[t];
    const layers = isRecord(feature) ? feature.layers : undefined;
    if (!Array.isArray(layers) || layers.length === 0) fail(path, lineIndex, sentence, `token ${t} has no "layers" list`);
    for (let l = 0; l < layers.length; l++) {
      const layer = layers[l];
      const values = isRecord(layer) ? layer.values : undefined;
      if (!Array.isArray(values) || values.length === 0) fail(path, lineIndex, sentence, `token ${t} layer ${l} has no "values" list`);
      if (t === 0 && l === 0) {
        nLayers = layers.length;
        dModel = values.length;
        data = new Float32Array(nLayers * nTokens * dModel);
      }
      if (layers.length !== nLayers) fail(path, lineIndex, sentence, `token ${t} has ${layers.length} layers, token 0 has ${nLayers}`);
      if (values.length !== dModel) fail(path, lineIndex, sentence, `token ${t} layer ${l} has ${values.length} values, expected ${dModel}`);
      const base = (l * nTokens + t) * dModel;
      for (let n = 0; n < dModel; n++) {
        const v = values[n];
        if (typeof v !== 'number') fail(path, lineIndex, sentence, `token ${t} layer ${l} value ${n} is not a number: ${JSON.stringify(v)}`);
        data[base + n] = v;
      }
    }
  }
  return { nLayers, nTokens, dModel, data, where: `line ${lineIndex + 1}` };
}

function jsonSource(path: string, layers?: readonly [number, number]): SentenceSource {
  const lines = byteLines(path, 'activations file');
  let lineIndex = -1;
  let sentence = 0;
  const nextLine = async (): Promise<Buffer | null> => {
    for (;;) {
      const r = await lines.next();
      if (r.done) return null;
      lineIndex++;
      if (!isBlank(r.value)) return r.value;
    }
  };
  return {
    async next() {
      const line = await nextLine();
      if (line === null) return null;
      const raw = decodeJsonSentence(path, lineIndex, sentence++, line);
      if (layers === undefined || raw.nLayers < layers[1]) return raw; // a short sentence fails its shape check later
      // the layers are contiguous in [nLayers x nTokens x dModel]
      const size = raw.nTokens * raw.dModel;
      return { ...raw, data: raw.data.subarray(layers[0] * size, layers[1] * size) };
    },
    async countRest() {
      let n = 0;
      while ((await nextLine()) !== null) n++;
      return n;
    },
    async close() {
      await lines.return(undefined);
    },
  };
}

export async function openJsonActivations(path: string): Promise<OpenedActivations> {
  // the shape comes from the first sentence; later ones are checked against it
  const first = jsonSource(path);
  let head: RawSentence | null;
  try {
    head = await first.next();
  } finally {
    await first.close();
  }
  if (head === null) throw new InputError(`${path}: no sentences`);
  return {
    nLayers: head.nLayers,
    dModel: head.dModel,
    nSentences: null,
    dtype: 'float32',
    source: (layers) => jsonSource(path, layers),
    async close() {},
  };
}
