/**
 * What every extractor checks before it runs a model: the options of
 * `Extractor.extract` and the model layers they select. One rule for all
 * models (ONNX, USE lite, the test double) and for the analysis planner, so a
 * run plans exactly the layers its extraction jobs then ask for.
 *
 * Layers: `layers` indexes the model's hidden states with the embedding
 * output as 0 and keeps the caller's order (NeuroX's `filter_layers` does
 * too); `ignoreEmbeddings` drops layer 0, from the default list and as a check
 * on an explicit one. The stages pass the resolved list together with the
 * run's `ignoreEmbeddings`, so the two must be accepted together; listing
 * layer 0 while ignoring embeddings is the contradiction that is refused.
 * (The CLI refuses `--layers` with `--ignore-embeddings` outright, as NeuroX
 * does; that is a rule of its flags, not of this port.)
 */
import { InputError } from './errors.ts';
import type { Aggregation, ExtractOptions } from './ports.ts';

export const AGGREGATIONS: readonly Aggregation[] = ['first', 'last', 'average'];

/** The model layers an extraction keeps, in output order; throws InputError naming the bad layer. */
export function selectLayers(nLayers: number, options: Pick<ExtractOptions, 'layers' | 'ignoreEmbeddings'>): number[] {
  const all = Array.from({ length: nLayers }, (_, l) => l);
  if (options.layers === undefined) return options.ignoreEmbeddings ? all.slice(1) : all;
  if (options.layers.length === 0) throw new InputError('layers: empty list (omit it to keep every layer)');
  const seen = new Set<number>();
  for (const l of options.layers) {
    if (!Number.isInteger(l) || l < 0 || l >= nLayers) throw new InputError(`layer ${l} is out of range [0, ${nLayers - 1}] (0 = embedding output)`);
    if (seen.has(l)) throw new InputError(`layer ${l} is listed twice`);
    if (l === 0 && options.ignoreEmbeddings) throw new InputError('layers lists 0 (the embedding output) but ignoreEmbeddings drops it');
    seen.add(l);
  }
  return [...options.layers];
}

/** Checks the rest of the options every extraction needs; throws InputError naming the bad value. */
export function checkExtractOptions(options: ExtractOptions): void {
  if (!AGGREGATIONS.includes(options.aggregation)) {
    throw new InputError(`aggregation "${String(options.aggregation)}" is not one of ${AGGREGATIONS.join(', ')}`);
  }
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new InputError(`batchSize ${options.batchSize} is not a positive integer`);
  }
}
