/**
 * Where a run's renders, plots and browsable index live, as paths relative to
 * the run's prefix (`runs/<runId>/`, pipelines/keys.ts). The HTML index sits
 * at the run's root and refers to everything by these relative paths, so the
 * same tree works from a bucket, a presigned-free static host or a local
 * folder. Layer and neuron numbers are not padded: an external client builds
 * `runs/<run>/renders/3/127/0.svg` for layer 3, neuron 127, rank 0 without
 * knowing the model's size. README "Storage layout" documents this.
 */

/** The run-relative paths of the rendered artefacts. */
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
