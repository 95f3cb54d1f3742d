import { describe, expect, it } from 'vitest';
import { globalNeuronIn, parseNeuronRef, selectNeurons } from '../pipelines/renderSelection.ts';

describe('render selection', () => {
  const variance = [0.5, 3, NaN, 3, 1, 0.1];
  const layers = [4, 5]; // a run keeping model layers 4 and 5, dModel 3

  it('picks the N neurons with the highest variance, ties to the lower index, NaN last', () => {
    expect(Array.from(selectNeurons({ topVariance: 2 }, variance, layers, 3))).toEqual([1, 3]);
    expect(Array.from(selectNeurons({ topVariance: 5 }, variance, layers, 3))).toEqual([0, 1, 3, 4, 5]);
    expect(Array.from(selectNeurons({ topVariance: 99 }, variance, layers, 3))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('takes all, none, or a list of model-layer:neuron', () => {
    expect(selectNeurons('all', variance, layers, 3)).toHaveLength(6);
    expect(selectNeurons('none', variance, layers, 3)).toHaveLength(0);
    expect(Array.from(selectNeurons({ neurons: ['5:2', '4:0', '5:2'] }, variance, layers, 3))).toEqual([0, 5]);
  });

  it('names a neuron or layer the run does not have', () => {
    expect(() => selectNeurons({ neurons: ['3:0'] }, variance, layers, 3)).toThrow('layer 3 is not in this run (layers 4-5)');
    expect(() => globalNeuronIn(layers, 3, 4, 3)).toThrow('neuron 3 is out of range [0, 2]');
    expect(() => parseNeuronRef('4-1')).toThrow("neuron '4-1' is not LAYER:NEURON");
  });
});
