/**
 * `neurox fetch RUN`: copies a run's outputs to a local folder laid out like
 * `runs/<run>/` in the store, so its index.html opens offline. Without
 * --neuron: the Parquet tables, the manifest, the HTML index and every
 * render; with --neuron: the tables and those neurons' renders.
 */
import type { Command } from 'commander';
import { collect, storeUrlFrom } from './url.ts';

export function register(program: Command): void {
  program
    .command('fetch')
    .description("Download a run's SVGs and Parquet files to a folder (laid out like runs/<run>/ in the store)")
    .argument('<run>', 'run id')
    .option('--neuron <layer:neuron>', 'only this neuron\'s renders (model layer numbering, 0 = embeddings); repeatable', collect)
    .option('--out <dir>', 'destination folder (default: ./neurox-out/<run>)')
    .option('--no-parquet', 'skip the Parquet tables and the manifest')
    .option('--output <url>', 'the store holding the run, as given to analyze/submit (default: $NEUROX_OUTPUT); --out is the local folder')
    .addHelpText('after', '\nExamples:\n  neurox fetch r-1a2b3c --output s3://bucket/neurox\n  neurox fetch r-1a2b3c --neuron 3:127 --neuron 0:5 --out ./renders')
    .action(async (run: string, opts: { neuron?: string[]; out?: string; parquet: boolean; output?: string }) => {
      const { openStore } = await import('../../workers/store/index.ts');
      const { browsableKeys, checkNeuron, downloadKeys, neuronRenderKeys, openRun, runTableKeys } = await import('../../workers/render/runFiles.ts');
      const { checkRunId } = await import('../../pipelines/keys.ts');
      const { join } = await import('node:path');
      checkRunId(run);
      const store = openStore(storeUrlFrom(opts.output));
      const info = await openRun(store, run);
      const keys: string[] = opts.parquet ? await runTableKeys(store, run) : [];
      if (opts.neuron?.length) {
        for (const ref of opts.neuron) {
          const { layer, neuron } = checkNeuron(info, ref);
          keys.push(...(await neuronRenderKeys(store, info, layer, neuron)));
        }
      } else {
        for await (const k of browsableKeys(store, run)) keys.push(k);
      }
      const out = opts.out ?? join('neurox-out', run);
      const { files, bytes } = await downloadKeys(store, run, keys, out);
      process.stderr.write(`fetched ${files} files (${(bytes / 1024).toFixed(1)} KiB) of run ${run} to ${out}\n`);
    });
}
