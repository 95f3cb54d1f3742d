#!/usr/bin/env node
// Runs the TypeScript CLI with no build step between `npm ci` and `neurox`:
// from its JavaScript bundle when that is up to date (no TypeScript loader,
// so every module loads at Node's own speed: README, Architecture), else
// through tsx, bundling it for the next run.
import { pathToFileURL } from 'node:url';
import { CLI_BUNDLE, defaultCacheDir, freshBundle } from './bundles.mjs';

// The pinned AWS SDK supports Node 20 but prints a multi-line notice on every
// S3 command that its releases after January 2027 will need Node 22 (README,
// Limits). Say it once there, not on every run; 'false' brings it back.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const useBundle = process.env.NEUROX_BUNDLE !== 'off';
let entry = useBundle ? freshBundle(defaultCacheDir(), CLI_BUNDLE.source, CLI_BUNDLE.name) : null;
if (!entry) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = pathToFileURL(CLI_BUNDLE.source);
  if (useBundle) {
    // built for the next run (0.2-0.5 s once); a failure (a read-only install) only leaves tsx in use
    const { compiledEntry } = await import('../workers/runner/compiled.ts');
    await compiledEntry(CLI_BUNDLE.source, CLI_BUNDLE.name);
  }
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
