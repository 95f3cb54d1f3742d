/**
 * Keys of what pass 1 and pass 2 add for the plots and renders (top
 * sentences, histograms), and of the rendered artefacts and the browsable
 * index. The rendered tree is given as paths relative to the run's prefix
 * (`runs/<runId>/`, pipelines/keys.ts): the HTML index sits at the run's
 * root and refers to everything by these relative paths, so the same tree
 * works from a bucket, any static host or a local folder. Layer and neuron
 * numbers are not padded: an external client builds
 * `runs/<run>/renders/3/127/0.svg` for layer 3, neuron 127, rank 0 without
 * knowing the model's size. README "Storage layout" documents this.
 */
import { blockName, runKeys } from './keys.ts';

/** The run-relative paths of the rendered artefacts. `layer` is the model's layer number. */
export const renderPaths = {
  /** Top sentence `rank` (0 = the sentence with the largest |activation|) of a neuron. */
  sentence: (layer: number, neuron: number, rank: number): string => `renders/${layer}/${neuron}/${rank}.svg`,
  /** The neuron's activation histogram. */
  histogram: (layer: number, neuron: number): string => `renders/${layer}/${neuron}/histogram.svg`,
  /** The neuron's top words as a bar chart of scores. */
  topWords: (layer: number, neuron: number): string => `renders/${layer}/${neuron}/top-words.svg`,
  /** Everything rendered for one neuron. */
  neuronPrefix: (layer: number, neuron: number): string => `renders/${layer}/${neuron}/`,
  /** The distribution of the layer's neuron variances. */
  variance: (layer: number): string => `renders/${layer}/variance.svg`,
  /** Ad-hoc renders of given text (one folder per request, named by its hash). */
  adhoc: (request: string, layer: number, neuron: number, sentence: number): string => `adhoc/${request}/${layer}/${neuron}/${sentence}.svg`,
  adhocPrefix: (request: string): string => `adhoc/${request}/`,
  /** The static HTML index page. */
  html: 'index.html',
  /** The run summary (also embedded in the HTML page). */
  summary: 'index.json',
  /** Per-layer neuron data, as JSON for programs and as a script for the page (file:// blocks fetch). */
  layerJson: (layer: number): string => `index/layer-${layer}.json`,
  layerScript: (layer: number): string => `index/layer-${layer}.js`,
  /** Top word -> neurons, for the page's word search. */
  wordsJson: 'index/words.json',
  wordsScript: 'index/words.js',
} as const;

/** Keys (from the store's root) of a run's top sentences, histograms and renders. */
export interface RenderKeys {
  /** The run's prefix, `runs/<runId>/`: render paths are relative to it. */
  readonly prefix: string;
  readonly topSentences: string;
  readonly histograms: string;
  /** Merged top sentences of one neuron block (pipelines/topSentences.ts encoding), written by pass 1's reduce. */
  topSentencesBlock(block: number): string;
  /** `[2 x n]` float64 (min then max) of one block's neurons, raw little-endian: the histogram bounds pass 2 uses. */
  bounds(block: number): string;
  /** Merged histograms of one block. */
  histogramsBlock(block: number): string;
  /** One block's rows of top_sentences.parquet and histograms.parquet (Parquet files the finish concatenates), written by pass 2. */
  topSentencesPart(block: number): string;
  histogramsPart(block: number): string;
  /** Each neuron's first top words of one block (pipelines/topWordsHead.ts), written by pass 2 for the renders and the index. */
  topWordsHead(block: number): string;
  /** Per-block render records (presence = the block's renders are written), JSON. */
  readonly renderedPrefix: string;
  rendered(block: number): string;
  /** A run-relative render path as a store key. */
  of(path: string): string;
}

export function renderKeys(runId: string): RenderKeys {
  const prefix = runKeys(runId).prefix;
  return {
    prefix,
    topSentences: `${prefix}top_sentences.parquet`,
    histograms: `${prefix}histograms.parquet`,
    topSentencesBlock: (block) => `${prefix}top-sentences/${blockName(block)}.bin`,
    bounds: (block) => `${prefix}bounds/${blockName(block)}.f64`,
    histogramsBlock: (block) => `${prefix}histograms/${blockName(block)}.bin`,
    topSentencesPart: (block) => `${prefix}top-sentences/${blockName(block)}.parquet`,
    histogramsPart: (block) => `${prefix}histograms/${blockName(block)}.parquet`,
    topWordsHead: (block) => `${prefix}top-words-head/${blockName(block)}.bin`,
    renderedPrefix: `${prefix}rendered/`,
    rendered: (block) => `${prefix}rendered/${blockName(block)}.json`,
    of: (path) => `${prefix}${path}`,
  };
}

/** The shard cache entry's top-sentences partial for k (sentence indices local to the shard). */
export function topSentencesCacheKey(cachePrefix: string, k: number): string {
  return `${cachePrefix}top-sentences-k${k}.bin`;
}
