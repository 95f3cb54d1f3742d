/**
 * Loads the top-words parity fixtures (test/fixtures/topwords/<name>.input.json
 * beside <name>.expected.json, written by tools/fixtures/make_topwords_fixtures.py)
 * as NeuroX-shaped corpora: `activations[i]` is sentence i's `[nTokens x nNeurons]`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { matrix, toTokenMajor, type Matrix } from '../pipelines/matrix.ts';
import type { TopWord, TopWordsOptions } from '../pipelines/topWords.ts';

export const fixtureDir = join(import.meta.dirname, 'fixtures', 'topwords');

export interface TopWordsFixture {
  readonly name: string;
  readonly sentences: string[][];
  readonly activations: Matrix[];
  readonly nLayers?: number;
  readonly dModel?: number;
  readonly queries: {
    readonly options: TopWordsOptions;
    readonly neurons: { neuron: number; layer?: number; neuronInLayer?: number; topWords: TopWord[] }[];
  }[];
}

interface InputJson {
  sentences: string[][];
  activations?: number[][][];
  nLayers?: number;
  dModel?: number;
  layerActivations?: number[][][][];
}

export function loadFixtures(): TopWordsFixture[] {
  const names = readdirSync(fixtureDir).filter((f) => f.endsWith('.input.json')).map((f) => f.slice(0, -'.input.json'.length)).sort();
  return names.map((name) => {
    const input = JSON.parse(readFileSync(join(fixtureDir, `${name}.input.json`), 'utf8')) as InputJson;
    const expected = JSON.parse(readFileSync(join(fixtureDir, `${name}.expected.json`), 'utf8')) as Pick<TopWordsFixture, 'queries'>;
    let activations: Matrix[];
    if (input.layerActivations) {
      const { nLayers, dModel } = input as Required<InputJson>;
      activations = input.layerActivations.map((layers, i) => {
        const tokens = input.sentences[i]!;
        const data = Float32Array.from(layers.flat(2));
        return toTokenMajor({ tokens, data, nLayers, nTokens: tokens.length, dModel });
      });
    } else {
      activations = input.activations!.map((rows) => matrix(Float32Array.from(rows.flat()), rows.length, rows[0]?.length ?? 0));
    }
    return { name, sentences: input.sentences, activations, nLayers: input.nLayers, dModel: input.dModel, queries: expected.queries };
  });
}
