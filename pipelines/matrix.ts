/**
 * The project's one matrix type and its vocabulary (STYLE.md §6).
 *
 * - `layer`: index of a layer in the activation tensor (0 = embedding output
 *   when embeddings are included).
 * - `neuron`: index of a neuron within one layer, `0 <= neuron < dModel`.
 * - `globalNeuron`: `layer * dModel + neuron`, NeuroX's index into the
 *   concatenated representation.
 * - `nLayers`, `dModel`, `nTokens`: sizes.
 */

/** Row-major `[rows x cols]` float32 matrix: element (r, c) is `data[r * cols + c]`. */
export interface Matrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

/**
 * Word-level activations of one sentence, `[nLayers x nTokens x dModel]`,
 * row-major: element (l, t, n) is `data[(l * nTokens + t) * dModel + n]`.
 * NeuroX's per-sentence matrix `[nTokens x nLayers*dModel]` is the same data
 * with the layer axis moved inside (see `toTokenMajor`).
 */
export interface SentenceActivations {
  readonly tokens: readonly string[];
  readonly data: Float32Array;
  readonly nLayers: number;
  readonly nTokens: number;
  readonly dModel: number;
}

export function matrix(data: Float32Array, rows: number, cols: number): Matrix {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new RangeError(`matrix: bad shape [${rows} x ${cols}]`);
  }
  if (data.length !== rows * cols) {
    throw new RangeError(`matrix: ${data.length} values do not fill shape [${rows} x ${cols}]`);
  }
  return { data, rows, cols };
}

/** `globalNeuron = layer * dModel + neuron`, with range checks that name the bad value. */
export function globalNeuronOf(layer: number, neuron: number, nLayers: number, dModel: number): number {
  if (!Number.isInteger(layer) || layer < 0 || layer >= nLayers) {
    throw new RangeError(`layer ${layer} is out of range [0, ${nLayers - 1}]`);
  }
  if (!Number.isInteger(neuron) || neuron < 0 || neuron >= dModel) {
    throw new RangeError(`neuron ${neuron} is out of range [0, ${dModel - 1}]`);
  }
  return layer * dModel + neuron;
}

/** Inverse of `globalNeuronOf`. */
export function splitGlobalNeuron(globalNeuron: number, nLayers: number, dModel: number): { layer: number; neuron: number } {
  const total = nLayers * dModel;
  if (!Number.isInteger(globalNeuron) || globalNeuron < 0 || globalNeuron >= total) {
    throw new RangeError(`neuron ${globalNeuron} is out of range [0, ${total - 1}]`);
  }
  return { layer: Math.floor(globalNeuron / dModel), neuron: globalNeuron % dModel };
}

/** `[nLayers x nTokens x dModel]` -> NeuroX's `[nTokens x nLayers*dModel]`. */
export function toTokenMajor(s: SentenceActivations): Matrix {
  const { nLayers, nTokens, dModel, data } = s;
  const out = new Float32Array(nTokens * nLayers * dModel);
  const width = nLayers * dModel;
  for (let l = 0; l < nLayers; l++) {
    for (let t = 0; t < nTokens; t++) {
      const src = (l * nTokens + t) * dModel;
      out.set(data.subarray(src, src + dModel), t * width + l * dModel);
    }
  }
  return matrix(out, nTokens, width);
}
