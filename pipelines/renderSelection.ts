/**
 * Which neurons of a run get their top sentences and plots rendered: all of
 * them, none, the N with the highest variance, or a list of `layer:neuron`.
 * Pure and deterministic, so the run's root (which plans the render jobs)
 * and the index job (which lists what was rendered) agree without passing
 * the list around.
 */
import { InputError } from './errors.ts';

export type RenderSelection =
  | 'all'
  | 'none'
  | { readonly topVariance: number }
  /** `layer:neuron` with the model's layer numbering (0 = embedding output). */
  | { readonly neurons: readonly string[] };

export const DEFAULT_RENDER_SELECTION: RenderSelection = { topVariance: 64 };

/** `"3:127"` -> `{ layer: 3, neuron: 127 }`; InputError naming the text otherwise. */
export function parseNeuronRef(text: string): { layer: number; neuron: number } {
  const m = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(text);
  if (!m) throw new InputError(`neuron '${text}' is not LAYER:NEURON (e.g. 3:127)`);
  return { layer: Number(m[1]), neuron: Number(m[2]) };
}

/**
 * Global neuron index of `layer:neuron` in a run that keeps model `layers`
 * (in order) of `dModel` neurons each; InputError naming what is out of range.
 */
export function globalNeuronIn(layers: readonly number[], dModel: number, layer: number, neuron: number): number {
  const i = layers.indexOf(layer);
  if (i < 0) throw new InputError(`layer ${layer} is not in this run (layers ${formatLayers(layers)})`);
  if (!Number.isInteger(neuron) || neuron < 0 || neuron >= dModel) throw new InputError(`neuron ${neuron} is out of range [0, ${dModel - 1}]`);
  return i * dModel + neuron;
}

function formatLayers(layers: readonly number[]): string {
  const contiguous = layers.every((l, i) => i === 0 || l === layers[i - 1]! + 1);
  return contiguous && layers.length > 1 ? `${layers[0]}-${layers.at(-1)}` : layers.join(', ');
}

/**
 * The selected global neurons, ascending. `variance[g]` is neuron g's
 * variance (NaN sorts last); top-variance ties go to the lower index.
 */
export function selectNeurons(sel: RenderSelection, variance: ArrayLike<number>, layers: readonly number[], dModel: number): Int32Array {
  const n = variance.length;
  if (n !== layers.length * dModel) throw new InputError(`render selection: ${n} variances for ${layers.length} layers x ${dModel} neurons`);
  if (sel === 'all') return Int32Array.from({ length: n }, (_, g) => g);
  if (sel === 'none') return new Int32Array(0);
  if ('topVariance' in sel) {
    const count = sel.topVariance;
    if (!Number.isInteger(count) || count < 0) throw new InputError(`render selection: topVariance ${count} is not a non-negative integer`);
    const order = Array.from({ length: n }, (_, g) => g);
    const v = (g: number): number => (Number.isNaN(variance[g]!) ? -Infinity : variance[g]!);
    order.sort((a, b) => v(b) - v(a) || a - b);
    return Int32Array.from(order.slice(0, count)).sort();
  }
  const out = new Set<number>();
  for (const ref of sel.neurons) {
    const { layer, neuron } = parseNeuronRef(ref);
    out.add(globalNeuronIn(layers, dModel, layer, neuron));
  }
  return Int32Array.from(out).sort();
}
