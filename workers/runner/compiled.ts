/**
 * Compiled entry points: a TypeScript module graph bundled once into plain
 * JavaScript, so `neurox` itself (bin/neurox.js), a stage thread or a
 * sandboxed child process can start without the TypeScript loader.
 *
 * Why: a thread or process that registers tsx gets a loader thread of its
 * own, and every module it imports (ours and the packages') goes through
 * that thread's resolve and load hooks. On these machines a stage thread's
 * start took 0.8-0.95 s and 1.3-1.5 s of CPU that way; from the bundle,
 * 0.31-0.35 s and 0.36-0.39 s of CPU (BENCHMARKS.md, Pipeline). The embedded
 * runner starts its threads while the model loads, so that CPU came out of
 * the model's loading; a queue worker starts a child process per stage slot.
 *
 * The bundle holds the project's own modules only; packages stay imports
 * (resolved from the bundle's folder, inside the project's node_modules). It
 * lives in `node_modules/.cache/neurox-stream/` with a manifest of the files
 * it was built from (size and modification time each) and is rebuilt when
 * one of them changes, so an edited checkout never runs stale code. Each
 * module keeps its own `import.meta.url` (and `dirname`, `filename`): files
 * found relative to a module are found as from the sources.
 *
 * Anything that stops the build (no esbuild, a read-only install) is
 * reported and the caller falls back to the TypeScript loader.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUILD_VERSION, defaultCacheDir, freshBundle, ROOT, sourceStat } from '../../bin/bundles.mjs';

export { defaultCacheDir };

export interface CompiledOptions {
  /** Where bundles are kept; default `<project>/node_modules/.cache/neurox-stream`. */
  readonly cacheDir?: string;
}

export type Compiled = { readonly url: URL; readonly built: boolean } | { readonly error: string };

/** A bundle: its entry module (an absolute .ts path) and the name of its files and manifest. */
export interface Bundle {
  readonly source: string;
  readonly name: string;
}

/** A thread's or child process's module and the Node options it starts with. */
export interface EntryPoint {
  readonly url: URL;
  readonly execArgv: readonly string[];
}

/** Node options without the TypeScript loader (`tsx` and `node --import tsx` pass it on to every thread and child). */
export function withoutTypeScriptLoader(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  const takesValue = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    if (takesValue.has(flag)) {
      const value = eq > 0 ? a.slice(eq + 1) : (execArgv[++i] ?? '');
      if (/(^|[/\\])tsx([/\\]|$)/.test(value)) continue;
      out.push(...(eq > 0 ? [a] : [a, value]));
    } else out.push(a);
  }
  return out;
}

/**
 * Where a thread or child process starts: `bundle`, run without the
 * TypeScript loader; or `fallback` (a .mjs that registers tsx) with this
 * process's options, when the bundle cannot be built (the reason is logged)
 * or `NEUROX_BUNDLE=off`.
 */
export async function entryPoint(bundle: Bundle, fallback: URL, log: (message: string) => void = () => {}): Promise<EntryPoint> {
  const loader: EntryPoint = { url: fallback, execArgv: process.execArgv };
  if (process.env.NEUROX_BUNDLE === 'off') return loader;
  const { name } = bundle;
  const compiled = await compiledEntry(bundle.source, name);
  if ('error' in compiled) {
    log(`${name} starts through the TypeScript loader (slower): ${compiled.error}`);
    return loader;
  }
  if (compiled.built) log(`${name}: bundled into ${fileURLToPath(compiled.url)}`);
  return { url: compiled.url, execArgv: withoutTypeScriptLoader(process.execArgv) };
}

interface Manifest {
  readonly version: number;
  readonly entry: string;
  readonly dir: string;
  /** [path relative to the project root, size, mtimeMs] of every source file the bundle was built from. */
  readonly inputs: ReadonlyArray<readonly [string, number, number]>;
}

/**
 * The bundle of `entry` (a .ts file of this project) as a file URL: reused
 * when every file it was built from is unchanged, else built now (esbuild,
 * 0.1-0.3 s). `name` names the bundle's files.
 */
export async function compiledEntry(entry: string, name: string, options: CompiledOptions = {}): Promise<Compiled> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const manifestPath = join(cacheDir, `${name}.json`);
  const fresh = freshBundle(cacheDir, entry, name);
  if (fresh) return { url: fresh, built: false };
  try {
    return { url: await build(entry, name, cacheDir, manifestPath), built: true };
  } catch (err) {
    return { error: `cannot bundle ${relative(ROOT, entry)} into ${cacheDir}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
  }
}

const META = /\bimport\.meta\.(url|dirname|filename)\b/g;

async function build(entry: string, name: string, cacheDir: string, manifestPath: string): Promise<URL> {
  const esbuild = await import('esbuild');
  mkdirSync(cacheDir, { recursive: true });
  const tmp = join(cacheDir, `.${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const result = await esbuild.build({
      entryPoints: { [name]: entry },
      bundle: true,
      splitting: true, // dynamic imports stay lazy (the model's modules load only where a model runs)
      format: 'esm',
      platform: 'node',
      target: 'node20',
      outdir: tmp,
      outExtension: { '.js': '.mjs' },
      packages: 'external',
      metafile: true,
      sourcemap: true, // stacks point into the sources with NODE_OPTIONS=--enable-source-maps
      logLevel: 'silent',
      plugins: [
        {
          name: 'module-meta',
          setup(b) {
            // each module keeps the URL of its source file (the project's .mjs too: bin/bundles.mjs finds the root by it)
            b.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
              const url = pathToFileURL(args.path);
              const literal: Record<string, string> = { url: url.href, dirname: join(args.path, '..'), filename: args.path };
              const source = await readFile(args.path, 'utf8');
              return { contents: source.replace(META, (_, k: string) => JSON.stringify(literal[k])), loader: /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js' };
            });
          },
        },
      ],
    });
    const inputs = Object.keys(result.metafile.inputs)
      .map((p) => relative(ROOT, resolve(p)))
      .concat('tsconfig.json')
      .sort()
      .map((p) => {
        const s = sourceStat(p);
        if (!s) throw new Error(`${p} vanished during the build`);
        return [p, s[0], s[1]] as const;
      });
    const key = createHash('sha256').update(JSON.stringify([BUILD_VERSION, entry, inputs])).digest('hex').slice(0, 16);
    const dir = `${name}-${key}`;
    try {
      renameSync(tmp, join(cacheDir, dir));
    } catch {
      // another process built the same bundle first
      statSync(join(cacheDir, dir, `${name}.mjs`));
    }
    const manifest: Manifest = { version: BUILD_VERSION, entry: relative(ROOT, entry), dir, inputs };
    const tmpManifest = `${tmp}.json`;
    writeFileSync(tmpManifest, JSON.stringify(manifest));
    renameSync(tmpManifest, manifestPath);
    prune(cacheDir, name, dir);
    return pathToFileURL(join(cacheDir, dir, `${name}.mjs`));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Removes this entry's bundles built more than a day ago, but the current
 * one: a process started from an older bundle may still import one of its
 * lazy chunks (the model's modules, say) later on.
 */
function prune(cacheDir: string, name: string, keep: string): void {
  const dayAgo = Date.now() - 86_400_000;
  for (const d of readdirSync(cacheDir)) {
    if (d === keep || !d.startsWith(`${name}-`)) continue;
    try {
      if (statSync(join(cacheDir, d)).mtimeMs < dayAgo) rmSync(join(cacheDir, d), { recursive: true, force: true });
    } catch {
      // another process pruned it
    }
  }
}
