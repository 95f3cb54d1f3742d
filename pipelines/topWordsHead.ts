/**
 * The head of a block's top words: each neuron's first `HEAD_TOP_WORDS`
 * top words as pass 2 ranked them (token, score, count, signed mean), in a
 * small binary partial beside the block's top_words Parquet part. The
 * renders' bars and the index's lists read it: decoding the Parquet part
 * back (every rank of every column) was a sixth of the render index on the
 * MiniLM bench warm, a third cold (BENCHMARKS.md).
 *
 * Layout (pipelines/partialBytes.ts): "NXTW", version, firstNeuron,
 * nNeurons, entries, the tokens' UTF-8 byte count; then score, count, mean
 * f64 [entries]; offsets u32 [nNeurons + 1] (neuron firstNeuron + j's
 * entries are offsets[j] .. offsets[j + 1], best first); each entry's
 * token length in UTF-16 code units u32 [entries]; the entries' tokens end
 * to end, as UTF-8. A token cut in two by a wrong length cannot be told
 * from two tokens, but a damaged length table is caught when the lengths do
 * not add up to the text.
 */
import { InputError } from './errors.ts';
import { LayoutReader, LayoutWriter } from './partialBytes.ts';

/** Top words kept per neuron: the renders' bars and the index's lists (both 20). */
export const HEAD_TOP_WORDS = 20;

const MAGIC = 'NXTW';
const VERSION = 1;

export interface TopWordsHead {
  readonly firstNeuron: number;
  readonly nNeurons: number;
  /** `[nNeurons + 1]` */
  readonly offsets: Uint32Array;
  /** `[entries]` each, best first within a neuron. */
  readonly token: readonly string[];
  readonly score: Float64Array;
  readonly count: Float64Array;
  readonly mean: Float64Array;
}

/**
 * The head of a block's ranked rows (in neuron order, each neuron's by
 * rank, as top_words.parquet's rows of the block): the rows of rank below
 * `max`.
 */
export function topWordsHead(
  rows: { readonly globalNeuron: ArrayLike<number>; readonly rank: ArrayLike<number>; readonly token: readonly string[]; readonly score: ArrayLike<number>; readonly count: ArrayLike<number>; readonly mean: ArrayLike<number> },
  firstNeuron: number,
  nNeurons: number,
  max = HEAD_TOP_WORDS,
): TopWordsHead {
  const n = rows.globalNeuron.length;
  const offsets = new Uint32Array(nNeurons + 1);
  for (let r = 0; r < n; r++) {
    const j = rows.globalNeuron[r]! - firstNeuron;
    if (j < 0 || j >= nNeurons) throw new InputError(`top words head: row ${r} is neuron ${rows.globalNeuron[r]}, outside [${firstNeuron}, ${firstNeuron + nNeurons})`);
    if (rows.rank[r]! < max) offsets[j + 1]!++;
  }
  for (let j = 0; j < nNeurons; j++) offsets[j + 1]! += offsets[j]!;
  const entries = offsets[nNeurons]!;
  const token = new Array<string>(entries);
  const score = new Float64Array(entries);
  const count = new Float64Array(entries);
  const mean = new Float64Array(entries);
  const next = offsets.slice(0, nNeurons);
  let prev = -1;
  for (let r = 0; r < n; r++) {
    const j = rows.globalNeuron[r]! - firstNeuron;
    if (j < prev) throw new InputError(`top words head: row ${r} (neuron ${rows.globalNeuron[r]}) comes after neuron ${firstNeuron + prev}: rows must be in neuron order`);
    prev = j;
    if (rows.rank[r]! >= max) continue;
    const e = next[j]!++;
    token[e] = rows.token[r]!;
    score[e] = rows.score[r]!;
    count[e] = rows.count[r]!;
    mean[e] = rows.mean[r]!;
  }
  return { firstNeuron, nNeurons, offsets, token, score, count, mean };
}

const encoder = new TextEncoder();

export function encodeTopWordsHead(h: TopWordsHead): Uint8Array {
  const entries = h.token.length;
  // one UTF-8 encoding of all the tokens end to end, cut by UTF-16 lengths:
  // a Map of distinct tokens and an encoding per token took 10 times as long
  const lengths = new Uint32Array(entries);
  for (let e = 0; e < entries; e++) lengths[e] = h.token[e]!.length;
  const utf8 = encoder.encode(h.token.join(''));
  const header = 4 + 4 + 4 * 4;
  const at = Math.ceil(header / 8) * 8;
  const w = new LayoutWriter(at + 24 * entries + 4 * (h.nNeurons + 1) + 4 * entries + utf8.length, MAGIC, VERSION);
  for (const v of [h.firstNeuron, h.nNeurons, entries, utf8.length]) w.u32(v);
  w.pad(8);
  w.section(h.score);
  w.section(h.count);
  w.section(h.mean);
  w.section(h.offsets);
  w.section(lengths);
  w.section(utf8);
  return w.finish();
}

export function decodeTopWordsHead(bytes: Uint8Array, what = 'top words head'): TopWordsHead {
  const r = new LayoutReader(bytes, what, MAGIC, VERSION);
  const firstNeuron = r.u32('firstNeuron');
  const nNeurons = r.u32('nNeurons');
  const entries = r.u32('entries');
  const tokenBytes = r.u32('token bytes');
  r.pad(8);
  const score = r.f64(entries, 'score');
  const count = r.f64(entries, 'count');
  const mean = r.f64(entries, 'mean');
  const offsets = r.u32s(nNeurons + 1, 'offsets');
  const lengths = r.u32s(entries, 'token lengths');
  const utf8 = r.u8(tokenBytes, 'tokens');
  r.end();
  if (offsets[0] !== 0 || offsets[nNeurons] !== entries) throw new InputError(`${what}: offsets run from ${offsets[0]} to ${offsets[nNeurons]}, expected 0 to ${entries}`);
  for (let j = 0; j < nNeurons; j++) {
    if (offsets[j + 1]! < offsets[j]!) throw new InputError(`${what}: offsets decrease at neuron ${firstNeuron + j}`);
  }
  let joined: string;
  try {
    joined = new TextDecoder('utf-8', { fatal: true }).decode(utf8);
  } catch {
    throw new InputError(`${what}: the tokens are not UTF-8`);
  }
  const token = new Array<string>(entries);
  let p = 0;
  for (let e = 0; e < entries; e++) {
    const end = p + lengths[e]!;
    if (end > joined.length) throw new InputError(`${what}: token ${e} ends at ${end}, past the tokens' ${joined.length} UTF-16 code units`);
    token[e] = joined.slice(p, end);
    p = end;
  }
  if (p !== joined.length) throw new InputError(`${what}: the tokens take ${p} of ${joined.length} UTF-16 code units`);
  return { firstNeuron, nNeurons, offsets, token, score, count, mean };
}
