/**
 * `loadExtractor(spec)`: the one way to get an `Extractor` for a model spec.
 * - `use-lite`: the pretrained Universal Sentence Encoder lite that npm ships (TF.js);
 * - a folder in the transformers.js layout (config.json, tokenizer.json,
 *   tokenizer_config.json, onnx/model.onnx): ONNX Runtime;
 * - a Hugging Face hub id (`owner/name`): downloaded once by transformers.js'
 *   hub loading into the cache folder, then as a folder (needs network access).
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError, NotFoundError } from '../../pipelines/errors.ts';
import type { Extractor } from '../../pipelines/ports.ts';
import { OnnxExtractor, type OnnxExtractorOptions } from './onnx/extractor.ts';
import { defaultCacheDir } from './onnx/session.ts';

export type LoadExtractorOptions = OnnxExtractorOptions;

/** The spec of the offline default model. */
export const DEFAULT_MODEL_SPEC = 'use-lite';

/** Hub ids look like `name` or `owner/name` (letters, digits, `-`, `_`, `.`). */
const HUB_ID = /^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/;

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

export async function loadExtractor(spec: string, options: LoadExtractorOptions = {}): Promise<Extractor> {
  if (spec === DEFAULT_MODEL_SPEC) {
    const { loadUseLite } = await import('./useLite/index.ts');
    return loadUseLite(options.threads === undefined ? {} : { threads: options.threads });
  }
  return loadOnnxExtractor(spec, options);
}

/** As `loadExtractor` for ONNX models, with the concrete type (statistics, tokenizer). */
export async function loadOnnxExtractor(spec: string, options: LoadExtractorOptions = {}): Promise<OnnxExtractor> {
  if (await isDirectory(spec)) return OnnxExtractor.load(spec, options);
  const looksLocal = spec.startsWith('.') || spec.startsWith('/') || spec.includes('\\') || spec.split('/').length > 2;
  if (looksLocal || !HUB_ID.test(spec)) throw new NotFoundError(spec, `model folder not found: ${resolve(spec)}`);
  return OnnxExtractor.load(await downloadHubModel(spec, options.cacheDir), options);
}

/**
 * Fetches a hub model's config, tokenizer and fp32 `onnx/model.onnx` with
 * transformers.js (its file cache keeps the hub layout, so the cached copy is
 * a model folder). Not exercised by the tests: these machines have no hub access.
 */
async function downloadHubModel(id: string, cacheDir = defaultCacheDir()): Promise<string> {
  const { AutoConfig, AutoModel, AutoTokenizer } = await import('@huggingface/transformers');
  const cache_dir = join(cacheDir, '..', 'hub');
  try {
    await AutoConfig.from_pretrained(id, { cache_dir });
    await AutoTokenizer.from_pretrained(id, { cache_dir });
    const model = await AutoModel.from_pretrained(id, { cache_dir, dtype: 'fp32', device: 'cpu' });
    await model.dispose();
  } catch (err) {
    throw new InputError(`cannot load '${id}' from the Hugging Face hub (is it a folder that does not exist, or is the network unavailable?): ${(err as Error).message}`);
  }
  const folder = join(cache_dir, id);
  if (!(await isDirectory(folder))) throw new NotFoundError(folder, `hub download of '${id}' left no folder at ${folder}`);
  return folder;
}
