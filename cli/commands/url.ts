/**
 * `neurox url RUN --neuron L:N`: presigned URLs of a run's renders (and, with
 * --file, of any of its files), so they can be shared with someone who has
 * no credentials. S3 stores only.
 */
import type { Command } from 'commander';

/** The run's store: `--output`, else $NEUROX_OUTPUT (as for `neurox submit` and `neurox status`). */
export function storeUrlFrom(option: string | undefined): string {
  const url = option ?? process.env.NEUROX_OUTPUT;
  if (!url) throw new Error('no store given: pass --output s3://bucket/prefix (or a folder), or set NEUROX_OUTPUT');
  return url;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function register(program: Command): void {
  program
    .command('url')
    .description("Print presigned URLs of a run's renders or files (S3 stores), one per line: path<TAB>url")
    .argument('<run>', 'run id')
    .option('--neuron <layer:neuron>', 'a neuron (model layer numbering, 0 = embeddings); repeatable', collect)
    .option('--file <path>', 'a file of the run, relative to runs/<run>/ (e.g. top_words.parquet, index.html); repeatable', collect)
    .option('--expires <duration>', 'how long the URLs work: seconds, or 90s, 15m, 12h, 7d (at most 7 days)', '1h')
    .option('--output <url>', 'the store holding the run, as given to analyze/submit (default: $NEUROX_OUTPUT)')
    .addHelpText('after', '\nExample:\n  neurox url r-1a2b3c --neuron 3:127 --expires 24h --output s3://bucket/neurox')
    .action(async (run: string, opts: { neuron?: string[]; file?: string[]; expires: string; output?: string }) => {
      const { openStore } = await import('../../workers/store/index.ts');
      const { parseDuration } = await import('../../workers/schedule/cron.ts');
      const { checkNeuron, neuronRenderKeys, openRun } = await import('../../workers/render/runFiles.ts');
      const { runKeys, checkRunId } = await import('../../pipelines/keys.ts');
      const { NotFoundError } = await import('../../pipelines/errors.ts');
      checkRunId(run);
      if (!opts.neuron?.length && !opts.file?.length) throw new Error('nothing to sign: give --neuron L:N or --file PATH');
      const seconds = Math.round(parseDuration(opts.expires, '--expires', 's') / 1000);
      if (seconds < 1 || seconds > 604_800) throw new Error(`--expires ${opts.expires}: presigned URLs work for 1 s to 7 days (S3's limit), got ${seconds} s`);
      const store = openStore(storeUrlFrom(opts.output));
      if (!store.presignGet) throw new Error(`${store.location} cannot presign URLs (S3 stores only); use 'neurox fetch' to copy the files instead`);
      const info = await openRun(store, run);
      const prefix = runKeys(run).prefix;
      const keys: string[] = [];
      for (const ref of opts.neuron ?? []) {
        const { layer, neuron } = checkNeuron(info, ref);
        keys.push(...(await neuronRenderKeys(store, info, layer, neuron)));
      }
      for (const path of opts.file ?? []) {
        const key = prefix + path.replace(/^\/+/, '');
        if (!(await store.head(key))) throw new NotFoundError(store.location + key, `run '${run}' has no file ${path} (${store.location}${key})`);
        keys.push(key);
      }
      for (const key of keys) process.stdout.write(`${key.slice(prefix.length)}\t${await store.presignGet(key, seconds)}\n`);
    });
}
