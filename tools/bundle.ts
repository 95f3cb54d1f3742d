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
import { STAGE_THREAD_BUNDLE } from '../workers/runner/threads.ts';
import { SANDBOX_BUNDLE } from '../workers/runner/workers.ts';

for (const { source, name } of [CLI_BUNDLE, STAGE_THREAD_BUNDLE, SANDBOX_BUNDLE]) {
  const compiled = await compiledEntry(source, name);
  if ('error' in compiled) {
    process.stderr.write(`neurox bundle: ${compiled.error}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`${fileURLToPath(compiled.url)}${compiled.built ? '' : ' (up to date)'}\n`);
  }
}
