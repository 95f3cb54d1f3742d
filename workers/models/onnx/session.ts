/**
 * ONNX Runtime (onnxruntime-node) session over a model whose hidden states
 * are all graph outputs. The edited model is made once per model file and
 * cached under the SHA-256 of that file (never modifying the user's file):
 * in the cache folder, or beside the model when its weights live in external
 * data files (ONNX resolves those relative to the model file).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, appendFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { InputError, NotFoundError } from '../../../pipelines/errors.ts';
import { decodeHalf } from '../../../pipelines/float16.ts';
import { addHiddenStateOutputs, HIDDEN_STATE_PREFIX, LAST_HIDDEN_STATE, SURGERY_VERSION } from './hiddenStates.ts';

export interface SessionOptions {
  /** Threads inside one operator (ONNX Runtime's intraOpNumThreads); default: ONNX Runtime's choice (one per core). */
  readonly threads?: number;
  /** Execution provider, e.g. 'cpu' (default) or 'cuda' where the install has it. */
  readonly executionProvider?: string;
  /** Where edited models are cached; default `$NEUROX_CACHE_DIR/onnx` or `~/.cache/neurox/onnx`. */
  readonly cacheDir?: string;
}

export function defaultCacheDir(): string {
  return join(process.env.NEUROX_CACHE_DIR ?? join(homedir(), '.cache', 'neurox'), 'onnx');
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export interface PreparedModel {
  /** Path of the edited model (all hidden states as outputs). */
  readonly path: string;
  /** SHA-256 of the original model file. */
  readonly sha256: string;
}

/** The edited model for `modelPath`, from the cache or made now. */
export async function prepareModel(modelPath: string, cacheDir = defaultCacheDir()): Promise<PreparedModel> {
  if (!(await exists(modelPath))) throw new NotFoundError(modelPath, `model file not found: ${modelPath}`);
  const sha256 = await sha256File(modelPath);
  const name = `${sha256}.hidden-states-v${SURGERY_VERSION}.onnx`;
  const cached = join(cacheDir, name);
  const beside = join(dirname(modelPath), `.${basename(modelPath, '.onnx')}.${name}`);
  for (const path of [cached, beside]) if (await exists(path)) return { path, sha256 };

  const original = await readFile(modelPath);
  const edited = addHiddenStateOutputs(original, modelPath);
  const path = edited.externalData ? beside : cached;
  await mkdir(dirname(path), { recursive: true });
  // write then rename: a concurrent worker never reads a half-written model
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, original);
    await appendFile(tmp, edited.edit);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  return { path, sha256 };
}

/** `[batch x seqLen]` int64 inputs. */
export interface BatchInputs {
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  readonly batch: number;
  readonly seqLen: number;
}

/** Hidden states of one run: one `[batch x seqLen x dModel]` buffer per requested layer. */
export interface BatchOutputs {
  readonly layers: Float32Array[];
  readonly dModel: number;
}

export class HiddenStatesSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** Output names by hidden-state layer (embedding output = 0). */
    readonly layerOutputs: readonly string[],
    private readonly tokenTypes: boolean,
  ) {}

  static async open(modelPath: string, options: SessionOptions = {}): Promise<{ session: HiddenStatesSession; sha256: string }> {
    const prepared = await prepareModel(modelPath, options.cacheDir);
    const threads = options.threads;
    if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) throw new InputError(`threads: expected a positive integer, got ${threads}`);
    const session = await ort.InferenceSession.create(prepared.path, {
      executionProviders: [options.executionProvider ?? 'cpu'],
      graphOptimizationLevel: 'all',
      ...(threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
      // spinning threads halve throughput when another process holds a core (DESIGN.md)
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
    const hidden = session.outputNames
      .filter((n) => n.startsWith(HIDDEN_STATE_PREFIX))
      .sort((a, b) => Number(a.slice(HIDDEN_STATE_PREFIX.length)) - Number(b.slice(HIDDEN_STATE_PREFIX.length)));
    const last = session.outputNames.includes(LAST_HIDDEN_STATE) ? LAST_HIDDEN_STATE : session.outputNames.find((n) => !n.startsWith(HIDDEN_STATE_PREFIX));
    if (!last) throw new InputError(`${modelPath}: no last hidden state output`);
    if (!session.inputNames.includes('input_ids')) throw new InputError(`${modelPath}: no input named 'input_ids' (inputs: ${session.inputNames.join(', ')})`);
    return { session: new HiddenStatesSession(session, [...hidden, last], session.inputNames.includes('token_type_ids')), sha256: prepared.sha256 };
  }

  get nLayers(): number {
    return this.layerOutputs.length;
  }

  /** Runs a batch and returns the hidden states of `layers` (hidden-state indices), in that order. */
  async run(inputs: BatchInputs, layers: readonly number[]): Promise<BatchOutputs> {
    const dims = [inputs.batch, inputs.seqLen];
    const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', inputs.inputIds, dims) };
    if (this.session.inputNames.includes('attention_mask')) feeds.attention_mask = new ort.Tensor('int64', inputs.attentionMask, dims);
    if (this.tokenTypes) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(inputs.inputIds.length), dims);
    const names = layers.map((l) => this.layerOutputs[l] as string);
    const results = await this.session.run(feeds, [...new Set(names)]);
    let dModel = 0;
    const out = names.map((name) => {
      const t = results[name] as ort.Tensor;
      dModel = t.dims[2] ?? 0;
      if (t.type === 'float32') return t.data as Float32Array;
      if (t.type === 'float16') {
        const f = new Float32Array(t.size);
        decodeHalf(t.data as Uint16Array, f);
        return f;
      }
      throw new InputError(`output '${name}' is ${t.type}; expected float32 or float16`);
    });
    return { layers: out, dModel };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
