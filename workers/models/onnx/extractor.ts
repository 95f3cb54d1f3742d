/**
 * The `Extractor` port over a Hugging Face model in the transformers.js
 * folder layout (config.json, tokenizer.json, tokenizer_config.json,
 * onnx/model.onnx): transformers.js tokenizes, onnxruntime-node runs the
 * model with every hidden state as an output (hiddenStates.ts), and
 * pipelines/align.ts turns pieces into words.
 *
 * Streaming: sentences are read `sortWindow` at a time, sorted by length
 * into batches (less padding), and given back in input order; memory is
 * bounded by the window, never by the corpus.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { aggregateWords, planSentence, tokensOf, type BatchStates, type SentencePlan } from '../../../pipelines/align.ts';
import { InputError, NotFoundError } from '../../../pipelines/errors.ts';
import { checkExtractOptions, selectLayers } from '../../../pipelines/extractOptions.ts';
import type { ExtractedSentence, ExtractOptions, Extractor, ModelInfo } from '../../../pipelines/ports.ts';
import { HiddenStatesSession, type SessionOptions } from './session.ts';
import { hiddenSizeOf, ModelTokenizer, type ModelConfig } from './tokenizer.ts';

export interface OnnxExtractorOptions extends SessionOptions {
  /** Sentences read ahead and sorted by length before batching; default 8 batches. */
  readonly sortWindow?: number;
}

/** Where the time went, for benchmarks: `runMs` is inside onnxruntime's run. */
export interface ExtractorStats {
  sentences: number;
  words: number;
  pieces: number;
  batches: number;
  /** Tokenizing and planning sentences. */
  planMs: number;
  /** Inside onnxruntime's run. */
  runMs: number;
  /** Subword aggregation into words. */
  aggregateMs: number;
  totalMs: number;
}

interface Pending {
  readonly index: number;
  readonly words: readonly string[];
  readonly plan: SentencePlan;
}

async function readJson<T>(path: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(path, `model file not found: ${path}`);
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new InputError(`${path}: not valid JSON (${(err as Error).message})`);
  }
}

export class OnnxExtractor implements Extractor {
  readonly stats: ExtractorStats = { sentences: 0, words: 0, pieces: 0, batches: 0, planMs: 0, runMs: 0, aggregateMs: 0, totalMs: 0 };

  private constructor(
    readonly info: ModelInfo,
    readonly tokenizer: ModelTokenizer,
    private readonly session: HiddenStatesSession,
    private readonly sortWindow: number | undefined,
  ) {}

  /** Loads a model folder in the transformers.js layout. */
  static async load(folder: string, options: OnnxExtractorOptions = {}): Promise<OnnxExtractor> {
    const dir = resolve(folder);
    const config = await readJson<ModelConfig>(join(dir, 'config.json'));
    const tokenizerFiles = [join(dir, 'tokenizer.json'), join(dir, 'tokenizer_config.json')];
    const tokenizerBytes = await Promise.all(tokenizerFiles.map((p) => readJson<unknown>(p).then(() => readFile(p))));
    const { AutoTokenizer } = await import('@huggingface/transformers');
    // an absolute path is never taken for a hub id; local_files_only keeps it offline
    const hf = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
    const tokenizer = new ModelTokenizer(hf, config, dir);
    const { session, sha256 } = await HiddenStatesSession.open(join(dir, 'onnx', 'model.onnx'), options);
    const dModel = hiddenSizeOf(config);
    if (dModel === undefined) throw new InputError(`${join(dir, 'config.json')}: no hidden size (hidden_size, n_embd, dim or d_model)`);
    const id = createHash('sha256').update(sha256);
    for (const bytes of tokenizerBytes) id.update(bytes);
    const info: ModelInfo = { id: `onnx:${basename(dir)}:${id.digest('hex')}`, nLayers: session.nLayers, dModel, maxLength: tokenizer.maxLength };
    return new OnnxExtractor(info, tokenizer, session, options.sortWindow);
  }

  async *extract(sentences: AsyncIterable<string> | Iterable<string>, options: ExtractOptions): AsyncIterable<ExtractedSentence> {
    checkExtractOptions(options);
    const { batchSize, aggregation, includeSpecialTokens } = options;
    const layers = selectLayers(this.info.nLayers, options);
    const window = Math.max(batchSize, this.sortWindow ?? batchSize * 8);
    const t0 = performance.now();
    let pending: Pending[] = [];
    let index = 0;
    for await (const sentence of sentences) {
      if (typeof sentence !== 'string') throw new InputError(`sentence ${index}: expected a string, got ${typeof sentence}`);
      const t = performance.now();
      const words = sentence.split(' ');
      const plan = planSentence(this.tokenizer.wordPieces(words), this.tokenizer.template, this.tokenizer.specialIds, this.info.maxLength);
      this.stats.planMs += performance.now() - t;
      pending.push({ index: index++, words, plan });
      if (pending.length >= window) {
        yield* this.runWindow(pending, batchSize, layers, aggregation, includeSpecialTokens);
        pending = [];
      }
    }
    if (pending.length > 0) yield* this.runWindow(pending, batchSize, layers, aggregation, includeSpecialTokens);
    this.stats.totalMs += performance.now() - t0;
  }

  /** Runs one window in length-sorted batches; yields its sentences in input order as soon as each is ready. */
  private async *runWindow(
    window: readonly Pending[],
    batchSize: number,
    layers: readonly number[],
    aggregation: ExtractOptions['aggregation'],
    includeSpecialTokens: boolean,
  ): AsyncIterable<ExtractedSentence> {
    const order = [...window.keys()].sort((a, b) => (window[a] as Pending).plan.inputIds.length - (window[b] as Pending).plan.inputIds.length);
    const done: Array<ExtractedSentence | undefined> = new Array(window.length);
    let next = 0;
    for (let b = 0; b < order.length; b += batchSize) {
      const rows = order.slice(b, b + batchSize);
      const results = await this.runBatch(rows.map((r) => window[r] as Pending), layers, aggregation, includeSpecialTokens);
      rows.forEach((r, i) => (done[r] = results[i]));
      while (next < done.length && done[next]) {
        yield done[next] as ExtractedSentence;
        done[next++] = undefined; // let it go as soon as the consumer has it
      }
    }
  }

  private async runBatch(batch: readonly Pending[], layers: readonly number[], aggregation: ExtractOptions['aggregation'], includeSpecialTokens: boolean): Promise<ExtractedSentence[]> {
    const dModel = this.info.dModel;
    const seqLen = Math.max(...batch.map((p) => p.plan.inputIds.length));
    let states: BatchStates = { layers: [], seqLen: 0, dModel };
    if (seqLen > 0) {
      // pad with the tokenizer's pad id: RoBERTa derives positions from it
      const inputIds = new BigInt64Array(batch.length * seqLen).fill(BigInt(this.tokenizer.padId));
      const attentionMask = new BigInt64Array(batch.length * seqLen);
      batch.forEach((p, row) => {
        p.plan.inputIds.forEach((id, j) => {
          inputIds[row * seqLen + j] = BigInt(id);
          attentionMask[row * seqLen + j] = 1n;
        });
      });
      const t = performance.now();
      const out = await this.session.run({ inputIds, attentionMask, batch: batch.length, seqLen }, layers);
      this.stats.runMs += performance.now() - t;
      this.stats.batches++;
      if (out.dModel !== dModel) throw new InputError(`model outputs ${out.dModel} values per piece but config.json says ${dModel}`);
      states = { layers: out.layers, seqLen, dModel };
    }
    const t = performance.now();
    const sentences = batch.map((p, row) => {
      const data = seqLen > 0 ? aggregateWords(p.plan, states, row, aggregation, includeSpecialTokens) : new Float32Array(layers.length * p.plan.keptWords * dModel);
      const tokens = tokensOf(p.words, p.plan, includeSpecialTokens, (id) => this.tokenizer.pieceToken(id));
      this.stats.sentences++;
      this.stats.words += p.plan.keptWords;
      this.stats.pieces += p.plan.inputIds.length;
      return {
        index: p.index,
        tokens,
        data,
        nLayers: layers.length,
        nTokens: tokens.length,
        dModel,
        truncatedWords: p.plan.truncatedWords,
        emptyWords: p.plan.emptyWords,
      };
    });
    this.stats.aggregateMs += performance.now() - t;
    return sentences;
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}
