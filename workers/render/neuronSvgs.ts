/**
 * Everything rendered for one neuron, as (run-relative path, SVG) pairs: its
 * top sentences on one colour scale (so they compare: the neuron's largest
 * |activation| over the corpus is full colour on either side), its
 * activation histogram and its top words as bars. Pure.
 */
import type { HistogramBin } from '../../pipelines/histogram.ts';
import { histogramSvg, topWordsBarSvg, type TopWordBar } from '../../pipelines/plots/index.ts';
import { renderPaths } from '../../pipelines/renderKeys.ts';
import { visualizeActivations, type RenderOptions } from '../../pipelines/render/svg.ts';

export interface RenderedSentence {
  readonly rank: number;
  readonly sentenceIndex: number;
  readonly tokens: readonly string[];
  /** The neuron's activation at each token, `[tokens.length]`. */
  readonly values: ArrayLike<number>;
}

export interface NeuronRenderInput {
  /** The model's layer number (0 = embedding output). */
  readonly layer: number;
  readonly neuron: number;
  readonly sentences: readonly RenderedSentence[];
  /** The neuron's largest |activation| over the corpus: full colour. 0 or non-finite: per-sentence scale. */
  readonly scale: number;
  /** Bins with finite bounds, or null to skip the histogram. */
  readonly histogram: readonly HistogramBin[] | null;
  readonly topWords: readonly TopWordBar[];
}

export interface RenderFile {
  readonly path: string;
  readonly svg: string;
}

export type SentenceStyle = Pick<RenderOptions, 'textDirection' | 'charLimit' | 'fontSize' | 'darken' | 'colors'>;

/** The scale options shared by every sentence of a neuron (and by ad-hoc renders of it). */
export function neuronScale(scale: number): Pick<RenderOptions, 'vmin' | 'vmax'> {
  return Number.isFinite(scale) && scale > 0 ? { vmin: -scale, vmax: scale } : {};
}

export function sentenceSvg(layer: number, neuron: number, s: { tokens: readonly string[]; values: ArrayLike<number>; sentenceIndex?: number }, scale: number, style: SentenceStyle = {}): string {
  const where = s.sentenceIndex === undefined ? '' : ` · sentence ${s.sentenceIndex}`;
  return visualizeActivations(s.tokens, s.values, { ...style, ...neuronScale(scale), caption: `layer ${layer} · neuron ${neuron}${where}`, legend: true });
}

export function neuronSvgs(n: NeuronRenderInput, style: SentenceStyle = {}): RenderFile[] {
  const files: RenderFile[] = n.sentences.map((s) => ({ path: renderPaths.sentence(n.layer, n.neuron, s.rank), svg: sentenceSvg(n.layer, n.neuron, s, n.scale, style) }));
  if (n.histogram && n.histogram.length > 0) {
    files.push({
      path: renderPaths.histogram(n.layer, n.neuron),
      svg: histogramSvg(
        { binLo: n.histogram.map((b) => b.lo), binHi: n.histogram.map((b) => b.hi), count: n.histogram.map((b) => b.count) },
        { title: `layer ${n.layer} · neuron ${n.neuron}: activations` },
      ),
    });
  }
  if (n.topWords.length > 0) {
    files.push({ path: renderPaths.topWords(n.layer, n.neuron), svg: topWordsBarSvg(n.topWords, { title: `layer ${n.layer} · neuron ${n.neuron}: top words` }) });
  }
  return files;
}
