import { describe, expect, it } from 'vitest';
import { buildRunIndex, parseRunSummary, runIndexFiles, scriptSafeJson, type IndexFile, type NeuronInput } from '../pipelines/runIndex.ts';

const run = { runId: 'r1', model: 'tiny', nLayers: 2, dModel: 3, createdAt: '2026-01-01T00:00:00Z', sentences: 4, tokens: 17 };
const text = (f: IndexFile): string => new TextDecoder().decode(f.body);
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
    expect(idx.layers.map((l) => l.neurons.map((n) => n.neuron))).toEqual([[1], [0, 2]]);
    const n = idx.layers[1]!.neurons[1]!;
    expect(n.globalNeuron).toBe(5);
    expect(n.topSentences.map((s) => s.svg)).toEqual(['renders/1/2/0.svg', 'renders/1/2/1.svg']);
    expect(n.topSentences[0]).toMatchObject({ rank: 0, sentenceIndex: 2, maxActivation: -0.9, tokenIndex: 1, text: 'a b' });
    expect(n.plots).toEqual({ histogram: 'renders/1/2/histogram.svg', topWords: 'renders/1/2/top-words.svg' });
    const unrendered = idx.layers[0]!.neurons[0]!;
    expect(unrendered.topSentences.map((s) => s.svg)).toEqual([null, null]);
    expect(unrendered.plots).toEqual({ histogram: null, topWords: null });
    expect(idx.summary.layers.map((l) => [l.neurons, l.rendered, l.plots.variance])).toEqual([[1, 0, 'renders/0/variance.svg'], [2, 1, 'renders/1/variance.svg']]);
    expect(idx.summary.layers[1]!.maxVariance).toBeCloseTo(1.2);
  });

  it('names layers by their model number when the run keeps a subset, global neurons by position', () => {
    const idx = buildRunIndex({ ...run, layers: [3, 5] }, [neuron(5, 1, ['x'], true), neuron(3, 0, ['x'])]);
    expect(idx.summary.layers.map((l) => [l.layer, l.script])).toEqual([[3, 'index/layer-3.js'], [5, 'index/layer-5.js']]);
    const n = idx.layers[1]!.neurons[0]!;
    expect([n.layer, n.neuron, n.globalNeuron, n.topSentences[0]!.svg]).toEqual([5, 1, 4, 'renders/5/1/0.svg']);
    expect(idx.words.words['x']).toEqual([[0, 0, 1], [4, 0, 1]]);
    expect(() => buildRunIndex({ ...run, layers: [3, 5] }, [neuron(4, 0, [])])).toThrow('layer 4 is not in the run (layers 3, 5)');
  });

  it('indexes top words to neurons, best score first, keeping at most maxTopWords per neuron', () => {
    const idx = buildRunIndex({ ...run, maxTopWords: 2 }, [neuron(0, 0, ['x', 'cat', 'dog']), neuron(1, 1, ['cat']), neuron(0, 2, ['cat'])]);
    expect(idx.words.words['cat']).toEqual([[2, 0, 1], [4, 0, 1], [0, 1, 0.9]]);
    expect(idx.words.words['dog']).toBeUndefined();
    expect(idx.layers[0]!.neurons[0]!.topWords.map((w) => w.token)).toEqual(['x', 'cat']);
  });

  it('keeps tokens such as __proto__ and constructor as plain words', () => {
    const idx = buildRunIndex(run, [neuron(0, 0, ['__proto__', 'constructor'])]);
    const parsed = JSON.parse(text(runIndexFiles(idx).find((f) => f.path === 'index/words.json')!)) as { words: Record<string, unknown> };
    expect(Object.keys(parsed.words)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(idx.words.words)).toBe(Object.prototype);
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

  it('writes non-finite numbers as null, since JSON has no NaN', () => {
    expect(scriptSafeJson({ a: NaN, b: Infinity, c: 1 })).toBe('{"a":null,"b":null,"c":1}');
  });

  it('refuses neurons out of range or given twice, naming them', () => {
    expect(() => buildRunIndex(run, [neuron(2, 0, [])])).toThrow('layer 2 is not in the run (layers 0, 1)');
    expect(() => buildRunIndex(run, [neuron(0, 3, [])])).toThrow('neuron 3 is out of range [0, 2]');
    expect(() => buildRunIndex(run, [neuron(0, 1, []), neuron(0, 1, [])])).toThrow('neuron 0:1 is given twice');
    expect(() => parseRunSummary({ version: 9 })).toThrow('version 9 is not supported');
  });
});
