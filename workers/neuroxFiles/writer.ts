/**
 * Writers of NeuroX activation files, laid out exactly as NeuroX's
 * `ActivationsWriter` lays them out, so that NeuroX's `load_activations`
 * (and this project's reader) reads them back:
 * - json: one line per sentence, `{"linex_index": i, "features": [{"token":
 *   t, "layers": [{"index": l, "values": [...]}]}]}`, values as Python's
 *   `repr(round(x, 8))`, strings with `ensure_ascii` (byte-identical to NeuroX);
 * - hdf5: dataset `"i"` = `[nLayers x nTokens x dModel]` per sentence, and
 *   `sentence_to_index` = one JSON string mapping sentence text -> index,
 *   repeated sentences keyed `"<text> (Occurrence N)"`.
 * Memory stays bounded by one sentence's activations; the hdf5 writer also
 * keeps the sentence texts (the index is one JSON string, written at close).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { SentenceActivations } from '../../pipelines/matrix.ts';
import { InputError } from '../../pipelines/errors.ts';
import { encodeHalf, roundToHalf } from '../../pipelines/float16.ts';
import { fileTail, floatDatasetHeader, pad8, SUPERBLOCK_SIZE, type Link } from './hdf5Layout.ts';
import { neuroxValue, pythonJsonString, pythonJsonStringMap } from './pythonJson.ts';

export type ActivationFormat = 'json' | 'hdf5';
export type ActivationDtype = 'float32' | 'float16';

export interface ActivationWriter {
  write(sentence: { tokens: readonly string[]; activations: SentenceActivations }): Promise<void>;
  close(): Promise<void>;
}

if (endianness() !== 'LE') throw new Error('neuroxFiles: big-endian hosts are not supported');

/** Checks one sentence against the shape of the first; returns its shape. */
class ShapeCheck {
  private shape: { nLayers: number; dModel: number } | null = null;
  constructor(private readonly path: string) {}
  check(index: number, tokens: readonly string[], a: SentenceActivations): void {
    const where = `${this.path}: sentence ${index}`;
    if (a.nTokens !== tokens.length) throw new InputError(`${where}: ${tokens.length} tokens but ${a.nTokens} activation rows`);
    if (a.data.length !== a.nLayers * a.nTokens * a.dModel) {
      throw new InputError(`${where}: ${a.data.length} values do not fill [${a.nLayers} x ${a.nTokens} x ${a.dModel}]`);
    }
    if (this.shape === null) {
      if (a.nLayers < 1 || a.dModel < 1) throw new InputError(`${where}: empty shape [${a.nLayers} x ${a.nTokens} x ${a.dModel}]`);
      this.shape = { nLayers: a.nLayers, dModel: a.dModel };
    } else if (a.nLayers !== this.shape.nLayers || a.dModel !== this.shape.dModel) {
      throw new InputError(`${where}: ${a.nLayers} layers x ${a.dModel} neurons, but sentence 0 has ${this.shape.nLayers} x ${this.shape.dModel}`);
    }
  }
}

/** One JSON line, byte-identical to NeuroX's `JSONActivationsWriter`. */
export function neuroxJsonLine(index: number, tokens: readonly string[], a: SentenceActivations, dtype: ActivationDtype): string {
  const { nLayers, nTokens, dModel } = a;
  let data = a.data;
  if (dtype === 'float16') {
    // NeuroX casts to float16 first, then prints each value's round(x, 8)
    data = Float32Array.from(data);
    roundToHalf(data);
  }
  const features: string[] = [];
  const values: string[] = new Array<string>(dModel);
  for (let t = 0; t < nTokens; t++) {
    const layers: string[] = [];
    for (let l = 0; l < nLayers; l++) {
      const base = (l * nTokens + t) * dModel;
      for (let n = 0; n < dModel; n++) values[n] = neuroxValue(data[base + n]!);
      layers.push(`{"index": ${l}, "values": [${values.join(', ')}]}`);
    }
    features.push(`{"token": ${pythonJsonString(tokens[t]!)}, "layers": [${layers.join(', ')}]}`);
  }
  return `{"linex_index": ${index}, "features": [${features.join(', ')}]}\n`;
}

class JsonWriter implements ActivationWriter {
  private index = 0;
  private readonly shapes: ShapeCheck;
  constructor(private readonly fh: FileHandle, path: string, private readonly dtype: ActivationDtype) {
    this.shapes = new ShapeCheck(path);
  }
  async write({ tokens, activations }: { tokens: readonly string[]; activations: SentenceActivations }): Promise<void> {
    this.shapes.check(this.index, tokens, activations);
    await this.fh.write(neuroxJsonLine(this.index, tokens, activations, this.dtype));
    this.index++;
  }
  async close(): Promise<void> {
    await this.fh.close();
  }
}

class Hdf5Writer implements ActivationWriter {
  private readonly links: Link[] = [];
  /** sentence text (with NeuroX's " (Occurrence N)" suffix for repeats) -> dataset name, in write order */
  private readonly sentenceToIndex = new Map<string, string>();
  /** repeated sentence -> the occurrence number to try next (every lower one is taken) */
  private readonly nextOccurrence = new Map<string, number>();
  private end = SUPERBLOCK_SIZE;
  private readonly shapes: ShapeCheck;
  constructor(private readonly fh: FileHandle, path: string, private readonly dtype: ActivationDtype) {
    this.shapes = new ShapeCheck(path);
  }
  async write({ tokens, activations }: { tokens: readonly string[]; activations: SentenceActivations }): Promise<void> {
    const index = this.links.length;
    this.shapes.check(index, tokens, activations);
    const { nLayers, nTokens, dModel, data } = activations;
    const size = this.dtype === 'float16' ? 2 : 4;
    const header = floatDatasetHeader(this.end, [nLayers, nTokens, dModel], size);
    let values: Float32Array | Uint16Array = data;
    if (size === 2) {
      values = new Uint16Array(data.length);
      encodeHalf(data, values);
    }
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    await this.fh.writev([header, bytes], this.end);
    const name = String(index);
    this.links.push({ name, headerAddress: this.end });
    this.end = pad8(this.end + header.length + bytes.length);
    const sentence = tokens.join(' ');
    let key = sentence;
    if (this.sentenceToIndex.has(key)) {
      // NeuroX counts up from 2 until the key is free; keys are never removed,
      // so resuming from the last number taken gives the same key in O(1)
      let occurrence = this.nextOccurrence.get(sentence) ?? 2;
      for (key = `${sentence} (Occurrence ${occurrence})`; this.sentenceToIndex.has(key); ) key = `${sentence} (Occurrence ${++occurrence})`;
      this.nextOccurrence.set(sentence, occurrence + 1);
    }
    this.sentenceToIndex.set(key, name);
  }
  async close(): Promise<void> {
    try {
      const json = new TextEncoder().encode(pythonJsonStringMap(this.sentenceToIndex));
      const { tail, superblock } = fileTail(this.end, this.links, json);
      await this.fh.write(tail, 0, tail.length, this.end);
      // the superblock goes last: an interrupted write leaves a file no reader mistakes for a complete one
      await this.fh.write(superblock, 0, superblock.length, 0);
    } finally {
      await this.fh.close();
    }
  }
}

/** `.json`/`.jsonl` -> json, `.hdf5`/`.h5` -> hdf5; anything else is an InputError naming the path. */
export function formatOfPath(path: string): ActivationFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith('.json') || lower.endsWith('.jsonl')) return 'json';
  if (lower.endsWith('.hdf5') || lower.endsWith('.h5')) return 'hdf5';
  throw new InputError(`${path}: unknown activation file format; expected a .json, .jsonl, .hdf5 or .h5 file`);
}

export async function createActivationWriter(path: string, options: { dtype: ActivationDtype; format?: ActivationFormat }): Promise<ActivationWriter> {
  const format = options.format ?? formatOfPath(path);
  if (options.dtype !== 'float32' && options.dtype !== 'float16') {
    throw new InputError(`dtype '${String(options.dtype)}' is not supported; expected float32 or float16`);
  }
  const fh = await open(path, 'w');
  if (format === 'json') return new JsonWriter(fh, path, options.dtype);
  if (format === 'hdf5') {
    await fh.write(new Uint8Array(SUPERBLOCK_SIZE), 0, SUPERBLOCK_SIZE, 0);
    return new Hdf5Writer(fh, path, options.dtype);
  }
  await fh.close();
  throw new InputError(`format '${String(format)}' is not supported; expected json or hdf5`);
}
