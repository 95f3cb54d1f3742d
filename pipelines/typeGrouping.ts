/**
 * Pass 2's grouping of a corpus' tokens by type, computed once per run and
 * reused by every neuron block: it depends on the tokens only, not on the
 * activations, and every block reads the same shards.
 *
 * The corpus' types are numbered in global first-occurrence order (shard,
 * then token offset within the shard): type g is row g of the reducer's
 * tables. The shards are cut into consecutive segments of at most
 * `segmentBytes` of one block's float32 rows (one shard at least), and a
 * segment's rows are grouped by type (counting sort, stable: each type's
 * rows in corpus order). The pass-2 kernel then sums each type of a segment
 * in one go and writes its row once, where summing shard by shard read and
 * wrote a type's table row once per shard it occurs in: on the MiniLM bench
 * (8 shards of 3,600 types, 11,700 types in all) three times the table
 * traffic, a sixth of pass 2's CPU time (BENCHMARKS.md, 2026-11-29 night).
 *
 * A type's sums over a segment add in its rows' corpus order (the kernel's
 * order, four rows at a time); across segments, in segment order. The
 * segments depend on the shards' token counts, the block width and
 * `segmentBytes` only, so every run of a plan (embedded, distributed,
 * retried) adds in the same order and writes the same bytes.
 */
import { InputError } from './errors.ts';

/**
 * Pass 2's segment budget: one block's float32 rows of at most this many
 * bytes are summed at once. Each lane holds one segment besides its tables;
 * the MiniLM bench's whole corpus (38k tokens x 256 neurons, 39 MB) is one
 * segment. Part of the arithmetic's order (the module doc): changing it
 * changes the last bits of the sums.
 */
export const SEGMENT_BYTES = 48 << 20;

/** One shard's token section, as pass 2 reads it (pipelines/shard.ts ShardTokens). */
export interface ShardTypes {
  /** The shard's index in the plan (orders first occurrences). */
  readonly shard: number;
  /** `[nTypes]` the shard's distinct tokens. */
  readonly types: readonly string[];
  /** `[nTokens]` index into `types` of each token, in order. */
  readonly typeIds: ArrayLike<number>;
}

/** Consecutive shards whose rows one kernel call sums. */
export interface TypeSegment {
  /** Positions in the grouping's shard list: `[first, end)`. */
  readonly first: number;
  readonly end: number;
  /** Rows (tokens) of the segment. */
  readonly rows: number;
  /** `[end - first]` row of the segment where each shard's rows start. */
  readonly rowStart: readonly number[];
  /** Types occurring in the segment. */
  readonly nTypes: number;
  /** `[nTypes + 1]` the segment's type t has rows `order[start[t]..start[t + 1])`. */
  readonly start: Int32Array;
  /** `[rows]` the segment's rows grouped by type, each type's in row order. */
  readonly order: Int32Array;
  /**
   * `[nTypes]` (g << 1) | isNew: the table row g of the segment's type t, and
   * 1 where the type first occurs in this segment (its sums are copied into
   * the row, not added).
   */
  readonly rowOf: Int32Array;
}

export interface CorpusGrouping {
  /** The shards' plan indices, in the order given. */
  readonly shards: readonly number[];
  /** `[nTypes]` the corpus' types in first-occurrence order. */
  readonly tokens: readonly string[];
  /** `[nTypes]` shard (plan index) and token offset of each type's first occurrence. */
  readonly firstShard: Int32Array;
  readonly firstOffset: Float64Array;
  /** `[nTypes]` occurrences. */
  readonly count: Float64Array;
  readonly segments: readonly TypeSegment[];
  /** The block width and byte budget the segments were cut for. */
  readonly blockNeurons: number;
  readonly segmentBytes: number;
  /** Most rows and types of any segment (what a reducer's scratch must hold). */
  readonly maxRows: number;
  readonly maxSegmentTypes: number;
}

/**
 * Groups `shards` (in plan order, each once) for blocks of at most
 * `blockNeurons` neurons, in segments of at most `segmentBytes` bytes of
 * float32 rows.
 */
export function groupCorpusTypes(shards: readonly ShardTypes[], blockNeurons: number, segmentBytes: number): CorpusGrouping {
  if (!Number.isInteger(blockNeurons) || blockNeurons < 1) throw new InputError(`type grouping: bad block width ${blockNeurons}`);
  if (!(segmentBytes > 0)) throw new InputError(`type grouping: bad segment size ${segmentBytes} bytes`);
  const ids = new Map<string, number>();
  const tokens: string[] = [];
  const firstShard: number[] = [];
  const firstOffset: number[] = [];
  let count = new Float64Array(1024);
  let rowsTotal = 0;
  for (const s of shards) rowsTotal += s.typeIds.length;
  // each row's global type, over the whole corpus
  const global = new Int32Array(rowsTotal);
  const shardRow: number[] = [];
  let row = 0;
  let previous = -1;
  for (const s of shards) {
    if (!Number.isInteger(s.shard) || s.shard <= previous) throw new InputError(`type grouping: shard ${s.shard} after shard ${previous}: shards must ascend`);
    previous = s.shard;
    shardRow.push(row);
    const local = new Int32Array(s.types.length).fill(-1);
    const { typeIds } = s;
    for (let i = 0; i < typeIds.length; i++) {
      const t = typeIds[i]!;
      if (!(t < s.types.length)) throw new InputError(`type grouping: shard ${s.shard}, token ${i} has type ${t} of ${s.types.length}`);
      let g = local[t]!;
      if (g < 0) {
        const token = s.types[t]!;
        g = ids.get(token) ?? -1;
        if (g < 0) {
          g = tokens.length;
          ids.set(token, g);
          tokens.push(token);
          firstShard.push(s.shard);
          firstOffset.push(i);
          if (g >= count.length) {
            const grown = new Float64Array(count.length * 2);
            grown.set(count);
            count = grown;
          }
        }
        local[t] = g;
      }
      count[g]!++;
      global[row++] = g;
    }
  }
  shardRow.push(row);

  const segments: TypeSegment[] = [];
  // the segment where each type was last seen (+1; 0: never), and its local id there
  const seenIn = new Int32Array(tokens.length);
  const localOf = new Int32Array(tokens.length);
  let maxRows = 0;
  let maxSegmentTypes = 0;
  for (const [first, end] of cutSegments(shards.map((s) => s.typeIds.length), blockNeurons, segmentBytes)) {
    const a = shardRow[first]!;
    const rows = shardRow[end]! - a;
    const mark = segments.length + 1;
    // the segment's types in first-occurrence order, and their counts
    const rowOfList: number[] = [];
    const counts: number[] = [];
    for (let r = 0; r < rows; r++) {
      const g = global[a + r]!;
      if (seenIn[g] !== mark) {
        const isNew = seenIn[g] === 0 ? 1 : 0;
        seenIn[g] = mark;
        localOf[g] = rowOfList.length;
        rowOfList.push((g << 1) | isNew);
        counts.push(0);
      }
      counts[localOf[g]!]!++;
    }
    const nTypes = rowOfList.length;
    const start = new Int32Array(nTypes + 1);
    for (let t = 0; t < nTypes; t++) start[t + 1] = start[t]! + counts[t]!;
    const next = start.slice(0, nTypes);
    const order = new Int32Array(rows);
    for (let r = 0; r < rows; r++) order[next[localOf[global[a + r]!]!]!++] = r;
    segments.push({
      first,
      end,
      rows,
      rowStart: shardRow.slice(first, end).map((x) => x - a),
      nTypes,
      start,
      order,
      rowOf: Int32Array.from(rowOfList),
    });
    maxRows = Math.max(maxRows, rows);
    maxSegmentTypes = Math.max(maxSegmentTypes, nTypes);
  }
  if (tokens.length > 0x3fffffff) throw new InputError(`type grouping: ${tokens.length} types is more than a table row index holds`);
  return {
    shards: shards.map((s) => s.shard),
    tokens,
    firstShard: Int32Array.from(firstShard),
    firstOffset: Float64Array.from(firstOffset),
    count: count.slice(0, tokens.length),
    segments,
    blockNeurons,
    segmentBytes,
    maxRows,
    maxSegmentTypes,
  };
}

/**
 * The segments `[first, end)` of shards of `rows` rows each: consecutive
 * shards while their float32 rows of `blockNeurons` neurons fit in
 * `segmentBytes`, one shard at least.
 */
export function cutSegments(rows: readonly number[], blockNeurons: number, segmentBytes: number): Array<readonly [number, number]> {
  const out: Array<readonly [number, number]> = [];
  const rowBytes = 4 * blockNeurons;
  for (let first = 0; first < rows.length;) {
    let end = first + 1;
    let total = rows[first]!;
    while (end < rows.length && (total + rows[end]!) * rowBytes <= segmentBytes) total += rows[end++]!;
    out.push([first, end]);
    first = end;
  }
  return out;
}
