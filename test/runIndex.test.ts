import { describe, expect, it } from 'vitest';
import { buildRunIndex, neuronsOf, parseRunSummary, runIndexFiles, scriptSafeJson, type IndexFile, type NeuronInput, type RunIndex } from '../pipelines/runIndex.ts';

const run = { runId: 'r1', model: 'tiny', nLayers: 2, dModel: 3, createdAt: '2026-01-01T00:00:00Z', sentences: 4, tokens: 17 };
const text = (f: IndexFile): string => new TextDecoder().decode(f.body);
/** Each layer's neurons as objects, by layer position. */
const neuronLists = (idx: RunIndex) => idx.layers.map(neuronsOf);
/** The word index as token -> [globalNeuron, rank, score] entries. */
function wordLists(idx: RunIndex): Map<string, number[][]> {
  const w = idx.words;
  return new Map(w.token.map((t, i) => [t, w.globalNeuron.slice(w.offsets[i], w.offsets[i + 1]).map((g, k) => [g, w.rank[w.offsets[i]! + k]!, w.score[w.offsets[i]! + k]!])]));
}
const stats = (variance: number) => ({ count: 17, mean: 0, variance, std: Math.sqrt(variance), min: -1, max: 1 });

function neuron(layer: number, n: number, words: string[], rendered = false): NeuronInput {
  return {
    layer,
    neuron: n,
    stats: stats(layer + n / 10),
    topWords: words.map((token, i) => ({ token, score: 1 - i / 10, count: 2, mean: 0.5 })),
    topSentences: [{ sentenceIndex: 2, maxActivation: -0.9, tokenIndex: 1, text: 'a b' }, { sentenceIndex: 0, maxActivation: 0.4, tokenIndex: 0 }],
    rendered,
  };
}

describe('run index', () => {
  it('lists every neuron by layer with its stats, top words and the paths of its renders', () => {
    const idx = buildRunIndex(run, [neuron(1, 2, ['cat', 'dog'], true), neuron(0, 1, ['the']), neuron(1, 0, [])]);
    const layers = neuronLists(idx);
    expect(layers.map((l) => l.map((n) => n.neuron))).toEqual([[1], [0, 2]]);
    const n = layers[1]![1]!;
    expect(n.globalNeuron).toBe(5);
    expect(n.topSentences.map((s) => s.svg)).toEqual(['renders/1/2/0.svg', 'renders/1/2/1.svg']);
    expect(n.topSentences[0]).toMatchObject({ rank: 0, sentenceIndex: 2, maxActivation: -0.9, tokenIndex: 1, text: 'a b' });
    expect(n.plots).toEqual({ histogram: 'renders/1/2/histogram.svg', topWords: 'renders/1/2/top-words.svg' });
    const unrendered = layers[0]![0]!;
    expect(unrendered.topSentences.map((s) => s.svg)).toEqual([null, null]);
    expect(unrendered.plots).toEqual({ histogram: null, topWords: null });
    expect(idx.summary.layers.map((l) => [l.neurons, l.rendered, l.plots.variance])).toEqual([[1, 0, 'renders/0/variance.svg'], [2, 1, 'renders/1/variance.svg']]);
    expect(idx.summary.layers[1]!.maxVariance).toBeCloseTo(1.2);
  });

  it('names layers by their model number when the run keeps a subset, global neurons by position', () => {
    const idx = buildRunIndex({ ...run, layers: [3, 5] }, [neuron(5, 1, ['x'], true), neuron(3, 0, ['x'])]);
    expect(idx.summary.layers.map((l) => [l.layer, l.script])).toEqual([[3, 'index/layer-3.js'], [5, 'index/layer-5.js']]);
    const n = neuronsOf(idx.layers[1]!)[0]!;
    expect([n.layer, n.neuron, n.globalNeuron, n.topSentences[0]!.svg]).toEqual([5, 1, 4, 'renders/5/1/0.svg']);
    expect(wordLists(idx).get('x')).toEqual([[0, 0, 1], [4, 0, 1]]);
    expect(() => buildRunIndex({ ...run, layers: [3, 5] }, [neuron(4, 0, [])])).toThrow('layer 4 is not in the run (layers 3, 5)');
  });

  it('indexes top words to neurons, best score first, keeping at most maxTopWords per neuron', () => {
    const idx = buildRunIndex({ ...run, maxTopWords: 2 }, [neuron(0, 0, ['x', 'cat', 'dog']), neuron(1, 1, ['cat']), neuron(0, 2, ['cat'])]);
    expect(wordLists(idx).get('cat')).toEqual([[2, 0, 1], [4, 0, 1], [0, 1, 0.9]]);
    expect(wordLists(idx).has('dog')).toBe(false);
    expect(neuronsOf(idx.layers[0]!)[0]!.topWords.map((w) => w.token)).toEqual(['x', 'cat']);
  });

  it('keeps tokens such as __proto__ and constructor as plain words', () => {
    const idx = buildRunIndex(run, [neuron(0, 0, ['__proto__', 'constructor'])]);
    const parsed = JSON.parse(text(runIndexFiles(idx).find((f) => f.path === 'index/words.json')!)) as { token: string[] };
    expect(parsed.token).toEqual(['__proto__', 'constructor']);
    expect([...wordLists(idx).keys()]).toEqual(['__proto__', 'constructor']);
  });

  it('writes each layer as JSON and as a page script carrying the same object', () => {
    const idx = buildRunIndex(run, [neuron(0, 0, ['</script><b>x']), neuron(1, 1, ['y'])]);
    const files = runIndexFiles(idx);
    expect(files.map((f) => f.path).sort()).toEqual(['index.json', 'index/layer-0.js', 'index/layer-0.json', 'index/layer-1.js', 'index/layer-1.json', 'index/words.js', 'index/words.json']);
    const got: Record<string, unknown> = {};
    const hooks = { layer: (l: number, d: unknown) => { got[`layer${l}`] = d; }, words: (d: unknown) => { got['words'] = d; } };
    for (const f of files.filter((f) => f.path.endsWith('.js'))) new Function('NEUROX_INDEX', text(f))(hooks);
    expect(got['layer0']).toEqual(JSON.parse(text(files.find((f) => f.path === 'index/layer-0.json')!)));
    expect(got['words']).toEqual(JSON.parse(text(files.find((f) => f.path === 'index/words.json')!)));
    for (const f of files) expect(text(f)).not.toContain('</script>');
    expect(parseRunSummary(JSON.parse(text(files.find((f) => f.path === 'index.json')!)))).toEqual(JSON.parse(scriptSafeJson(idx.summary)));
  });

  it('writes each layer as columns in neuron order, with each sentence text once', () => {
    // given out of order, with top-word lists of different lengths: the ragged columns follow the neurons
    const idx = buildRunIndex(run, [neuron(1, 2, ['cat', 'dog'], true), neuron(1, 0, ['x']), neuron(1, 1, [])]);
    const layer = JSON.parse(text(runIndexFiles(idx).find((f) => f.path === 'index/layer-1.json')!)) as unknown;
    expect(layer).toEqual({
      version: 2,
      layer: 1,
      neuron: [0, 1, 2],
      globalNeuron: [3, 4, 5],
      stats: { count: [17, 17, 17], mean: [0, 0, 0], variance: [1, 1.1, 1.2], std: [1, Math.sqrt(1.1), Math.sqrt(1.2)], min: [-1, -1, -1], max: [1, 1, 1] },
      topWords: { offsets: [0, 1, 1, 3], token: ['x', 'cat', 'dog'], score: [1, 1, 0.9], count: [2, 2, 2], mean: [0.5, 0.5, 0.5] },
      topSentences: { offsets: [0, 2, 4, 6], sentenceIndex: [2, 0, 2, 0, 2, 0], maxActivation: [-0.9, 0.4, -0.9, 0.4, -0.9, 0.4], tokenIndex: [1, 0, 1, 0, 1, 0] },
      sentences: { 2: 'a b' },
      renders: { 2: { sentences: ['renders/1/2/0.svg', 'renders/1/2/1.svg'], histogram: 'renders/1/2/histogram.svg', topWords: 'renders/1/2/top-words.svg' } },
    });
    expect(neuronsOf(idx.layers[1]!).map((n) => [n.neuron, n.topWords.map((w) => `${w.rank}:${w.token}`)])).toEqual([[0, ['0:x']], [1, []], [2, ['0:cat', '1:dog']]]);
  });

  it('writes non-finite numbers as null, since JSON has no NaN', () => {
    expect(scriptSafeJson({ a: NaN, b: Infinity, c: 1 })).toBe('{"a":null,"b":null,"c":1}');
    const idx = buildRunIndex(run, [{ ...neuron(0, 0, ['x']), stats: { ...stats(NaN), min: -Infinity } }]);
    const layer = JSON.parse(text(runIndexFiles(idx).find((f) => f.path === 'index/layer-0.json')!)) as { stats: Record<string, unknown[]> };
    expect([layer.stats['variance'], layer.stats['std'], layer.stats['min'], layer.stats['max']]).toEqual([[null], [null], [null], [1]]);
    expect(idx.summary.layers[0]!.meanVariance).toBe(0);
  });

  it('refuses neurons out of range or given twice, naming them', () => {
    expect(() => buildRunIndex(run, [neuron(2, 0, [])])).toThrow('layer 2 is not in the run (layers 0, 1)');
    expect(() => buildRunIndex(run, [neuron(0, 3, [])])).toThrow('neuron 3 is out of range [0, 2]');
    expect(() => buildRunIndex(run, [neuron(0, 1, []), neuron(0, 1, [])])).toThrow('neuron 0:1 is given twice');
    expect(() => parseRunSummary({ version: 9 })).toThrow('version 9 is not supported');
  });
});
