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

/** Everything the index needs about one neuron; build it from the Parquet rows. */
export interface NeuronInput {
  readonly layer: number;
  readonly neuron: number;
  readonly stats: NeuronStats;
  /** Best first; at most `maxTopWords` are kept. */
  readonly topWords: readonly Omit<IndexTopWord, 'rank'>[];
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
}

export interface RunIndex {
  readonly summary: RunSummary;
  readonly layers: readonly LayerIndex[];
  readonly words: WordIndex;
}

/** One file of the index, at a run-relative path. */
export interface IndexFile {
  readonly path: string;
  readonly body: string;
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
  const words = new Map<string, Array<[number, number, number]>>();
  for (const n of neurons) {
    const at = position.get(n.layer);
    if (at === undefined) throw new InputError(`run index: layer ${n.layer} is not in the run (layers ${numbers.join(', ')})`);
    if (!Number.isInteger(n.neuron) || n.neuron < 0 || n.neuron >= dModel) throw new InputError(`run index: neuron ${n.neuron} is out of range [0, ${dModel - 1}]`);
    const g = at * dModel + n.neuron;
    if (seen.has(g)) throw new InputError(`run index: neuron ${n.layer}:${n.neuron} is given twice`);
    seen.add(g);
    const plots = n.plots ?? { histogram: n.rendered, topWords: n.rendered && n.topWords.length > 0 };
    const topWords = n.topWords.slice(0, maxWords).map((w, rank) => ({ rank, token: w.token, score: w.score, count: w.count, mean: w.mean }));
    for (const w of topWords) {
      let list = words.get(w.token);
      if (!list) words.set(w.token, (list = []));
      list.push([g, w.rank, w.score]);
    }
    perLayer[at]!.push({
      layer: n.layer,
      neuron: n.neuron,
      globalNeuron: g,
      stats: n.stats,
      topWords,
      topSentences: n.topSentences.map((s, rank) => ({
        rank,
        sentenceIndex: s.sentenceIndex,
        maxActivation: s.maxActivation,
        tokenIndex: s.tokenIndex,
        svg: n.rendered ? renderPaths.sentence(n.layer, n.neuron, rank) : null,
        ...(s.text === undefined ? {} : { text: s.text }),
      })),
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
  // fromEntries defines own properties: a token such as `__proto__` stays a plain key
  const wordIndex = Object.fromEntries(
    [...words]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([token, list]) => [token, list.sort((a, b) => b[2] - a[2] || a[0] - b[0])] as const),
  );
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

/** The index's files (JSON and page scripts), at run-relative paths; the HTML page comes from htmlIndex.ts. */
export function runIndexFiles(index: RunIndex): IndexFile[] {
  const json = 'application/json';
  const js = 'text/javascript; charset=utf-8';
  const files: IndexFile[] = [{ path: renderPaths.summary, body: scriptSafeJson(index.summary), contentType: json }];
  for (const l of index.layers) {
    const body = scriptSafeJson(l);
    files.push({ path: renderPaths.layerJson(l.layer), body, contentType: json });
    files.push({ path: renderPaths.layerScript(l.layer), body: `NEUROX_INDEX.layer(${l.layer}, ${body});\n`, contentType: js });
  }
  const words = scriptSafeJson(index.words);
  files.push({ path: renderPaths.wordsJson, body: words, contentType: json });
  files.push({ path: renderPaths.wordsScript, body: `NEUROX_INDEX.words(${words});\n`, contentType: js });
  return files;
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
