/**
 * IEEE 754 half precision <-> float32, bit-exact with numpy's
 * `astype(np.float16)` (round to nearest, ties to even; overflow to
 * infinity; subnormals kept). Node 20 has no Float16Array, and NeuroX writes
 * float16 activations when asked (`--dtype float16`).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Half-precision bits of the float32 nearest to `x`, rounded half to even. */
export function halfBitsOf(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    // NaN: keep the top payload bits, never turn it into infinity (as numpy does)
    const payload = mant >>> 13;
    return sign | 0x7c00 | (payload === 0 ? 1 : payload);
  }
  // float32 subnormals and zero are far below half's smallest subnormal (2^-24)
  if (exp === 0) return sign;
  const sig = mant | 0x800000; // 24 significant bits, value = sig * 2^(exp - 150)
  // half keeps 11 significant bits for normals (exp >= 113), fewer below
  const shift = exp >= 113 ? 13 : 126 - exp;
  if (shift > 24) return sign; // below half of the smallest subnormal
  const half = 1 << (shift - 1);
  let q = sig >>> shift;
  const rem = sig & ((1 << shift) - 1);
  if (rem > half || (rem === half && (q & 1) === 1)) q++;
  if (exp < 113) return sign | q; // subnormal (a carry into 0x400 is the smallest normal)
  const e = exp - 112; // biased half exponent
  if (e >= 31) return sign | 0x7c00;
  // a rounding carry (q = 0x800) moves into the exponent field, up to infinity
  return sign | Math.min((e << 10) + (q - 0x400), 0x7c00);
}

/** float32 value of every half-precision bit pattern: `HALF_TO_FLOAT[bits]`. */
const HALF_TO_FLOAT: Float32Array = (() => {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) table[h] = sign * m * 2 ** -24;
    else if (e === 31) table[h] = m === 0 ? sign * Infinity : NaN;
    else table[h] = sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return table;
})();

export function floatOfHalfBits(bits: number): number {
  return HALF_TO_FLOAT[bits & 0xffff]!;
}

/** float32 values -> half-precision bit patterns (same length). */
export function toHalf(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = halfBitsOf(values[i]!);
  return out;
}

/** Half-precision bit patterns -> float32 values (same length). */
export function fromHalf(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = HALF_TO_FLOAT[bits[i]!]!;
  return out;
}

/** Rounds float32 values to the nearest half-precision value, in place. */
export function roundToHalf(values: Float32Array): Float32Array {
  for (let i = 0; i < values.length; i++) values[i] = HALF_TO_FLOAT[halfBitsOf(values[i]!)]!;
  return values;
}
