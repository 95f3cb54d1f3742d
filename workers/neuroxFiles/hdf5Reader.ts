/**
 * Reader of NeuroX hdf5 activation files through h5wasm. h5wasm's Node build
 * is compiled with Emscripten's NODERAWFS: HDF5 reads the host file with
 * positioned reads, so only the requested dataset enters memory (measured:
 * a 1.2 GB file read dataset by dataset peaks at 160 MB RSS). h5wasm cannot
 * decode float16 (`Float16 not supported`), so datasets are read as raw
 * bytes in their stored type and converted here.
 *
 * Order: like NeuroX's loader, sentences follow the order of the keys in
 * `sentence_to_index` (insertion order of the JSON object), each key's value
 * naming its dataset.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Dataset, File as H5File } from 'h5wasm/node';
import { InputError, NotFoundError } from '../../pipelines/errors.ts';
import { decodeHalf } from '../../pipelines/float16.ts';
import { parseOrderedStringMap } from './pythonJson.ts';
import type { OpenedActivations, RawSentence, SentenceSource } from './source.ts';

type H5 = typeof import('h5wasm/node').default;
type H5Module = Awaited<H5['ready']>;

let loaded: Promise<{ h5: H5; module: H5Module }> | null = null;

/**
 * Imports h5wasm natively even under tsx (bin/neurox.js). tsx rewrites the
 * dynamic imports of every ES module it loads and builds a hi-res source map
 * for it; for h5wasm's 4 MB one-line bundle that costs 4-15 s per process
 * (measured: 17 s under tsx vs 1.3 s natively on a loaded 2-core machine).
 * tsx leaves alone any module whose URL names another tsx namespace, and
 * that module's own imports inherit the namespace. Without tsx the query is
 * inert; if tsx ever renames it, h5wasm still loads, only slowly.
 */
async function importH5wasm(): Promise<H5> {
  const resolveUrl = (import.meta as { resolve?: (specifier: string) => string }).resolve;
  if (typeof resolveUrl === 'function') {
    try {
      const url = `${resolveUrl('h5wasm/node')}?tsx-namespace=neurox-native`;
      return ((await import(url)) as { default: H5 }).default;
    } catch {
      // fall through to the plain import
    }
  }
  return (await import('h5wasm/node')).default;
}

/** Loads the WASM once per process and makes HDF5 errors throw (instead of printing to stderr). */
function loadH5wasm(): Promise<{ h5: H5; module: H5Module }> {
  loaded ??= (async () => {
    const h5 = await importH5wasm();
    const module = await h5.ready;
    module.activate_throwing_error_handler();
    return { h5, module };
  })();
  return loaded;
}

/** The innermost cause of an HDF5 error stack, e.g. "file signature not found". */
function hdf5Reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const causes = [...text.matchAll(/#\d+:.* in [^(]+\(\): (.*)$/gm)].map((m) => m[1]!.trim());
  return causes[causes.length - 1] ?? text.split('\n')[0] ?? text;
}

interface DatasetInfo {
  readonly shape: number[];
  readonly elementSize: number;
  readonly nbytes: number;
}

export async function openHdf5Activations(path: string): Promise<OpenedActivations> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new NotFoundError(path, `activations file not found: ${path}`);
    throw err;
  });
  if (!st.isFile()) throw new InputError(`activations file is not a regular file: ${path}`);
  const { h5, module } = await loadH5wasm();
  let file: H5File;
  try {
    file = new h5.File(resolve(path), 'r');
  } catch (err) {
    throw new InputError(`${path}: not a readable HDF5 file (${hdf5Reason(err)})`);
  }
  let closed = false;
  const close = async (): Promise<void> => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };

  const dataset = (name: string, what: string): Dataset => {
    let entity: unknown;
    try {
      entity = file.get(name);
    } catch (err) {
      throw new InputError(`${path}: ${what}: cannot read dataset "${name}" (${hdf5Reason(err)})`);
    }
    if (!(entity instanceof h5.Dataset)) throw new InputError(`${path}: ${what}: no dataset "${name}"`);
    return entity;
  };

  const describe = (ds: Dataset, what: string): DatasetInfo => {
    const meta = ds.metadata;
    const isFloat = meta.type === module.H5T_class_t.H5T_FLOAT.value;
    if (!isFloat || (meta.size !== 2 && meta.size !== 4)) {
      throw new InputError(`${path}: ${what}: dataset "${ds.path.replace(/^\/+/, '')}" holds ${String(ds.dtype)}, expected float32 or float16`);
    }
    const shape = meta.shape ?? [];
    if (shape.length !== 3) {
      throw new InputError(`${path}: ${what}: dataset "${ds.path.replace(/^\/+/, '')}" has shape [${shape.join(', ')}], expected [layers x tokens x neurons]`);
    }
    return { shape, elementSize: meta.size, nbytes: meta.size * shape.reduce((a, b) => a * b, 1) };
  };

  /** Layers `[from, to)` of a `[layers x tokens x neurons]` dataset: one hyperslab read, contiguous in the file. */
  const read = (ds: Dataset, info: DatasetInfo, what: string, from: number, to: number): Float32Array => {
    const [nLayers, nTokens, dModel] = info.shape as [number, number, number];
    const all = from === 0 && to >= nLayers;
    const nbytes = all ? info.nbytes : (to - from) * nTokens * dModel * info.elementSize;
    const ptr = module._malloc(Math.max(nbytes, 1));
    if (ptr === 0) throw new Error(`${path}: ${what}: cannot allocate ${nbytes} bytes in the HDF5 heap`);
    try {
      try {
        // raw read in the stored type (converted to little-endian by HDF5)
        if (all) module.get_dataset_data(file.file_id, ds.path, null, null, null, BigInt(ptr));
        else module.get_dataset_data(file.file_id, ds.path, [BigInt(to - from), BigInt(nTokens), BigInt(dModel)], [BigInt(from), 0n, 0n], [1n, 1n, 1n], BigInt(ptr));
      } catch (err) {
        throw new InputError(`${path}: ${what}: cannot read dataset "${ds.path.replace(/^\/+/, '')}" (${hdf5Reason(err)})`);
      }
      const bytes = module.HEAPU8.slice(ptr, ptr + nbytes);
      if (info.elementSize === 4) return new Float32Array(bytes.buffer);
      const values = new Float32Array(nbytes / 2);
      decodeHalf(new Uint16Array(bytes.buffer), values);
      return values;
    } finally {
      module._free(ptr);
    }
  };

  try {
    const index = dataset('sentence_to_index', 'the sentence index');
    let raw: unknown;
    try {
      raw = index.value;
    } catch (err) {
      throw new InputError(`${path}: cannot read sentence_to_index (${hdf5Reason(err)})`);
    }
    const text = Array.isArray(raw) ? raw[0] : raw;
    if (typeof text !== 'string') throw new InputError(`${path}: sentence_to_index does not hold a JSON string`);
    let map: Map<string, string>;
    try {
      map = parseOrderedStringMap(text);
    } catch (err) {
      throw new InputError(`${path}: sentence_to_index is not a JSON object of strings (${(err as Error).message})`);
    }
    const names = [...map.values()];
    if (names.length === 0) throw new InputError(`${path}: no sentences`);
    const first = describe(dataset(names[0]!, 'sentence 0'), 'sentence 0');

    const source = (layers?: readonly [number, number]): SentenceSource => {
      let i = 0;
      return {
        async next(): Promise<RawSentence | null> {
          if (i >= names.length) return null;
          const what = `sentence ${i}`;
          const name = names[i++]!;
          const ds = dataset(name, what);
          const info = describe(ds, what);
          const [nLayers, nTokens, dModel] = info.shape as [number, number, number];
          // a sentence with fewer layers than asked for is read whole and fails its shape check
          const [from, to] = layers !== undefined && layers[1] <= nLayers ? layers : [0, nLayers];
          return { nLayers, nTokens, dModel, data: read(ds, info, what, from, to), where: `dataset "${name}"` };
        },
        async countRest() {
          return names.length - i;
        },
        async close() {},
      };
    };
    return {
      nLayers: first.shape[0]!,
      dModel: first.shape[2]!,
      nSentences: names.length,
      dtype: first.elementSize === 2 ? 'float16' : 'float32',
      source,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
