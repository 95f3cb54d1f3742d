// The project's JavaScript bundles (workers/runner/compiled.ts builds them):
// where they live and whether one is up to date. Plain JavaScript, so that
// bin/neurox.js can find the CLI's bundle before any TypeScript loader is
// registered; compiled.ts uses the same functions (types in bundles.d.mts).
import { readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The project's root. */
export const ROOT = resolve(import.meta.dirname, '..');

/** Bumped when the build's options change, so older bundles are not reused. */
export const BUILD_VERSION = 3;

/** The CLI's bundle: its entry module and name (bin/neurox.js starts from it; `npm run bundle` builds it). */
export const CLI_BUNDLE = { source: join(ROOT, 'cli', 'main.ts'), name: 'cli' };

/** Where bundles are kept: `<project>/node_modules/.cache/neurox-stream`. */
export function defaultCacheDir() {
  return join(ROOT, 'node_modules', '.cache', 'neurox-stream');
}

/** [size, mtimeMs] of a file given relative to the project's root, or null when it is gone. */
export function sourceStat(path) {
  try {
    const s = statSync(join(ROOT, path));
    return [s.size, s.mtimeMs];
  } catch {
    return null;
  }
}

/**
 * The URL of the bundle `name` of `entry` (an absolute .ts path) in
 * `cacheDir`, when its manifest (`<name>.json`) matches every file it was
 * built from as that file is now; else null.
 */
export function freshBundle(cacheDir, entry, name) {
  let m;
  try {
    m = JSON.parse(readFileSync(join(cacheDir, `${name}.json`), 'utf8'));
  } catch {
    return null;
  }
  if (m.version !== BUILD_VERSION || m.entry !== relative(ROOT, entry) || !Array.isArray(m.inputs)) return null;
  for (const [path, size, mtime] of m.inputs) {
    const now = sourceStat(path);
    if (!now || now[0] !== size || now[1] !== mtime) return null;
  }
  const file = join(cacheDir, m.dir, `${name}.mjs`);
  if (!sourceStat(relative(ROOT, file))) return null;
  return pathToFileURL(file);
}
