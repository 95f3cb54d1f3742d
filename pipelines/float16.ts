/**
 * IEEE 754 half precision for the activation cache (Node 20 has no
 * Float16Array). Rounding is to nearest, ties to even, as numpy's
 * `astype(np.float16)`; overflow gives +-Infinity, NaN stays NaN.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> float16 bits. */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  // rebias: float32 bias 127, float16 bias 15
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    mant |= 0x800000; // implicit leading 1
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1) === 1)) m += 1;
    return sign | m; // m may carry into the exponent field, which is the right answer
  }
  const rest = mant & 0x1fff;
  let m = mant >>> 13;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1) === 1)) {
    m += 1;
    if (m === 0x400) {
      m = 0;
      e += 1;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** All 65,536 half values as float32: decoding is one table lookup per value. */
const HALF_TABLE: Float32Array = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = halfToFloat(h);
  return t;
})();

/** Writes `src` as float16 bits into `dst` (same length). */
export function encodeHalf(src: Float32Array, dst: Uint16Array): void {
  if (dst.length !== src.length) throw new RangeError(`encodeHalf: ${src.length} values into ${dst.length} slots`);
  for (let i = 0; i < src.length; i++) dst[i] = toHalfBits(src[i]!);
}

/** float16 bits -> float32 values (same length). */
export function decodeHalf(src: Uint16Array, dst: Float32Array): void {
  if (dst.length !== src.length) throw new RangeError(`decodeHalf: ${src.length} values into ${dst.length} slots`);
  for (let i = 0; i < src.length; i++) dst[i] = HALF_TABLE[src[i]!]!;
}

/** Rounds every value to the nearest float16 (in place), so that statistics see what the cache stores. */
export function roundToHalf(values: Float32Array): void {
  for (let i = 0; i < values.length; i++) values[i] = HALF_TABLE[toHalfBits(values[i]!)]!;
}
