/** SVG plots of the analysis outputs: pure functions returning standalone SVG strings. */
export { histogramSvg, varianceDistributionSvg, type HistogramBins, type HistogramOptions } from './histogram.ts';
export { topWordsBarSvg, type TopWordBar } from './topWords.ts';
