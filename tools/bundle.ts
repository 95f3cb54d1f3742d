/**
 * Builds the stage threads' JavaScript bundle ahead of a first run (the
 * Docker image runs it at build time, where node_modules is still
 * writable): `npm run bundle`. Prints the bundle's path; exits 1 naming
 * the reason when it cannot be built.
 */
import { fileURLToPath } from 'node:url';
import { compileStageThread } from '../workers/runner/threads.ts';

const compiled = await compileStageThread();
if ('error' in compiled) {
  process.stderr.write(`neurox bundle: ${compiled.error}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(`${fileURLToPath(compiled.url)}${compiled.built ? '' : ' (up to date)'}\n`);
}
