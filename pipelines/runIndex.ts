/**
 * The per-run index: what the HTML page (pipelines/htmlIndex.ts) and clients
 * read to find a neuron's stats, top words, top sentences and the keys of its
 * SVGs without listing the bucket.
 *
 * It is split so that a page never loads the whole model at once (BERT-base
 * has 9,984 neurons): a small summary (run, model, layers, files), one file
 * per layer with that layer's neurons, and one word -> neurons file for the
 * word search. Each comes as JSON (for programs) and as a script that hands
 * the same object to the page (`NEUROX_INDEX.layer(l, {...})`), because
 * browsers block fetch() of local files when the page is opened from disk.
 * All paths are relative to the run's prefix (pipelines/renderKeys.ts).
 *
 * Layer and word files are columnar (version 2): one array per field, in
 * neuron order, with offsets into the ragged top-word and top-sentence
 * lists, and each top sentence's text once per layer. Version 1 wrote one
 * object per neuron, top word and top sentence, repeating a sentence's text
 * for every neuron that ranks it: 2.4 times the bytes, and building and
 * serialising that object graph was most of the render-index stage
 * (BENCHMARKS.md). `neuronsOf` gives a layer's neurons as objects.
 */
import { InputError } from './errors.ts';
import { renderPaths } from './renderKeys.ts';

export const RUN_INDEX_VERSION = 1;
/** Top words per neuron kept in the index (top_words.parquet has them all). */
export const DEFAULT_INDEX_TOP_WORDS = 20;

/** A neuron's moments over the corpus (as in neuron_stats.parquet). */
export interface NeuronStats {
  readonly count: number;
  readonly mean: number;
  readonly variance: number;
  readonly std: number;
  readonly min: number;
  readonly max: number;
}

/** One of a neuron's top words (as in top_words.parquet); `rank` 0 is the best. */
export interface IndexTopWord {
  readonly rank: number;
  readonly token: string;
  readonly score: number;
  readonly count: number;
  readonly mean: number;
}

/** One of a neuron's top sentences; `svg` is null where it was not rendered. */
export interface IndexTopSentence {
  readonly rank: number;
  readonly sentenceIndex: number;
  readonly maxActivation: number;
  readonly tokenIndex: number;
  readonly svg: string | null;
  /** The sentence's text, where known (alt text and a caption for the SVG). */
  readonly text?: string;
}

/** One neuron of a layer file, as `neuronsOf` gives it. */
export interface IndexNeuron {
  readonly layer: number;
  readonly neuron: number;
  readonly globalNeuron: number;
  readonly stats: NeuronStats;
  readonly topWords: readonly IndexTopWord[];
  readonly topSentences: readonly IndexTopSentence[];
  /** Plot paths, null where not rendered. */
  readonly plots: { readonly histogram: string | null; readonly topWords: string | null };
}

/** Version of the layer and word files (the summary keeps RUN_INDEX_VERSION). */
export const LAYER_INDEX_VERSION = 2;

/**
 * One layer's file. Every array of the top level and of `stats` has one
 * entry per neuron, in `neuron` order; neuron i's top words are entries
 * `topWords.offsets[i]` to `topWords.offsets[i + 1]` of the `topWords`
 * arrays, best first (rank = entry - offsets[i]), and the same for
 * `topSentences`. Non-finite numbers are null.
 */
export interface LayerIndex {
  readonly version: number;
  readonly layer: number;
  readonly neuron: readonly number[];
  readonly globalNeuron: readonly number[];
  readonly stats: { readonly [F in keyof NeuronStats]: readonly number[] };
  readonly topWords: {
    readonly offsets: readonly number[];
    readonly token: readonly string[];
    readonly score: readonly number[];
    readonly count: readonly number[];
    readonly mean: readonly number[];
  };
  readonly topSentences: {
    readonly offsets: readonly number[];
    readonly sentenceIndex: readonly number[];
    readonly maxActivation: readonly number[];
    readonly tokenIndex: readonly number[];
  };
  /** Text of each sentence the layer's top sentences name, by sentence index, where known. */
  readonly sentences: Readonly<Record<string, string>>;
  /** SVG paths of the neurons that have any, by neuron number: one per top sentence (or none), and the plots. */
  readonly renders: Readonly<Record<string, NeuronRenders>>;
}

export interface NeuronRenders {
  readonly sentences: readonly string[];
  readonly histogram: string | null;
  readonly topWords: string | null;
}

/**
 * The word index: tokens in code-unit order; token i is a top word of the
 * neurons at entries `offsets[i]` to `offsets[i + 1]` of `globalNeuron`,
 * `rank` and `score`, best score first (globalNeuron = position of the
 * layer in the run x dModel + neuron).
 */
export interface WordIndex {
  readonly version: number;
  readonly token: readonly string[];
  readonly offsets: readonly number[];
  readonly globalNeuron: readonly number[];
  readonly rank: readonly number[];
  readonly score: readonly number[];
}

export interface LayerSummary {
  readonly layer: number;
  readonly neurons: number;
  /** Neurons of the layer that have rendered top-sentence SVGs. */
  readonly rendered: number;
  /** Mean of the layer's neuron variances, and the largest one. */
  readonly meanVariance: number;
  readonly maxVariance: number;
  readonly plots: { readonly variance: string | null };
  readonly json: string;
  readonly script: string;
}

export interface RunSummary {
  readonly version: number;
  readonly runId: string;
  readonly model: string;
  readonly nLayers: number;
  readonly dModel: number;
  readonly createdAt: string;
  readonly sentences: number;
  readonly tokens: number;
  readonly layers: readonly LayerSummary[];
  /** Run-relative paths of the run's other outputs (Parquet files), by name. */
  readonly files: Readonly<Record<string, string>>;
  readonly words: { readonly json: string; readonly script: string };
}

/**
 * Everything the index needs about one neuron; build it from the Parquet
 * rows. The index copies what it keeps as it goes, so callers can hand
 * over the rows they read as they are, and neurons made one at a time (a
 * generator) die young (the render-index stage does this for 10k neurons).
 */
export interface NeuronInput {
  readonly layer: number;
  readonly neuron: number;
  readonly stats: NeuronStats;
  /** Best first; at most `maxTopWords` are kept; a missing count or mean is listed as 0. */
  readonly topWords: readonly { readonly token: string; readonly score: number; readonly count?: number; readonly mean?: number }[];
  /** Best first; a sentence without `text` takes it from the run's `sentenceTexts`, if there. */
  readonly topSentences: readonly { readonly sentenceIndex: number; readonly maxActivation: number; readonly tokenIndex: number; readonly text?: string }[];
  /** Whether the top-sentence SVGs were rendered (their paths are then listed). */
  readonly rendered: boolean;
  /** Which plots exist (default: both where `rendered`, the top-word plot only with top words). */
  readonly plots?: { readonly histogram: boolean; readonly topWords: boolean };
}

export interface RunIndexInput {
  readonly runId: string;
  readonly model: string;
  /** Layers in the run; `layers` gives their model numbers (default 0 .. nLayers-1). */
  readonly nLayers: number;
  readonly layers?: readonly number[];
  readonly dModel: number;
  readonly createdAt: string;
  readonly sentences: number;
  readonly tokens: number;
  readonly files?: Readonly<Record<string, string>>;
  /** Layers whose variance plot exists (default: all). */
  readonly variancePlots?: readonly number[];
  readonly maxTopWords?: number;
  /** Text of sentences by index, for top sentences given without their own. */
  readonly sentenceTexts?: ReadonlyMap<number, string>;
}

export interface RunIndex {
  readonly summary: RunSummary;
  readonly layers: readonly LayerIndex[];
  readonly words: WordIndex;
}

/** One file of the index, at a run-relative path, as the bytes to store (UTF-8). */
export interface IndexFile {
  readonly path: string;
  readonly body: Uint8Array;
  readonly contentType: string;
}

/**
 * Builds the index from every neuron of the run (any order; each
 * (layer, neuron) at most once). Neurons not given are absent from the index.
 */
export function buildRunIndex(run: RunIndexInput, neurons: Iterable<NeuronInput>): RunIndex {
  const { nLayers, dModel } = run;
  if (!Number.isInteger(nLayers) || nLayers < 1 || !Number.isInteger(dModel) || dModel < 1) {
    throw new InputError(`run index: bad shape ${nLayers} layers x ${dModel} neurons`);
  }
  const numbers = run.layers ?? Array.from({ length: nLayers }, (_, i) => i);
  if (numbers.length !== nLayers) throw new InputError(`run index: ${numbers.length} layer numbers for ${nLayers} layers`);
  const position = new Map(numbers.map((l, i) => [l, i]));
  const maxWords = run.maxTopWords ?? DEFAULT_INDEX_TOP_WORDS;
  const perLayer = numbers.map((layer) => new LayerColumns(layer));
  const seen = new Uint8Array(nLayers * dModel);
  const words = new WordEntries();
  for (const n of neurons) {
    const at = position.get(n.layer);
    if (at === undefined) throw new InputError(`run index: layer ${n.layer} is not in the run (layers ${numbers.join(', ')})`);
    if (!Number.isInteger(n.neuron) || n.neuron < 0 || n.neuron >= dModel) throw new InputError(`run index: neuron ${n.neuron} is out of range [0, ${dModel - 1}]`);
    const g = at * dModel + n.neuron;
    if (seen[g]) throw new InputError(`run index: neuron ${n.layer}:${n.neuron} is given twice`);
    seen[g] = 1;
    perLayer[at]!.add(n, g, maxWords, run.sentenceTexts);
    for (let rank = 0; rank < Math.min(n.topWords.length, maxWords); rank++) words.add(n.topWords[rank]!.token, g, rank, n.topWords[rank]!.score);
  }
  const variancePlots = new Set(run.variancePlots ?? numbers);
  const layers = perLayer.map((c) => c.finish());
  const summary: RunSummary = {
    version: RUN_INDEX_VERSION,
    runId: run.runId,
    model: run.model,
    nLayers,
    dModel,
    createdAt: run.createdAt,
    sentences: run.sentences,
    tokens: run.tokens,
    layers: layers.map((l) => {
      const variances = l.stats.variance.filter((v) => Number.isFinite(v));
      return {
        layer: l.layer,
        neurons: l.neuron.length,
        rendered: Object.values(l.renders).filter((r) => r.sentences.length > 0).length,
        meanVariance: variances.length > 0 ? variances.reduce((s, v) => s + v, 0) / variances.length : 0,
        maxVariance: variances.length > 0 ? Math.max(...variances) : 0,
        plots: { variance: variancePlots.has(l.layer) && l.neuron.length > 0 ? renderPaths.variance(l.layer) : null },
        json: renderPaths.layerJson(l.layer),
        script: renderPaths.layerScript(l.layer),
      };
    }),
    files: run.files ?? {},
    words: { json: renderPaths.wordsJson, script: renderPaths.wordsScript },
  };
  return { summary, layers, words: words.index() };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer E)[] ? E[] : T[K] };

/** One layer's columns, filled neuron by neuron in any order and sorted by neuron at the end. */
class LayerColumns {
  private readonly neuron: number[] = [];
  private readonly globalNeuron: number[] = [];
  private readonly stats: Mutable<LayerIndex['stats']> = { count: [], mean: [], variance: [], std: [], min: [], max: [] };
  private readonly topWords: Mutable<LayerIndex['topWords']> = { offsets: [0], token: [], score: [], count: [], mean: [] };
  private readonly topSentences: Mutable<LayerIndex['topSentences']> = { offsets: [0], sentenceIndex: [], maxActivation: [], tokenIndex: [] };
  private readonly texts = new Map<number, string>();
  private readonly renders = new Map<number, NeuronRenders>();
  private sorted = true;

  constructor(private readonly layer: number) {}

  add(n: NeuronInput, g: number, maxWords: number, sentenceTexts: ReadonlyMap<number, string> | undefined): void {
    const { neuron, stats, topWords: words, topSentences: sentences } = n;
    if (this.neuron.length > 0 && neuron < this.neuron[this.neuron.length - 1]!) this.sorted = false;
    this.neuron.push(neuron);
    this.globalNeuron.push(g);
    const st = this.stats;
    st.count.push(stats.count);
    st.mean.push(stats.mean);
    st.variance.push(stats.variance);
    st.std.push(stats.std);
    st.min.push(stats.min);
    st.max.push(stats.max);
    const tw = this.topWords;
    for (let rank = 0; rank < Math.min(words.length, maxWords); rank++) {
      const w = words[rank]!;
      tw.token.push(w.token);
      tw.score.push(w.score);
      tw.count.push(w.count ?? 0);
      tw.mean.push(w.mean ?? 0);
    }
    tw.offsets.push(tw.token.length);
    const ts = this.topSentences;
    for (const s of sentences) {
      ts.sentenceIndex.push(s.sentenceIndex);
      ts.maxActivation.push(s.maxActivation);
      ts.tokenIndex.push(s.tokenIndex);
      const text = s.text ?? sentenceTexts?.get(s.sentenceIndex);
      if (text !== undefined) this.texts.set(s.sentenceIndex, text);
    }
    ts.offsets.push(ts.sentenceIndex.length);
    const plots = n.plots ?? { histogram: n.rendered, topWords: n.rendered && words.length > 0 };
    if (plots.histogram || plots.topWords || (n.rendered && sentences.length > 0)) {
      this.renders.set(neuron, {
        sentences: n.rendered ? sentences.map((_, rank) => renderPaths.sentence(this.layer, neuron, rank)) : [],
        histogram: plots.histogram ? renderPaths.histogram(this.layer, neuron) : null,
        topWords: plots.topWords ? renderPaths.topWords(this.layer, neuron) : null,
      });
    }
  }

  finish(): LayerIndex {
    const texts = [...this.texts.keys()].sort((a, b) => a - b);
    const renders = [...this.renders.keys()].sort((a, b) => a - b);
    const layer: LayerIndex = {
      version: LAYER_INDEX_VERSION,
      layer: this.layer,
      neuron: this.neuron,
      globalNeuron: this.globalNeuron,
      stats: this.stats,
      topWords: this.topWords,
      topSentences: this.topSentences,
      // fromEntries defines own properties, in ascending sentence and neuron order
      sentences: Object.fromEntries(texts.map((i) => [String(i), this.texts.get(i)!])),
      renders: Object.fromEntries(renders.map((i) => [String(i), this.renders.get(i)!])),
    };
    return this.sorted ? layer : byNeuron(layer);
  }
}

/** The layer with its neurons (and their ragged lists) in neuron order. */
function byNeuron(l: LayerIndex): LayerIndex {
  const order = l.neuron.map((_, i) => i).sort((a, b) => l.neuron[a]! - l.neuron[b]!);
  const pick = <T>(col: readonly T[]): T[] => order.map((i) => col[i]!);
  const ragged = <C extends { readonly offsets: readonly number[] }>(c: C): C => {
    const offsets = [0];
    const rows: number[] = [];
    for (const i of order) {
      for (let r = c.offsets[i]!; r < c.offsets[i + 1]!; r++) rows.push(r);
      offsets.push(rows.length);
    }
    const out: Record<string, unknown> = { offsets };
    for (const [k, v] of Object.entries(c)) if (k !== 'offsets') out[k] = rows.map((r) => (v as unknown[])[r]);
    return out as C;
  };
  const stats = Object.fromEntries(Object.entries(l.stats).map(([k, v]) => [k, pick(v)])) as unknown as LayerIndex['stats'];
  return { ...l, neuron: pick(l.neuron), globalNeuron: pick(l.globalNeuron), stats, topWords: ragged(l.topWords), topSentences: ragged(l.topSentences) };
}

/** A layer file's neurons as objects, in its order (the shape version 1 stored). */
export function neuronsOf(l: LayerIndex): IndexNeuron[] {
  return l.neuron.map((neuron, i) => {
    const r = l.renders[String(neuron)];
    const tw = l.topWords;
    const ts = l.topSentences;
    const topWords: IndexTopWord[] = [];
    for (let k = tw.offsets[i]!; k < tw.offsets[i + 1]!; k++) {
      topWords.push({ rank: k - tw.offsets[i]!, token: tw.token[k]!, score: tw.score[k]!, count: tw.count[k]!, mean: tw.mean[k]! });
    }
    const topSentences: IndexTopSentence[] = [];
    for (let k = ts.offsets[i]!; k < ts.offsets[i + 1]!; k++) {
      const rank = k - ts.offsets[i]!;
      const text = l.sentences[String(ts.sentenceIndex[k])];
      const s = { rank, sentenceIndex: ts.sentenceIndex[k]!, maxActivation: ts.maxActivation[k]!, tokenIndex: ts.tokenIndex[k]!, svg: r?.sentences[rank] ?? null };
      topSentences.push(text === undefined ? s : { ...s, text });
    }
    const stats = { count: l.stats.count[i]!, mean: l.stats.mean[i]!, variance: l.stats.variance[i]!, std: l.stats.std[i]!, min: l.stats.min[i]!, max: l.stats.max[i]! };
    return { layer: l.layer, neuron, globalNeuron: l.globalNeuron[i]!, stats, topWords, topSentences, plots: { histogram: r?.histogram ?? null, topWords: r?.topWords ?? null } };
  });
}

/**
 * The word index's entries, one per kept top word, as flat columns until
 * the end. Growing one small array of tuples per token while the neurons
 * stream in took about half of buildRunIndex (2,688 neurons x 20 words);
 * a counting sort groups the entries instead, each token's in the order
 * given, then sorted best score first (ties: lower global neuron first).
 */
class WordEntries {
  private readonly ids = new Map<string, number>();
  private readonly tokens: string[] = [];
  private readonly token: number[] = [];
  private readonly neuron: number[] = [];
  private readonly rank: number[] = [];
  private readonly score: number[] = [];

  add(token: string, globalNeuron: number, rank: number, score: number): void {
    let id = this.ids.get(token);
    if (id === undefined) {
      id = this.tokens.length;
      this.ids.set(token, id);
      this.tokens.push(token);
    }
    this.token.push(id);
    this.neuron.push(globalNeuron);
    this.rank.push(rank);
    this.score.push(score);
  }

  index(): WordIndex {
    const { tokens, neuron, rank, score } = this;
    const order = tokens.map((_, id) => id).sort((a, b) => (tokens[a]! < tokens[b]! ? -1 : tokens[a]! > tokens[b]! ? 1 : 0));
    const count = new Int32Array(tokens.length);
    for (const id of this.token) count[id]!++;
    const start = new Int32Array(tokens.length);
    const offsets = [0];
    let at = 0;
    for (const id of order) {
      start[id] = at;
      at += count[id]!;
      offsets.push(at);
    }
    const entries = new Int32Array(this.token.length);
    const next = start.slice();
    for (let i = 0; i < this.token.length; i++) entries[next[this.token[i]!]!++] = i;
    for (const id of order) entries.subarray(start[id]!, start[id]! + count[id]!).sort((a, b) => score[b]! - score[a]! || neuron[a]! - neuron[b]!);
    const pick = (col: readonly number[]): number[] => Array.from(entries, (i) => col[i]!);
    return { version: LAYER_INDEX_VERSION, token: order.map((id) => tokens[id]!), offsets, globalNeuron: pick(neuron), rank: pick(rank), score: pick(score) };
  }
}

/**
 * JSON that is also safe inside an HTML `<script>` element and as a script
 * body: `<` is escaped so `</script>` in a token cannot end the element;
 * NaN/Infinity (not JSON) become null.
 */
export function scriptSafeJson(value: unknown): string {
  // JSON.stringify already writes NaN and +-Infinity as null; a replacer
  // function (one call per value) only slowed the render index down.
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const encoder = new TextEncoder();

/**
 * The index's files (JSON and page scripts), at run-relative paths; the HTML
 * page comes from htmlIndex.ts. Each JSON is encoded once and the script
 * around it is its bytes between a prefix and a suffix: encoding the script
 * as a string again (flattening a MB-sized concatenation first) cost about
 * three times encoding the JSON.
 */
export function runIndexFiles(index: RunIndex): IndexFile[] {
  const json = 'application/json';
  const js = 'text/javascript; charset=utf-8';
  const files: IndexFile[] = [{ path: renderPaths.summary, body: encoder.encode(scriptSafeJson(index.summary)), contentType: json }];
  const pair = (jsonPath: string, scriptPath: string, value: unknown, call: string): void => {
    const body = encoder.encode(scriptSafeJson(value));
    files.push({ path: jsonPath, body, contentType: json });
    files.push({ path: scriptPath, body: wrapped(`NEUROX_INDEX.${call}`, body, ');\n'), contentType: js });
  };
  for (const l of index.layers) pair(renderPaths.layerJson(l.layer), renderPaths.layerScript(l.layer), l, `layer(${l.layer}, `);
  pair(renderPaths.wordsJson, renderPaths.wordsScript, index.words, 'words(');
  return files;
}

/** `prefix` + `body` + `suffix` as UTF-8 bytes, copying `body` as it is. */
function wrapped(prefix: string, body: Uint8Array, suffix: string): Uint8Array {
  const p = encoder.encode(prefix);
  const s = encoder.encode(suffix);
  const out = new Uint8Array(p.length + body.length + s.length);
  out.set(p, 0);
  out.set(body, p.length);
  out.set(s, p.length + body.length);
  return out;
}

/** Checks a parsed summary enough for a client to use it (fetch/url commands). */
export function parseRunSummary(value: unknown, what = 'index.json'): RunSummary {
  const v = value as Partial<RunSummary> | null;
  if (typeof v !== 'object' || v === null) throw new InputError(`${what}: not an object`);
  if (v.version !== RUN_INDEX_VERSION) throw new InputError(`${what}: version ${String(v.version)} is not supported (expected ${RUN_INDEX_VERSION})`);
  for (const f of ['runId', 'model', 'createdAt'] as const) if (typeof v[f] !== 'string') throw new InputError(`${what}: ${f} is not a string`);
  for (const f of ['nLayers', 'dModel', 'sentences', 'tokens'] as const) if (typeof v[f] !== 'number') throw new InputError(`${what}: ${f} is not a number`);
  if (!Array.isArray(v.layers)) throw new InputError(`${what}: layers is not an array`);
  return v as RunSummary;
}
