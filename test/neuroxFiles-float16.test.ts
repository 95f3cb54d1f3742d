import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { floatOfHalfBits, fromHalf, halfBitsOf, toHalf } from '../workers/neuroxFiles/float16.ts';
import { hasPython, runPython } from './helpers/python.ts';

describe('float16 as NeuroX writes it (numpy astype(float16))', () => {
  it('rounds to nearest, ties to even, overflows to infinity, keeps subnormals and signs', () => {
    const cases: Array<[number, number]> = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff],
      [65519.99, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [2 ** -25 * 1.0001, 0x0001], [3 * 2 ** -25, 0x0002],
      [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [0.1, 0x2e66],
    ];
    for (const [x, bits] of cases) expect([x, halfBitsOf(x)]).toEqual([x, bits]);
    expect(halfBitsOf(NaN) & 0x7c00).toBe(0x7c00);
    expect(Number.isNaN(floatOfHalfBits(halfBitsOf(NaN)))).toBe(true);
    expect(Object.is(floatOfHalfBits(0x8000), -0)).toBe(true);
  });

  it('every half value survives half -> float32 -> half', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = toHalf(fromHalf(all));
    for (let i = 0; i < 65536; i++) {
      const isNan = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
      if (!isNan && back[i] !== i) throw new Error(`half 0x${i.toString(16)} came back as 0x${back[i]!.toString(16)}`);
    }
  });

  it.skipIf(!hasPython)('matches numpy bit for bit on 200,000 float32 values around every half exponent', async () => {
    // random bit patterns concentrated on the exponents where half rounds, overflows or goes subnormal
    let seed = 12345;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const bits = new Uint32Array(200_000);
    for (let i = 0; i < bits.length; i++) {
      const exp = 95 + (rand() % 60); // float32 exponents 95..154 span half's whole range
      bits[i] = ((rand() & 1) << 31) | (exp << 23) | (rand() & 0x7fffff);
      if (i % 7 === 0) bits[i] = (bits[i]! & 0xffffe000) | 0x1000; // exact ties at the half mantissa
    }
    const dir = await mkdtemp(join(tmpdir(), 'float16-'));
    await writeFile(join(dir, 'in.bin'), new Uint8Array(bits.buffer));
    runPython(`
import numpy as np, sys
x = np.fromfile(sys.argv[1] + "/in.bin", dtype=np.float32)
x.astype(np.float16).view(np.uint16).tofile(sys.argv[1] + "/out.bin")
`, [dir]);
    const want = new Uint16Array((await import('node:fs')).readFileSync(join(dir, 'out.bin')).buffer.slice(0));
    const got = toHalf(new Float32Array(bits.buffer));
    let mismatches = 0;
    for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) mismatches++;
    expect(mismatches).toBe(0);
  });
});
