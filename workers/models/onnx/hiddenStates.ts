/**
 * Graph surgery: a standard ONNX export of a Hugging Face model outputs only
 * `last_hidden_state`. This finds the embedding output and every
 * transformer block's output in the graph and adds them as graph outputs
 * `hidden_states.0 .. hidden_states.{n-1}` (through Identity nodes), so one
 * run gives what PyTorch's `output_hidden_states=True` gives:
 * `hidden_states.0` = embedding output, `hidden_states.k` = block k-1's
 * output, and `last_hidden_state` = the last one (after a final norm, for
 * GPT-2-style models, exactly as transformers reports it).
 *
 * Blocks are found by the node-name scopes that torch.onnx.export
 * (dynamo=False) writes: `/encoder/layer.3/...` (BERT, RoBERTa, MiniLM),
 * `/transformer/layer.3/...` (DistilBERT), `/h.3/...` (GPT-2),
 * `/layers.3/...`, `/block.3/...`. A block's output is the one tensor made
 * inside the block that the rest of the graph reads and that depends on
 * `input_ids` other than through a `Shape`; the embedding output is the one
 * such tensor that block 0 reads from outside.
 *
 * The edit is appended to the original bytes as a second `graph` field:
 * protobuf merges repeated fields of repeated occurrences of a message field,
 * so the original (possibly gigabyte-sized) bytes are never re-encoded.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  TensorProto_DataLocation,
  ValueInfoProtoSchema,
  type GraphProto,
  type NodeProto,
} from 'onnx-buf';
import { InputError } from '../../../pipelines/errors.ts';

/** Bumped whenever the surgery changes, so cached models are rebuilt. */
export const SURGERY_VERSION = 1;
export const HIDDEN_STATE_PREFIX = 'hidden_states.';
export const LAST_HIDDEN_STATE = 'last_hidden_state';

const BLOCK_SCOPE = /^(.*?\/(?:layer|layers|h|block|blocks)\.)(\d+)\//;
const LOOKED_FOR =
  "node-name scopes of numbered blocks such as '/encoder/layer.N/' (BERT, RoBERTa, MiniLM), '/transformer/layer.N/' (DistilBERT), '/h.N/' (GPT-2), '/layers.N/' or '/block.N/', as torch.onnx.export(dynamo=False) writes them";

export interface HiddenStateTensors {
  /** The block scope found, e.g. `/encoder/layer.`. */
  readonly scope: string;
  /** Tensor names, index = hidden-state layer: [embedding output, block 0 .. n-2 outputs, last_hidden_state]. */
  readonly tensors: readonly string[];
  readonly outputName: string;
}

/** Finds the hidden states of every layer in a parsed graph. Throws an `InputError` saying what was looked for. */
export function findHiddenStates(graph: GraphProto, what = 'model.onnx'): HiddenStateTensors {
  const output = graph.output.find((o) => o.name === LAST_HIDDEN_STATE) ?? graph.output[0];
  if (!output) throw new InputError(`${what}: the graph has no outputs`);
  if (!graph.input.some((i) => i.name === 'input_ids')) {
    throw new InputError(`${what}: no graph input named 'input_ids' (inputs: ${graph.input.map((i) => i.name).join(', ')})`);
  }

  // group nodes by block: stem -> index -> nodes
  const stems = new Map<string, Map<number, NodeProto[]>>();
  for (const node of graph.node) {
    const m = BLOCK_SCOPE.exec(node.name);
    if (!m) continue;
    const stem = m[1] as string;
    const index = Number(m[2]);
    let blocks = stems.get(stem);
    if (!blocks) stems.set(stem, (blocks = new Map()));
    const list = blocks.get(index);
    if (list) list.push(node);
    else blocks.set(index, [node]);
  }
  let scope = '';
  let blocks = new Map<number, NodeProto[]>();
  for (const [stem, b] of stems) {
    if (b.size > blocks.size) [scope, blocks] = [stem, b];
  }
  const n = blocks.size;
  if (n === 0) throw new InputError(`${what}: cannot find the transformer layers: looked for ${LOOKED_FOR}; found none`);
  for (let k = 0; k < n; k++) {
    if (!blocks.has(k)) throw new InputError(`${what}: blocks '${scope}N/' are not numbered 0..${n - 1} (block ${k} is missing)`);
  }

  // tensors that carry token data: downstream of input_ids, not through Shape/Size (graph nodes are topologically sorted)
  const data = new Set<string>(['input_ids']);
  for (const node of graph.node) {
    if (node.opType === 'Shape' || node.opType === 'Size') continue;
    if (node.input.some((t) => data.has(t))) for (const t of node.output) data.add(t);
  }
  const producedIn = (nodes: readonly NodeProto[]): Set<string> => new Set(nodes.flatMap((x) => x.output));
  const blockNodes = (k: number): NodeProto[] => blocks.get(k) as NodeProto[];
  const inBlock = (k: number): Set<NodeProto> => new Set(blockNodes(k));

  const tensors: string[] = [];
  // embedding output: the data tensor block 0 reads from outside
  {
    const own = producedIn(blockNodes(0));
    const reads = new Set(blockNodes(0).flatMap((x) => x.input).filter((t) => !own.has(t) && data.has(t)));
    tensors.push(only(reads, `${what}: the embedding output (data read by '${scope}0/' from outside it)`));
  }
  // block k's output, k < n - 1: the data tensor made in block k that is read outside it
  for (let k = 0; k < n - 1; k++) {
    const own = producedIn(blockNodes(k));
    const members = inBlock(k);
    const leaving = new Set<string>();
    for (const node of graph.node) {
      if (members.has(node)) continue;
      for (const t of node.input) if (own.has(t) && data.has(t)) leaving.add(t);
    }
    tensors.push(only(leaving, `${what}: the output of '${scope}${k}/' (data read outside it)`));
  }
  if (!data.has(output.name)) throw new InputError(`${what}: output '${output.name}' does not depend on input_ids`);
  tensors.push(output.name);
  return { scope, tensors, outputName: output.name };
}

function only(names: ReadonlySet<string>, what: string): string {
  if (names.size !== 1) {
    throw new InputError(`cannot find ${what}: expected one tensor, found ${names.size}${names.size ? ` (${[...names].join(', ')})` : ''}; looked for ${LOOKED_FOR}`);
  }
  return [...names][0] as string;
}

export interface EditedModel {
  /** Bytes to append to the original model (a second `graph` field that protobuf merges into the first). */
  readonly edit: Uint8Array;
  /** Hidden-state layers, embedding output included. */
  readonly nLayers: number;
  /** Whether the weights live in external data files beside the model (then the edited model must sit beside them). */
  readonly externalData: boolean;
}

/** Parses an ONNX model and returns the edit that makes every hidden state an output. */
export function addHiddenStateOutputs(model: Uint8Array, what = 'model.onnx'): EditedModel {
  let graph: GraphProto | undefined;
  try {
    graph = fromBinary(ModelProtoSchema, model).graph;
  } catch (err) {
    throw new InputError(`${what} is not an ONNX model: ${(err as Error).message}`);
  }
  if (!graph) throw new InputError(`${what} is not an ONNX model: it has no graph`);
  const found = findHiddenStates(graph, what);
  const last = graph.output.find((o) => o.name === found.outputName);
  const names = new Set(graph.node.flatMap((x) => x.output));
  const nodes: NodeProto[] = [];
  const outputs = found.tensors.slice(0, -1).map((tensor, k) => {
    const name = `${HIDDEN_STATE_PREFIX}${k}`;
    if (names.has(name)) throw new InputError(`${what} already has a tensor named '${name}'`);
    nodes.push(create(NodeProtoSchema, { name: `/neurox/${name}`, opType: 'Identity', input: [tensor], output: [name] }));
    // same element type and shape as last_hidden_state: [batch, sequence, hidden]
    return create(ValueInfoProtoSchema, { name, type: last?.type });
  });
  const edit = toBinary(ModelProtoSchema, create(ModelProtoSchema, { graph: create(GraphProtoSchema, { node: nodes, output: outputs }) }));
  const externalData = graph.initializer.some((t) => t.dataLocation === TensorProto_DataLocation.EXTERNAL);
  return { edit, nLayers: found.tensors.length, externalData };
}
