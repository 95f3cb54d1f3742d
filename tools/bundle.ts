/**
 * Builds the JavaScript bundles of the CLI (bin/neurox.js), the embedded
 * runner's stage threads and the queue workers' sandboxed processor ahead of
 * a first run (the Docker
 * image runs it at build time, while node_modules is writable): `npm run
 * bundle`. Prints each bundle's path; exits 1 naming the reason when one
 * cannot be built.
 */
import { fileURLToPath } from 'node:url';
import { CLI_BUNDLE } from '../bin/bundles.mjs';
import { compiledEntry } from '../workers/runner/compiled.ts';
import { compileStageThread } from '../workers/runner/threads.ts';
import { compileSandbox } from '../workers/runner/workers.ts';

for (const compiled of [await compiledEntry(CLI_BUNDLE.source, CLI_BUNDLE.name), await compileStageThread(), await compileSandbox()]) {
  if ('error' in compiled) {
    process.stderr.write(`neurox bundle: ${compiled.error}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`${fileURLToPath(compiled.url)}${compiled.built ? '' : ' (up to date)'}\n`);
  }
}
