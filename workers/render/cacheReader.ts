/**
 * Reads what a render needs from the activation cache: for one neuron block,
 * the words and the block's activations of given sentences. Per shard that
 * holds any of them: the header, the token sections and the block's group
 * (ranged GETs), never the other groups.
 */
import { InputError } from '../../pipelines/errors.ts';
import type { Matrix } from '../../pipelines/matrix.ts';
import type { PlannedBlock, PlannedShard } from '../../pipelines/plan.ts';
import type { ObjectStore } from '../../pipelines/ports.ts';
import { decodeGroup, decodeTokens, groupNeurons, groupRange, readShardHeader, tokensRange, type ShardTokens } from '../../pipelines/shard.ts';

/** One sentence's words and the block's activations, `[nTokens x (block.end - block.start)]`. */
export interface BlockSentence {
  readonly sentenceIndex: number;
  readonly tokens: readonly string[];
  readonly values: Matrix;
}

/** The shard that holds global sentence `s` (shards are in corpus order). */
export function shardOfSentence(shards: readonly PlannedShard[], s: number): PlannedShard {
  let lo = 0;
  let hi = shards.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const sh = shards[mid]!;
    if (s < sh.firstSentence) hi = mid - 1;
    else if (s >= sh.firstSentence + sh.nSentences) lo = mid + 1;
    else return sh;
  }
  const last = shards.at(-1);
  throw new InputError(`sentence ${s} is out of range [0, ${last ? last.firstSentence + last.nSentences - 1 : -1}]`);
}

/** The words of every sentence of a shard's token sections. */
function sentenceRows(tokens: ShardTokens): Int32Array {
  const starts = new Int32Array(tokens.sentenceTokens.length + 1);
  for (let i = 0; i < tokens.sentenceTokens.length; i++) starts[i + 1] = starts[i]! + tokens.sentenceTokens[i]!;
  return starts;
}

/**
 * The given sentences (global indices, any order, duplicates allowed) with
 * their words and the block's activations, keyed by sentence index.
 */
export async function readBlockSentences(store: ObjectStore, shards: readonly PlannedShard[], block: PlannedBlock, sentences: Iterable<number>): Promise<Map<number, BlockSentence>> {
  const byShard = new Map<PlannedShard, Set<number>>();
  for (const s of sentences) {
    const sh = shardOfSentence(shards, s);
    let set = byShard.get(sh);
    if (!set) byShard.set(sh, (set = new Set()));
    set.add(s);
  }
  const out = new Map<number, BlockSentence>();
  for (const [sh, wanted] of byShard) {
    const key = sh.cache.activations;
    const what = `${store.location}${key}`;
    const header = await readShardHeader((a, b) => store.getRange(key, a, b), what);
    if (header.nSentences !== sh.nSentences) throw new InputError(`${what}: ${header.nSentences} sentences, shard ${sh.index} has ${sh.nSentences}`);
    const g = groupNeurons(header.nNeurons, header.groupWidth, block.index);
    if (g.start !== block.start || g.end !== block.end) {
      throw new InputError(`${what}: group ${block.index} holds neurons [${g.start}, ${g.end}), block ${block.index} is [${block.start}, ${block.end})`);
    }
    const [ta, tb] = tokensRange(header);
    const tokens = decodeTokens(header, await store.getRange(key, ta, tb), what);
    const [ga, gb] = groupRange(header, block.index);
    const group = decodeGroup(header, block.index, await store.getRange(key, ga, gb), what);
    const rows = sentenceRows(tokens);
    for (const s of wanted) {
      const local = s - sh.firstSentence;
      const r0 = rows[local]!;
      const r1 = rows[local + 1]!;
      const width = group.cols;
      out.set(s, {
        sentenceIndex: s,
        tokens: Array.from(tokens.typeIds.subarray(r0, r1), (id) => tokens.types[id]!),
        values: { data: group.data.subarray(r0 * width, r1 * width), rows: r1 - r0, cols: width },
      });
    }
  }
  return out;
}

/** Column `j` of a `[rows x cols]` matrix. */
export function column(m: Matrix, j: number): Float32Array {
  const out = new Float32Array(m.rows);
  for (let r = 0; r < m.rows; r++) out[r] = m.data[r * m.cols + j]!;
  return out;
}
