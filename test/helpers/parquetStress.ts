/** A top_sentences table that exercises every path of the column encoder (workers/parquetEncode.ts), for our reader and for pyarrow and duckdb. */
import type { TopSentencesInput } from '../../schemas/parquet.ts';

export const STRESS_INT64 = [-(2 ** 40) - 3, 2 ** 53 - 1, 2 ** 32, 2 ** 32 + 1, -1, 0, 4_294_967_295, -(2 ** 31)];
export const STRESS_DOUBLES = [NaN, -0, 0, Infinity, -Infinity, 5e-324, -1.5];

export function stressTopSentences(n = 3_000): TopSentencesInput & { layer: Int32Array; neuron: Int32Array; globalNeuron: Int32Array; rank: Int32Array; sentenceIndex: Float64Array; maxActivation: Float64Array; tokenIndex: Int32Array } {
  return {
    layer: Int32Array.from({ length: n }, (_, i) => Math.floor(i / 700)), // long runs
    neuron: Int32Array.from({ length: n }, (_, i) => (i * 37) % 300), // no runs, 9-bit indices
    globalNeuron: Int32Array.from({ length: n }, (_, i) => (i * 104_729) % 200_000), // spans more than 65,536: PLAIN
    rank: Int32Array.from({ length: n }, (_, i) => (i % 23 < 11 ? 4 : i % 7)), // runs of 11 at every offset
    sentenceIndex: Float64Array.from({ length: n }, (_, i) => STRESS_INT64[i % STRESS_INT64.length]! - (i % 3)),
    maxActivation: Float64Array.from({ length: n }, (_, i) => (i % 5 === 0 ? STRESS_DOUBLES[(i / 5) % STRESS_DOUBLES.length]! : Math.sin(i))),
    tokenIndex: Int32Array.from({ length: n }, (_, i) => i % 2),
  };
}
