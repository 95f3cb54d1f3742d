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

export interface LayerIndex {
  readonly version: number;
  readonly layer: number;
  /** Ordered by neuron. */
  readonly neurons: readonly IndexNeuron[];
}

/** Word -> the neurons where it is a top word: `[globalNeuron, rank, score]`, best score first (globalNeuron = position of the layer in the run x dModel + neuron). */
export interface WordIndex {
  readonly version: number;
  readonly words: Readonly<Record<string, ReadonlyArray<readonly [number, number, number]>>>;
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
 * rows. The index copies what it keeps, so callers can hand over the rows
 * they read as they are (the render-index stage does, for 10k neurons).
 */
export interface NeuronInput {
  readonly layer: number;
  readonly neuron: number;
  /** Listed as given (same object, same key order). */
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
  const perLayer: IndexNeuron[][] = Array.from({ length: nLayers }, () => []);
  const seen = new Set<number>();
  const words = new WordEntries();
  for (const n of neurons) {
    const at = position.get(n.layer);
    if (at === undefined) throw new InputError(`run index: layer ${n.layer} is not in the run (layers ${numbers.join(', ')})`);
    if (!Number.isInteger(n.neuron) || n.neuron < 0 || n.neuron >= dModel) throw new InputError(`run index: neuron ${n.neuron} is out of range [0, ${dModel - 1}]`);
    const g = at * dModel + n.neuron;
    if (seen.has(g)) throw new InputError(`run index: neuron ${n.layer}:${n.neuron} is given twice`);
    seen.add(g);
    const plots = n.plots ?? { histogram: n.rendered, topWords: n.rendered && n.topWords.length > 0 };
    // Plain loops and one object literal per entry: this runs for every top
    // word and sentence of the model, and each object is serialised as built
    // (the key order is the files' format).
    const topWords: IndexTopWord[] = [];
    for (let rank = 0; rank < Math.min(n.topWords.length, maxWords); rank++) {
      const w = n.topWords[rank]!;
      topWords.push({ rank, token: w.token, score: w.score, count: w.count ?? 0, mean: w.mean ?? 0 });
      words.add(w.token, g, rank, w.score);
    }
    const topSentences: IndexTopSentence[] = [];
    for (let rank = 0; rank < n.topSentences.length; rank++) {
      const s = n.topSentences[rank]!;
      const svg = n.rendered ? renderPaths.sentence(n.layer, n.neuron, rank) : null;
      const text = s.text ?? run.sentenceTexts?.get(s.sentenceIndex);
      topSentences.push(text === undefined
        ? { rank, sentenceIndex: s.sentenceIndex, maxActivation: s.maxActivation, tokenIndex: s.tokenIndex, svg }
        : { rank, sentenceIndex: s.sentenceIndex, maxActivation: s.maxActivation, tokenIndex: s.tokenIndex, svg, text });
    }
    perLayer[at]!.push({
      layer: n.layer,
      neuron: n.neuron,
      globalNeuron: g,
      stats: n.stats,
      topWords,
      topSentences,
      plots: {
        histogram: plots.histogram ? renderPaths.histogram(n.layer, n.neuron) : null,
        topWords: plots.topWords ? renderPaths.topWords(n.layer, n.neuron) : null,
      },
    });
  }
  const variancePlots = new Set(run.variancePlots ?? numbers);
  const layers = perLayer.map((list, i): LayerIndex => ({
    version: RUN_INDEX_VERSION,
    layer: numbers[i]!,
    neurons: list.sort((a, b) => a.neuron - b.neuron),
  }));
  const wordIndex = words.index();
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
      const variances = l.neurons.map((n) => n.stats.variance).filter((v) => Number.isFinite(v));
      return {
        layer: l.layer,
        neurons: l.neurons.length,
        rendered: l.neurons.filter((n) => n.topSentences.some((s) => s.svg !== null)).length,
        meanVariance: variances.length > 0 ? variances.reduce((s, v) => s + v, 0) / variances.length : 0,
        maxVariance: variances.length > 0 ? Math.max(...variances) : 0,
        plots: { variance: variancePlots.has(l.layer) && l.neurons.length > 0 ? renderPaths.variance(l.layer) : null },
        json: renderPaths.layerJson(l.layer),
        script: renderPaths.layerScript(l.layer),
      };
    }),
    files: run.files ?? {},
    words: { json: renderPaths.wordsJson, script: renderPaths.wordsScript },
  };
  return { summary, layers, words: { version: RUN_INDEX_VERSION, words: wordIndex } };
}

/**
 * The word index's entries, one per kept top word, as flat columns until
 * the end. Growing one small array of tuples per token while the neurons
 * stream in took about half of buildRunIndex (2,688 neurons x 20 words);
 * a counting sort groups the entries instead, each token's in the order
 * given, so its list sorts exactly as before.
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

  /** Token -> `[globalNeuron, rank, score]`, tokens in code-unit order, each list best score first. */
  index(): WordIndex['words'] {
    const { tokens } = this;
    const order = tokens.map((_, id) => id).sort((a, b) => (tokens[a]! < tokens[b]! ? -1 : tokens[a]! > tokens[b]! ? 1 : 0));
    const count = new Int32Array(tokens.length);
    for (const id of this.token) count[id]!++;
    const start = new Int32Array(tokens.length);
    let at = 0;
    for (const id of order) {
      start[id] = at;
      at += count[id]!;
    }
    const next = start.slice();
    const entries = new Int32Array(this.token.length);
    for (let i = 0; i < this.token.length; i++) entries[next[this.token[i]!]!++] = i;
    // fromEntries defines own properties: a token such as `__proto__` stays a plain key
    return Object.fromEntries(order.map((id) => {
      const list: Array<[number, number, number]> = [];
      for (let k = start[id]!; k < start[id]! + count[id]!; k++) {
        const i = entries[k]!;
        list.push([this.neuron[i]!, this.rank[i]!, this.score[i]!]);
      }
      return [tokens[id]!, list.sort((a, b) => b[2] - a[2] || a[0] - b[0])] as const;
    }));
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
