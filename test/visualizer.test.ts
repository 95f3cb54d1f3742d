import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../pipelines/errors.ts';
import { visualizeActivations } from '../pipelines/render/svg.ts';
import { TransformersVisualizer } from '../workers/models/visualizer.ts';
import { loadReference, maxAbsDiff, modelDir } from './fixtures/models/reference.ts';

const cacheDir = mkdtempSync(join(tmpdir(), 'neurox-visualizer-'));
const ref = loadReference('bert');
let visualizer: TransformersVisualizer;

beforeAll(async () => {
  visualizer = await TransformersVisualizer.load(modelDir('bert'), { cacheDir, threads: 1, cacheSize: 2 });
});
afterAll(async () => {
  await visualizer?.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

/** Reference activations of one neuron over a sentence's words (aggregation last, no special tokens). */
function referenceNeuron(sentence: number, layer: number, neuron: number): { tokens: readonly string[]; values: Float32Array } {
  const c = ref.sentences[sentence]?.cases['last:words'];
  if (!c) throw new Error('no reference');
  const [, nTokens = 0, dModel = 0] = c.shape;
  const all = ref.values(c);
  return { tokens: c.tokens, values: Float32Array.from({ length: nTokens }, (_, t) => all[(layer * nTokens + t) * dModel + neuron] as number) };
}

describe('TransformersVisualizer', () => {
  it("renders activations[layer][:, neuron] of the sentence, layer 0 being the embedding output, as NeuroX's does", async () => {
    for (const [layer, neuron] of [
      [0, 3],
      [3, 15],
    ] as const) {
      const svg = await visualizer.visualize(ref.sentences[0]?.words as string[], layer, neuron, { darken: 1 });
      const { tokens, values } = referenceNeuron(0, layer, neuron);
      const got = await visualizer.activations(ref.sentences[0]?.words as string[]);
      expect(got.tokens).toEqual(tokens);
      const ours = Float32Array.from({ length: got.nTokens }, (_, t) => got.data[(layer * got.nTokens + t) * got.dModel + neuron] as number);
      expect(maxAbsDiff(ours, values)).toBeLessThan(1e-4); // the neuron's values are PyTorch's
      expect(svg).toBe(visualizeActivations(tokens, ours, { darken: 1 })); // drawn by visualizeActivations
    }
  });

  it('reuses the activations of a sentence it has seen instead of running the model again (NeuroX re-runs it)', async () => {
    const v = new TransformersVisualizer(visualizer.extractor, { cacheSize: 2 });
    const [a, b, c] = [ref.sentences[0]?.text, ref.sentences[3]?.text, ref.sentences[8]?.text] as string[];
    await v.visualize(a as string, 1, 0);
    await v.visualize(a as string, 2, 7);
    await v.visualize((a as string).split(' '), 3, 1);
    expect(v.modelRuns).toBe(1);
    await v.visualize(b as string, 1, 0);
    await v.visualize(a as string, 1, 1); // a hit: a becomes the most recently used, b the least
    expect(v.modelRuns).toBe(2);
    await v.visualize(c as string, 1, 0); // evicts b (least recently used)
    await v.visualize(a as string, 1, 0);
    expect(v.modelRuns).toBe(3);
    await v.visualize(b as string, 1, 0);
    expect(v.modelRuns).toBe(4);
  });

  it('a sentence longer than the model maximum renders its kept words (NeuroX fails on it)', async () => {
    const long = ref.sentences.find((s) => s.truncatedWords > 0 && s.emptyWords.length === 0);
    if (!long) throw new Error('no truncated reference sentence');
    const svg = await visualizer.visualize(long.text, 1, 2);
    const kept = long.words.length - long.truncatedWords;
    expect(svg).toContain(`>${long.words[kept - 1]}<`);
    expect((await visualizer.activations(long.text)).nTokens).toBe(kept);
  });

  it('layer and neuron out of range name the range', async () => {
    await expect(visualizer.visualize('a b', 4, 0)).rejects.toThrow(InputError);
    await expect(visualizer.visualize('a b', 4, 0)).rejects.toThrow('layer 4 is out of range [0, 3]');
    await expect(visualizer.visualize('a b', 1, 16)).rejects.toThrow('neuron 16 is out of range [0, 15]');
  });
});
