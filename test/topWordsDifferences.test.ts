/**
 * Where this project deliberately differs from NeuroX's get_top_words (each
 * has a line in README's "Deliberate differences from NeuroX").
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../pipelines/errors.ts';
import { matrix } from '../pipelines/matrix.ts';
import { getTopWords, topWordsAllNeurons } from '../pipelines/topWords.ts';

const m = (rows: number[][]) => matrix(Float32Array.from(rows.flat()), rows.length, rows[0]?.length ?? 0);

describe('deliberate differences from NeuroX get_top_words', () => {
  const sentences = [['a', 'b'], ['c', 'a']];

  it('a constant neuron (sigma = 0) scores every type 0 instead of NaN: nothing passes a threshold >= 0, every type passes a negative one', () => {
    const acts = [m([[3, 1], [3, 2]]), m([[3, 5], [3, 1]])];
    expect(getTopWords(sentences, acts, 0)).toEqual([]);
    expect(getTopWords(sentences, acts, 0, { minThreshold: 0 })).toEqual([]);
    expect(getTopWords(sentences, acts, 0, { minThreshold: -1 })).toEqual([
      { token: 'a', score: 0, count: 2, mean: 3 },
      { token: 'b', score: 0, count: 1, mean: 3 },
      { token: 'c', score: 0, count: 1, mean: 3 },
    ]);
    const all = topWordsAllNeurons(sentences, acts, { minThreshold: -1 });
    expect(all[0]!.every((w) => w.score === 0)).toBe(true);
    expect(all[1]!.map((w) => w.token)).toEqual(['c', 'a', 'b']); // the other neuron is unaffected
  });

  it('a one-token corpus scores its type 0 instead of NaN', () => {
    expect(getTopWords([['solo']], [m([[0.7]])], 0, { minThreshold: -1 })).toEqual([{ token: 'solo', score: 0, count: 1, mean: expect.closeTo(0.7, 6) }]);
  });

  it('NaN or infinite activations throw InputError naming sentence, token and neuron instead of NaN scores', () => {
    const acts = [m([[1, 2], [3, 4]]), m([[5, 6], [7, NaN]])];
    expect(() => getTopWords(sentences, acts, 1)).toThrow(new InputError('sentence 1, token 1, neuron 1: activation NaN is not finite'));
    expect(() => topWordsAllNeurons(sentences, [m([[1, Infinity], [3, 4]]), m([[5, 6], [7, 8]])])).toThrow(
      'sentence 0, token 0, neuron 1: activation Infinity is not finite',
    );
    // Only the neuron asked for is read.
    expect(getTopWords(sentences, acts, 0).length).toBeGreaterThan(0);
  });

  it('an empty corpus throws InputError instead of crashing', () => {
    expect(() => getTopWords([], [], 0)).toThrow(new InputError('empty corpus: 0 sentences and no tokens'));
    expect(() => topWordsAllNeurons([[], []], [m([]), m([])])).toThrow('empty corpus: 2 sentences and no tokens');
  });

  it('activation rows that do not match the tokens throw InputError naming the sentence and both counts', () => {
    const more = [m([[1], [2]]), m([[3], [4], [5]])];
    expect(() => getTopWords(sentences, more, 0)).toThrow(new InputError('sentence 1: 2 tokens but 3 activation rows'));
    const fewer = [m([[1]]), m([[3], [4]])];
    expect(() => topWordsAllNeurons(sentences, fewer)).toThrow('sentence 0: 2 tokens but 1 activation rows');
    expect(() => getTopWords(sentences, [m([[1], [2]])], 0)).toThrow('2 sentences but 1 activation matrices');
    expect(() => getTopWords(sentences, [m([[1], [2]]), m([[3, 3], [4, 4]])], 0)).toThrow('sentence 1: 2 neurons, sentence 0 has 1');
  });

  it('a neuron out of range throws InputError naming the range', () => {
    const acts = [m([[1, 2], [3, 4]]), m([[5, 6], [7, 8]])];
    expect(() => getTopWords(sentences, acts, 2)).toThrow(new InputError('neuron 2 is out of range [0, 1]'));
    expect(() => getTopWords(sentences, acts, -1)).toThrow('neuron -1 is out of range [0, 1]');
    expect(() => getTopWords(sentences, acts, 0.5)).toThrow('neuron 0.5 is out of range [0, 1]');
  });

  it('numTokens must be a non-negative integer (NeuroX treats a negative one as 0)', () => {
    const acts = [m([[1], [2]]), m([[3], [4]])];
    expect(() => getTopWords(sentences, acts, 0, { numTokens: -1 })).toThrow(new InputError('numTokens -1 is not a non-negative integer'));
    expect(() => getTopWords(sentences, acts, 0, { numTokens: 1.5 })).toThrow('numTokens 1.5 is not a non-negative integer');
    expect(() => getTopWords(sentences, acts, 0, { minThreshold: NaN })).toThrow('minThreshold is NaN');
  });

  it('each top word carries its count and signed mean activation beside the score', () => {
    // "on" is on (1) almost everywhere; NeuroX's score ranks the rare off token first.
    const s = [['on', 'on', 'on', 'off'], ['on', 'on', 'on', 'on']];
    const acts = [m([[1], [1], [1], [-1]]), m([[1], [1], [1], [1]])];
    expect(getTopWords(s, acts, 0)).toEqual([
      { token: 'off', score: 1, count: 1, mean: -1 },
      { token: 'on', score: expect.closeTo(1 / 7, 12), count: 7, mean: 1 },
    ]);
  });
});
