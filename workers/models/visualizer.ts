/**
 * NeuroX's `TransformersVisualizer(model)`: load a model once, then
 * `visualize(tokens, layer, neuron, renderOptions)` gives the SVG of that
 * neuron's activations over the sentence (layer 0 = embedding output).
 *
 * Better than NeuroX's: the activations of recent sentences are kept (a
 * small LRU), so rendering another neuron of the same sentence does not run
 * the model again; the tokenizer cache belongs to this model only; a
 * sentence longer than the model's maximum renders its kept words instead of
 * failing.
 */
import { InputError } from '../../pipelines/errors.ts';
import { globalNeuronOf } from '../../pipelines/matrix.ts';
import type { Aggregation, ExtractedSentence, Extractor } from '../../pipelines/ports.ts';
import { visualizeActivations, type RenderOptions } from '../../pipelines/render/svg.ts';
import { loadExtractor, type LoadExtractorOptions } from './index.ts';

export interface VisualizerOptions {
  /** Sentences whose activations are kept; default 32. */
  readonly cacheSize?: number;
  /** Subword aggregation; default 'last' (NeuroX's). */
  readonly aggregation?: Aggregation;
}

export class TransformersVisualizer {
  private readonly cache = new Map<string, ExtractedSentence>();
  private readonly cacheSize: number;
  private readonly aggregation: Aggregation;
  /** Sentences run through the model so far (cache misses). */
  modelRuns = 0;

  constructor(
    readonly extractor: Extractor,
    options: VisualizerOptions = {},
  ) {
    this.cacheSize = options.cacheSize ?? 32;
    if (!Number.isInteger(this.cacheSize) || this.cacheSize < 1) throw new InputError(`cache size: expected a positive integer, got ${this.cacheSize}`);
    this.aggregation = options.aggregation ?? 'last';
  }

  /** Loads a model spec (folder, hub id or use-lite) once. */
  static async load(spec: string, options: LoadExtractorOptions & VisualizerOptions = {}): Promise<TransformersVisualizer> {
    return new TransformersVisualizer(await loadExtractor(spec, options), options);
  }

  /** Word-level activations of a sentence (all layers), from the cache when it was seen recently. */
  async activations(tokens: readonly string[] | string): Promise<ExtractedSentence> {
    const sentence = typeof tokens === 'string' ? tokens : tokens.join(' ');
    const hit = this.cache.get(sentence);
    if (hit) {
      // most recently used last
      this.cache.delete(sentence);
      this.cache.set(sentence, hit);
      return hit;
    }
    let got: ExtractedSentence | undefined;
    for await (const s of this.extractor.extract([sentence], { aggregation: this.aggregation, includeSpecialTokens: false, ignoreEmbeddings: false, batchSize: 1 })) got = s;
    if (!got) throw new Error(`the extractor gave nothing for '${sentence}'`);
    this.modelRuns++;
    this.cache.set(sentence, got);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    return got;
  }

  /** SVG of `neuron` of `layer` over the sentence's (kept) words. */
  async visualize(tokens: readonly string[] | string, layer: number, neuron: number, renderOptions: RenderOptions = {}): Promise<string> {
    const { nLayers, dModel } = this.extractor.info;
    try {
      globalNeuronOf(layer, neuron, nLayers, dModel);
    } catch (err) {
      throw new InputError(`${(err as Error).message} (the model has ${nLayers} layers of ${dModel} neurons; layer 0 = embedding output)`);
    }
    const s = await this.activations(tokens);
    const values = new Float32Array(s.nTokens);
    for (let t = 0; t < s.nTokens; t++) values[t] = s.data[(layer * s.nTokens + t) * dModel + neuron] as number;
    return visualizeActivations(s.tokens, values, renderOptions);
  }

  async close(): Promise<void> {
    this.cache.clear();
    await this.extractor.close();
  }
}
