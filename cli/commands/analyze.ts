/**
 * `neurox analyze`: the whole analysis in this process (no Redis), with the
 * same plan and stage functions as the workers: neuron_stats.parquet and
 * top_words.parquet for every neuron of every layer, under the output folder
 * or bucket. Defaults: the bundled sample corpus and the offline pretrained
 * model, so `neurox analyze` alone works on a fresh clone.
 */
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import type { AnalysisJobInput } from '../../schemas/analysis.ts';
import type { ProgressEvent } from '../../workers/runner/embedded.ts';
import { parseNumber } from '../errors.ts';
import { addExtractionFlags, parseExtractionFlags, type ExtractionFlags } from '../extractionFlags.ts';

export const SAMPLE_CORPUS = fileURLToPath(new URL('../../fixtures/sample-corpus.txt', import.meta.url));

export interface AnalysisFlags extends ExtractionFlags {
  model: string;
  name?: string;
  shardSentences: string;
  blockNeurons: string;
  topK: string;
  minThreshold: string;
  topSentences: string;
  histogramBins: string;
  render: string;
  textDirection: string;
}

/**
 * The options `analyze`, `submit` and `schedule add` share (the analysis
 * request's fields). `schedule add` names its runs itself: it hides `--name`
 * from its help and refuses it with the reason.
 */
export function addAnalysisOptions(cmd: Command, { hideName = false }: { hideName?: boolean } = {}): Command {
  cmd
    .option('--model <spec>', "'use-lite' (bundled pretrained model), a model folder (transformers.js layout with onnx/model.onnx), or a hub id", 'use-lite')
    .addOption(new Option('--name <run>', 'run id (letters, digits, . _ -); default: derived from corpus, model and options, so an identical re-run finds the same run').hideHelp(hideName));
  return addExtractionFlags(cmd, { dtype: 'activation cache precision: float32 or float16' })
    .option('--shard-sentences <n>', 'sentences per shard (unit of extraction jobs and of the activation cache)', '256')
    .option('--block-neurons <n>', 'neurons per pass-2 block (unit of type-score jobs and reducers)', '256')
    .option('--top-k <k>', 'top words kept per neuron (0 = all above the threshold)', '50')
    .option('--min-threshold <t>', "keep words scoring strictly above t (NeuroX's min_threshold)", '0.1')
    .option('--top-sentences <k>', 'top sentences kept per neuron, by max |activation| (top_sentences.parquet)', '10')
    .option('--histogram-bins <n>', 'bins per neuron histogram (histograms.parquet)', '32')
    .option('--render <which>', "neurons whose top sentences and plots become SVGs: 'top:N' (highest variance), 'all', 'none', or layer:neuron,...", 'top:64')
    .option('--text-direction <dir>', 'ltr, or rtl for right-to-left corpora (the renders)', 'ltr');
}

/** `--render`: 'top:N' (or N), 'all', 'none', or a comma-separated list of layer:neuron. */
export function parseRenderFlag(text: string): 'all' | 'none' | { topVariance: number } | { neurons: string[] } {
  const t = text.trim();
  if (t === 'all' || t === 'none') return t;
  const top = /^(?:top:)?(\d+)$/.exec(t);
  if (top) return { topVariance: Number(top[1]) };
  const neurons = t.split(',').map((p) => p.trim());
  for (const n of neurons) if (!/^\d+:\d+$/.test(n)) throw new Error(`--render: '${n}' is not top:N, all, none or layer:neuron`);
  return { neurons };
}

function parseTextDirection(text: string): 'ltr' | 'rtl' {
  const t = text.trim().toLowerCase();
  if (t !== 'ltr' && t !== 'rtl') throw new Error(`--text-direction: expected ltr or rtl, got '${text}'`);
  return t;
}

export function analysisRequest(corpus: string, output: string, o: AnalysisFlags): AnalysisJobInput {
  const extraction = parseExtractionFlags(o);
  return {
    version: 1,
    corpus,
    model: o.model,
    output,
    ...(o.name !== undefined ? { runName: o.name } : {}),
    options: {
      ...extraction,
      shardSentences: parseNumber('--shard-sentences', o.shardSentences, { integer: true, min: 1 }),
      blockNeurons: parseNumber('--block-neurons', o.blockNeurons, { integer: true, min: 1 }),
      topK: parseNumber('--top-k', o.topK, { integer: true, min: 0 }),
      minThreshold: parseNumber('--min-threshold', o.minThreshold, { min: 0 }),
      topSentences: parseNumber('--top-sentences', o.topSentences, { integer: true, min: 1 }),
      histogramBins: parseNumber('--histogram-bins', o.histogramBins, { integer: true, min: 1 }),
      render: parseRenderFlag(o.render),
      textDirection: parseTextDirection(o.textDirection),
    },
  };
}

interface Options extends AnalysisFlags {
  out: string;
  threads?: string;
  jobs?: string;
  progress: boolean;
  json?: boolean;
}

const UNITS: Record<string, string> = { extract: 'shards', 'reduce-moments': 'reduce', 'type-scores': 'blocks' };

/** One display per stage, in turn: jobs done/total, words/s and ETA from the words the finished jobs covered. */
function stageDisplay(stream: NodeJS.WriteStream, show: boolean, cliProgress: typeof import('cli-progress')): { update(e: ProgressEvent): void; stop(): void } {
  let stage: string | null = null;
  let start = 0;
  let lastLine = 0;
  let bar: { update(done: number, payload: object): void; stop(): void } | null = null;
  const line = (e: ProgressEvent, elapsed: number): string => {
    const wps = elapsed > 0 ? (e.words * 1000) / elapsed : 0;
    const eta = wps > 0 && e.totalWords > 0 ? (e.totalWords - e.words) / wps : NaN;
    const parts = [`${e.stage}: ${e.done}/${e.total} ${UNITS[e.stage] ?? 'jobs'}`];
    if (e.totalWords > 0) parts.push(`${wps.toFixed(0)} words/s`, e.done < e.total ? `ETA ${Number.isFinite(eta) ? `${Math.ceil(eta)}s` : '?'}` : `${(elapsed / 1000).toFixed(1)}s`);
    return parts.join(', ');
  };
  return {
    update(e) {
      if (!show || e.stage === 'analyze') return;
      const now = performance.now();
      if (e.stage !== stage) {
        bar?.stop();
        bar = null;
        stage = e.stage;
        start = now;
        lastLine = 0;
        if (stream.isTTY) {
          const b = new cliProgress.SingleBar({ format: `{stage} [{bar}] {value}/{total} {unit} | {rate} | ETA {eta}`, stream, hideCursor: true, fps: 5 }, cliProgress.Presets.shades_classic);
          b.start(e.total, e.done, { stage: e.stage.padEnd(14), unit: UNITS[e.stage] ?? 'jobs', rate: '', eta: '?' });
          bar = b;
        }
      }
      const elapsed = now - start;
      if (bar) {
        const wps = elapsed > 0 ? (e.words * 1000) / elapsed : 0;
        const eta = wps > 0 ? (e.totalWords - e.words) / wps : NaN;
        bar.update(e.done, { rate: e.totalWords > 0 ? `${wps.toFixed(0)} words/s` : '', eta: Number.isFinite(eta) ? `${Math.ceil(eta)}s` : '?' });
      } else if (e.done === e.total || now - lastLine > 5000) {
        lastLine = now;
        stream.write(`${line(e, elapsed)}\n`);
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

export function register(program: Command): void {
  const cmd = program
    .command('analyze')
    .description('The whole analysis of a corpus in this process (no Redis): statistics, top words and top sentences of every neuron in Parquet, SVG renders and an HTML index page')
    .argument('[corpus]', 'UTF-8 text, one sentence per line, words separated by single spaces (a path or s3://bucket/key)', SAMPLE_CORPUS);
  addAnalysisOptions(cmd)
    .option('--out <dir>', 'output folder or store URL (s3://bucket/prefix): activation cache under cache/, the run under runs/<run>/', 'neurox-out')
    .option('--threads <n>', 'model runtime threads (default: the runtime\'s)')
    .option('--jobs <n>', 'stage jobs at once on worker threads: shards stored while the model runs, pass-2 and render jobs in parallel (1 = all in one thread) (default: the cores, at most 4)')
    .option('--no-progress', 'no progress display on stderr')
    .option('--json', 'print the result as JSON (the analysis result schema) instead of a summary')
    .addHelpText(
      'after',
      `
Lines are stripped and empty lines skipped, as neurox extract does. A re-run
reuses the activation cache of every shard it shares with an earlier run
(same sentences, model and options), so growing a corpus only extracts the
new shards.

Examples:
  neurox analyze                                   # sample corpus, bundled model
  neurox analyze corpus.txt --model models/bert-base-uncased --out results
  neurox analyze s3://bucket/corpus.txt --out s3://bucket/analyses --top-k 20`,
    )
    .action(async (corpus: string, o: Options) => {
      if (o.threads !== undefined) process.env.NEUROX_MODEL_THREADS = String(parseNumber('--threads', o.threads, { integer: true, min: 1 }));
      const jobs = o.jobs === undefined ? undefined : parseNumber('--jobs', o.jobs, { integer: true, min: 1 });
      const request = analysisRequest(corpus, o.out, o);
      const { runEmbedded } = await import('../../workers/runner/embedded.ts');
      const { openStore } = await import('../../workers/store/index.ts');
      const cliProgress = (await import('cli-progress')).default;
      const display = stageDisplay(process.stderr, o.progress, cliProgress);
      const abort = new AbortController();
      const onSignal = (): void => abort.abort(new Error('interrupted (finished shards stay in the cache: run again to resume)'));
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const t0 = performance.now();
      try {
        const result = await runEmbedded(request, { onProgress: (e) => display.update(e), signal: abort.signal, ...(jobs !== undefined ? { jobs } : {}) });
        display.stop();
        if (o.json) {
          process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
          return;
        }
        const where = openStore(result.output).location;
        const s = ((performance.now() - t0) / 1000).toFixed(1);
        process.stdout.write(
          [
            `run ${result.runId}: ${result.nSentences} sentences, ${result.nTokens} tokens, ${result.nNeurons} neurons in ${s}s` +
              (result.cachedShards > 0 ? ` (${result.cachedShards}/${result.nShards} shards from the cache)` : ''),
            ...(result.truncatedSentences > 0 ? [`warning: ${result.truncatedSentences} sentences were longer than the model allows and were truncated`] : []),
            `  ${where}${result.neuronStats}`,
            `  ${where}${result.topWords} (${result.topWordRows} rows)`,
            `  ${where}${result.topSentences}`,
            `  ${where}${result.histograms}`,
            `  ${where}${result.index} (open in a browser)`,
            `  ${where}${result.manifest}`,
            '',
          ].join('\n'),
        );
      } finally {
        display.stop();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
