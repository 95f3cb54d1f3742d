/**
 * One layer rule for every extractor and the planner (pipelines/extractOptions.ts):
 * layers index the hidden states with the embedding output as 0, in the
 * order asked; ignoreEmbeddings drops 0, and listing 0 as well is refused.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../pipelines/errors.ts';
import { checkExtractOptions, selectLayers } from '../pipelines/extractOptions.ts';
import type { ExtractOptions } from '../pipelines/ports.ts';

describe('selectLayers', () => {
  it('keeps every layer by default, and drops the embedding output when asked', () => {
    expect(selectLayers(3, { ignoreEmbeddings: false })).toEqual([0, 1, 2]);
    expect(selectLayers(3, { ignoreEmbeddings: true })).toEqual([1, 2]);
  });

  it('keeps listed layers in the order asked; ignoreEmbeddings with a list that leaves out 0 is that list (the stages pass both)', () => {
    expect(selectLayers(3, { ignoreEmbeddings: false, layers: [2, 0] })).toEqual([2, 0]);
    expect(selectLayers(3, { ignoreEmbeddings: true, layers: [2, 1] })).toEqual([2, 1]);
    // the resolved list of a run that ignores embeddings resolves to itself
    const resolved = selectLayers(13, { ignoreEmbeddings: true });
    expect(selectLayers(13, { ignoreEmbeddings: true, layers: resolved })).toEqual(resolved);
  });

  it('refuses bad selections with an InputError naming the layer', () => {
    expect(() => selectLayers(3, { ignoreEmbeddings: false, layers: [3] })).toThrow(new InputError('layer 3 is out of range [0, 2] (0 = embedding output)'));
    expect(() => selectLayers(3, { ignoreEmbeddings: false, layers: [-1] })).toThrow('layer -1 is out of range');
    expect(() => selectLayers(3, { ignoreEmbeddings: false, layers: [1.5] })).toThrow('layer 1.5 is out of range');
    expect(() => selectLayers(3, { ignoreEmbeddings: false, layers: [1, 1] })).toThrow(new InputError('layer 1 is listed twice'));
    expect(() => selectLayers(3, { ignoreEmbeddings: true, layers: [1, 0] })).toThrow(new InputError('layers lists 0 (the embedding output) but ignoreEmbeddings drops it'));
    expect(() => selectLayers(3, { ignoreEmbeddings: false, layers: [] })).toThrow(InputError);
  });
});

describe('checkExtractOptions', () => {
  const ok: ExtractOptions = { aggregation: 'last', includeSpecialTokens: false, ignoreEmbeddings: false, batchSize: 1 };

  it('accepts the three aggregations and any positive batch size', () => {
    for (const aggregation of ['first', 'last', 'average'] as const) expect(() => checkExtractOptions({ ...ok, aggregation, batchSize: 4096 })).not.toThrow();
  });

  it('refuses an unknown aggregation and a batch size that is not a positive integer, naming the value', () => {
    expect(() => checkExtractOptions({ ...ok, aggregation: 'max' as ExtractOptions['aggregation'] })).toThrow(new InputError('aggregation "max" is not one of first, last, average'));
    for (const batchSize of [0, -1, 1.5, Number.NaN]) expect(() => checkExtractOptions({ ...ok, batchSize })).toThrow(new InputError(`batchSize ${batchSize} is not a positive integer`));
  });
});
