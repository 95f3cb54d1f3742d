import { describe, expect, it } from 'vitest';
import { globalNeuronOf, matrix, splitGlobalNeuron, toTokenMajor } from '../pipelines/matrix.ts';

describe('matrix vocabulary', () => {
  it('maps (layer, neuron) to NeuroX global indices and back', () => {
    expect(globalNeuronOf(2, 5, 13, 768)).toBe(2 * 768 + 5);
    expect(splitGlobalNeuron(2 * 768 + 5, 13, 768)).toEqual({ layer: 2, neuron: 5 });
  });
  it('names the range when an index is out of it', () => {
    expect(() => globalNeuronOf(0, 768, 13, 768)).toThrow('neuron 768 is out of range [0, 767]');
    expect(() => splitGlobalNeuron(9984, 13, 768)).toThrow('neuron 9984 is out of range [0, 9983]');
    expect(() => globalNeuronOf(13, 0, 13, 768)).toThrow('layer 13 is out of range [0, 12]');
  });
  it('refuses data that does not fill its shape', () => {
    expect(() => matrix(new Float32Array(5), 2, 3)).toThrow('5 values do not fill shape [2 x 3]');
  });
  it('moves the layer axis inside like NeuroX concatenates layers', () => {
    // 2 layers x 2 tokens x 3 neurons: value = layer*100 + token*10 + neuron
    const data = new Float32Array(12);
    for (let l = 0; l < 2; l++) for (let t = 0; t < 2; t++) for (let n = 0; n < 3; n++) data[(l * 2 + t) * 3 + n] = l * 100 + t * 10 + n;
    const m = toTokenMajor({ tokens: ['a', 'b'], data, nLayers: 2, nTokens: 2, dModel: 3 });
    expect(m.rows).toBe(2);
    expect(m.cols).toBe(6);
    expect(Array.from(m.data)).toEqual([0, 1, 2, 100, 101, 102, 10, 11, 12, 110, 111, 112]);
  });
});
