/**
 * The run planner: corpus -> shards of S sentences -> neuron blocks ->
 * deterministic run id, job ids and object keys. Pure: the corpus arrives
 * as byte chunks (`CorpusSplitter`), the model as its `ModelInfo`.
 *
 * What makes a shard's cache entry reusable by any later run: its key hashes
 * the shard's sentences (not its position), the model identity and every
 * option that changes the stored bytes. A corpus that grows at the end keeps
 * the cache entries of its earlier shards.
 */
import { concatBytes } from './bytes.ts';
import { InputError } from './errors.ts';
import { runKeys, sha256Hex, shardCacheKeys, shardName, blockName, checkRunId, type ShardCacheKeys } from './keys.ts';
import type { Aggregation, ModelInfo } from './ports.ts';
import { createHash, type Hash } from 'node:crypto';
import { groupCount, groupNeurons, SHARD_VERSION, type ShardDtype } from './shard.ts';
import { DEFAULT_HISTOGRAM_BINS } from './histogram.ts';
import { DEFAULT_RENDER_SELECTION, type RenderSelection } from './renderSelection.ts';
import { DEFAULT_TOP_SENTENCES } from './topSentences.ts';

export const PLAN_VERSION = 1;

/** Options that decide what is extracted (and so the cached bytes). */
export interface ExtractionOptions {
  readonly aggregation: Aggregation;
  readonly includeSpecialTokens: boolean;
  readonly ignoreEmbeddings: boolean;
  /** Model layers requested (embedding output = 0); undefined = all. */
  readonly layers?: readonly number[] | undefined;
  /** Sentences per model run: speed only, not part of any hash. */
  readonly batchSize: number;
  readonly dtype: ShardDtype;
}

/** Options that decide how the work is split and what the outputs keep. */
export interface RunOptions {
  /** Sentences per shard (S). */
  readonly shardSentences: number;
  /** Neurons per pass-2 block, also the shard format's group width. */
  readonly blockNeurons: number;
  /** Top words kept per neuron (0 = all above the threshold). */
  readonly topK: number;
  /** Keep types scoring strictly above this (NeuroX's min_threshold). */
  readonly minThreshold: number;
  /** Top sentences kept per neuron, by max |activation| (pipelines/topSentences.ts). */
  readonly topSentences: number;
  /** Bins per neuron histogram (pipelines/histogram.ts). */
  readonly histogramBins: number;
  /** Neurons whose top sentences and plots are rendered (pipelines/renderSelection.ts). */
  readonly render: RenderSelection;
  /** Writing direction of the corpus, for the renders. */
  readonly textDirection: 'ltr' | 'rtl';
}

export const DEFAULT_RUN_OPTIONS: RunOptions = {
  shardSentences: 256, blockNeurons: 256, topK: 50, minThreshold: 0.1,
  topSentences: DEFAULT_TOP_SENTENCES, histogramBins: DEFAULT_HISTOGRAM_BINS, render: DEFAULT_RENDER_SELECTION, textDirection: 'ltr',
};

/** The run options out of a larger options object (the analysis request's). */
export function pickRunOptions(o: RunOptions): RunOptions {
  const { shardSentences, blockNeurons, topK, minThreshold, topSentences, histogramBins, render, textDirection } = o;
  return { shardSentences, blockNeurons, topK, minThreshold, topSentences, histogramBins, render, textDirection };
}

// ------------------------------------------------------------------ corpus

/** One shard of the corpus: whole lines, located by byte range in the corpus object. */
export interface CorpusShard {
  readonly index: number;
  /** Index of its first sentence in the corpus. */
  readonly firstSentence: number;
  readonly nSentences: number;
  /** Space-separated words (NeuroX's `line.split(' ')`), before any truncation. */
  readonly nWords: number;
  /** Bytes `[byteStart, byteEnd)` of the corpus object, line endings included. */
  readonly byteStart: number;
  readonly byteEnd: number;
  /** SHA-256 of the shard's sentences joined by '\n' (line endings normalised). */
  readonly hash: string;
}

export interface CorpusSummary {
  readonly shards: readonly CorpusShard[];
  readonly nSentences: number;
  readonly nWords: number;
  readonly bytes: number;
  /** SHA-256 of every sentence joined by '\n' (the corpus's identity in run ids). */
  readonly hash: string;
  /** Lines skipped because they are empty once stripped (as `neurox extract` skips them). */
  readonly blankLines: number;
}

// Python's str.strip() as NeuroX's corpus reader applies it (the same rule as `neurox extract`).
const STRIP = /^[\s\u001C-\u001F\u0085]+|[\s\u001C-\u001F\u0085]+$/g;

/** A corpus line as a sentence: stripped like NeuroX's reader; '' means the line is skipped. */
export function stripLine(text: string): string {
  return text.replace(STRIP, '');
}

const NEWLINE = 0x0a;
const SPACE = 0x20;

/**
 * Splits a corpus, fed as byte chunks, into shards of `shardSentences`
 * sentences. Lines end at '\n'; a last line without '\n' counts. Each line is
 * stripped like NeuroX's reader (`stripLine`); lines left empty are skipped
 * and counted, so sentence i is the i-th non-empty line, as in `neurox
 * extract`. Lines must be UTF-8 (the error names the line). Memory: one line
 * plus the shard list.
 */
export class CorpusSplitter {
  private readonly shards: CorpusShard[] = [];
  private blank = 0;
  private lineNo = 0;
  private readonly corpusHash: Hash = createHash('sha256');
  private shardHash: Hash = createHash('sha256');
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  private pending: Uint8Array[] = [];
  private offset = 0; // bytes consumed so far
  private sentence = 0;
  private shardStart = 0;
  private shardFirst = 0;
  private shardWords = 0;
  private words = 0;
  private ended = false;

  constructor(
    readonly shardSentences: number,
    /** Names the corpus in errors. */
    readonly what = 'corpus',
  ) {
    if (!Number.isInteger(shardSentences) || shardSentences < 1) throw new InputError(`shardSentences ${shardSentences} must be a positive integer`);
  }

  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error('CorpusSplitter: push after end');
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE, start); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      const line = this.pending.length === 0 ? piece : concatBytes([...this.pending, piece]);
      this.pending = [];
      this.offset += nl + 1 - start;
      this.line(line);
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.pending.push(chunk.slice(start));
      this.offset += chunk.length - start;
    }
  }

  end(): CorpusSummary {
    if (this.ended) throw new Error('CorpusSplitter: end called twice');
    if (this.pending.length > 0) {
      const line = concatBytes(this.pending);
      this.pending = [];
      this.line(line);
    }
    this.closeShard();
    this.ended = true;
    if (this.sentence === 0) {
      throw new InputError(this.blank === 0 ? `${this.what} is empty: no sentences to analyze` : `${this.what} has no sentences: all ${this.blank} lines are blank`);
    }
    return {
      shards: this.shards,
      nSentences: this.sentence,
      nWords: this.words,
      bytes: this.offset,
      hash: this.corpusHash.digest('hex'),
      blankLines: this.blank,
    };
  }

  private line(raw: Uint8Array): void {
    this.lineNo++;
    let text: string;
    try {
      text = this.utf8.decode(raw);
    } catch {
      throw new InputError(`${this.what} line ${this.lineNo}: not valid UTF-8`);
    }
    const sentence = stripLine(text);
    if (sentence === '') {
      this.blank++;
      return;
    }
    let words = 1;
    for (let i = 0; i < sentence.length; i++) if (sentence.charCodeAt(i) === SPACE) words++;
    this.corpusHash.update(this.sentence > 0 ? '\n' : '');
    this.corpusHash.update(sentence);
    this.shardHash.update(this.sentence > this.shardFirst ? '\n' : '');
    this.shardHash.update(sentence);
    this.shardWords += words;
    this.words += words;
    this.sentence++;
    if (this.sentence - this.shardFirst === this.shardSentences) this.closeShard();
  }

  private closeShard(): void {
    const n = this.sentence - this.shardFirst;
    if (n === 0) return;
    // every byte of the closing line, its '\n' included, is consumed by now
    const byteEnd = this.offset;
    this.shards.push({
      index: this.shards.length,
      firstSentence: this.shardFirst,
      nSentences: n,
      nWords: this.shardWords,
      byteStart: this.shardStart,
      byteEnd,
      hash: this.shardHash.digest('hex'),
    });
    this.shardHash = createHash('sha256');
    this.shardStart = byteEnd;
    this.shardFirst = this.sentence;
    this.shardWords = 0;
  }
}

/** Splits a whole corpus held in memory (tests, small inputs). */
export function splitCorpus(bytes: Uint8Array | string, shardSentences: number, what = 'corpus'): CorpusSummary {
  const s = new CorpusSplitter(shardSentences, what);
  s.push(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
  return s.end();
}

/**
 * The sentences of one shard from its bytes (`[byteStart, byteEnd)` of the
 * corpus), read by the splitter's rules and checked against the planned
 * count and hash: a corpus changed after planning fails the job instead of
 * mixing two corpora.
 */
export function shardSentencesOf(bytes: Uint8Array, shard: Pick<CorpusShard, 'index' | 'nSentences' | 'hash'>, what: string): string[] {
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const sentences: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let nl = bytes.indexOf(NEWLINE, start);
    if (nl < 0) nl = bytes.length;
    let text: string;
    try {
      text = utf8.decode(bytes.subarray(start, nl));
    } catch {
      throw new InputError(`${what}: shard ${shard.index} is not valid UTF-8`);
    }
    const sentence = stripLine(text);
    if (sentence !== '') sentences.push(sentence);
    start = nl + 1;
  }
  const hash = sha256Hex(sentences.join('\n'));
  if (sentences.length !== shard.nSentences || hash !== shard.hash) {
    throw new InputError(
      `${what}: shard ${shard.index} changed since it was planned (${sentences.length} sentences, hash ${hash.slice(0, 12)}; ` +
        `planned ${shard.nSentences}, ${shard.hash.slice(0, 12)})`,
    );
  }
  return sentences;
}

// ------------------------------------------------------------------ the plan

export interface PlannedShard extends CorpusShard {
  readonly cache: ShardCacheKeys;
}

/** Global neurons `[start, end)` of one pass-2 block (= one shard group). */
export interface PlannedBlock {
  readonly index: number;
  readonly start: number;
  readonly end: number;
}

export interface PlanInput {
  /** Given name of the run; default: derived from the inputs (`runIdFor`). */
  readonly runName?: string | undefined;
  /** Where extraction jobs read the corpus (a store URL + key, as a URL). */
  readonly corpusUrl: string;
  readonly corpus: CorpusSummary;
  /** What the user asked for (a path, `use-lite`, ...): part of the run id. */
  readonly modelSpec: string;
  readonly model: ModelInfo;
  /** Model layers kept, in output order (the extractor's resolution of `extract.layers`). */
  readonly layers: readonly number[];
  readonly extract: ExtractionOptions;
  readonly options: RunOptions;
}

export interface Plan {
  readonly version: typeof PLAN_VERSION;
  readonly runId: string;
  readonly corpus: { readonly url: string; readonly hash: string; readonly bytes: number; readonly nSentences: number; readonly nWords: number; readonly blankLines: number };
  readonly model: { readonly spec: string; readonly id: string; readonly hash: string; readonly nLayers: number; readonly dModel: number; readonly maxLength: number };
  readonly layers: readonly number[];
  readonly nNeurons: number;
  readonly extract: ExtractionOptions;
  readonly options: RunOptions;
  /** Hash of everything besides the model and the text that changes cached bytes. */
  readonly cacheOptionsHash: string;
  readonly shards: readonly PlannedShard[];
  readonly blocks: readonly PlannedBlock[];
}

export function checkRunOptions(o: RunOptions): RunOptions {
  const int = (name: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new InputError(`${name} ${v} must be an integer >= ${min}`);
  };
  int('shardSentences', o.shardSentences, 1);
  int('blockNeurons', o.blockNeurons, 1);
  int('topK', o.topK, 0);
  int('topSentences', o.topSentences, 1);
  int('histogramBins', o.histogramBins, 1);
  if (!Number.isFinite(o.minThreshold) || o.minThreshold < 0 || o.minThreshold >= 1) {
    throw new InputError(`minThreshold ${o.minThreshold} must be in [0, 1)`);
  }
  return o;
}

/** Canonical JSON: keys sorted, undefined dropped (hashes must not depend on key order). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The options that change what a run computes (batch size changes only speed). */
function resultOptions(extract: ExtractionOptions, options: RunOptions): unknown {
  const { batchSize: _speedOnly, ...rest } = extract;
  return { extract: rest, options };
}

/**
 * A run's id from what it computes: the corpus text, the model as asked for
 * and the options. Computable by a producer before any worker loads the
 * model (`neurox submit`), so re-submitting the same analysis finds the
 * same run. A given name wins.
 */
export function runIdFor(args: { runName?: string | undefined; corpusHash: string; modelSpec: string; extract: ExtractionOptions; options: RunOptions }): string {
  if (args.runName !== undefined) return checkRunId(args.runName);
  const h = sha256Hex(canonicalJson({ v: PLAN_VERSION, corpus: args.corpusHash, model: args.modelSpec, ...(resultOptions(args.extract, args.options) as object) }));
  return `r-${h.slice(0, 20)}`;
}

export function planRun(input: PlanInput): Plan {
  const options = checkRunOptions(input.options);
  const { model, layers, extract, corpus } = input;
  if (layers.length === 0) throw new InputError('no layers selected');
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l >= model.nLayers) throw new InputError(`layer ${l} is out of range [0, ${model.nLayers - 1}]`);
  }
  const nNeurons = layers.length * model.dModel;
  const modelHash = sha256Hex(model.id).slice(0, 24);
  const cacheOptionsHash = sha256Hex(
    canonicalJson({
      shardFormat: SHARD_VERSION,
      aggregation: extract.aggregation,
      includeSpecialTokens: extract.includeSpecialTokens,
      layers,
      dtype: extract.dtype,
      groupWidth: options.blockNeurons,
    }),
  ).slice(0, 24);
  const shards = corpus.shards.map((s) => ({ ...s, cache: shardCacheKeys(modelHash, cacheOptionsHash, s.hash) }));
  const blocks: PlannedBlock[] = [];
  for (let b = 0; b < groupCount(nNeurons, options.blockNeurons); b++) blocks.push({ index: b, ...groupNeurons(nNeurons, options.blockNeurons, b) });
  const runId = runIdFor({ runName: input.runName, corpusHash: corpus.hash, modelSpec: input.modelSpec, extract, options });
  runKeys(runId); // checks the id
  return {
    version: PLAN_VERSION,
    runId,
    corpus: { url: input.corpusUrl, hash: corpus.hash, bytes: corpus.bytes, nSentences: corpus.nSentences, nWords: corpus.nWords, blankLines: corpus.blankLines },
    model: { spec: input.modelSpec, id: model.id, hash: modelHash, nLayers: model.nLayers, dModel: model.dModel, maxLength: model.maxLength },
    layers: [...layers],
    nNeurons,
    extract,
    options,
    cacheOptionsHash,
    shards,
    blocks,
  };
}

// ------------------------------------------------------------------ stages and job ids

/**
 * The stages of a run, in order. The root `analyze` job plans, then waits on
 * pass 1 (extract x shards -> reduce-moments), then on pass 2 (type-scores x
 * blocks: each streams its block's group of every shard into one reducer and
 * ranks), then on the renders (render x blocks -> render-index), then writes
 * top_words.parquet and histograms.parquet.
 */
export const STAGES = ['analyze', 'extract', 'reduce-moments', 'type-scores', 'render', 'render-index'] as const;
export type Stage = (typeof STAGES)[number];

/** How many jobs each stage of a plan has. */
export function stageTotals(plan: Plan): Record<Stage, number> {
  return {
    analyze: 1,
    extract: plan.shards.length,
    'reduce-moments': 1,
    'type-scores': plan.blocks.length,
    render: plan.blocks.length,
    'render-index': 1,
  };
}

/**
 * Deterministic BullMQ job ids (never integers, never ':'): a retried or
 * re-added job is the same job.
 */
export const jobIds = {
  extract: (runId: string, shard: number): string => `${runId}.extract.${shardName(shard)}`,
  reduceMoments: (runId: string): string => `${runId}.reduce-moments`,
  typeScores: (runId: string, block: number): string => `${runId}.type-scores.${blockName(block)}`,
  render: (runId: string, block: number): string => `${runId}.render.${blockName(block)}`,
  renderIndex: (runId: string): string => `${runId}.render-index`,
};
