import { describe, expect, it } from 'vitest';
import {
  decodeGroup,
  decodeShard,
  decodeShardHeader,
  decodeTokens,
  encodeShard,
  encodeShardChunks,
  GROUP_ALIGN,
  SHARD_PREAMBLE_BYTES,
  groupNeurons,
  groupRange,
  readShardHeader,
  tokensRange,
  VISIT_SCRATCH_BYTES_PER_NEURON,
  type ShardInput,
} from '../pipelines/shard.ts';
import { TopSentences } from '../pipelines/topSentences.ts';
import { inPlace, passMemory } from '../pipelines/wasmKernels.ts';
import { ReusableMemory } from '../pipelines/bytes.ts';
import { decodeHalf, encodeHalf, roundToHalf, toHalfBits } from '../pipelines/float16.ts';
import { InputError } from '../pipelines/errors.ts';
import type { SentenceActivations } from '../pipelines/matrix.ts';
import { hasPython, runPython } from './helpers/python.ts';

/** Deterministic pseudo-random values (xorshift), so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) / 0xffffffff) * 8 - 4;
  };
}

function sentence(tokens: string[], nLayers: number, dModel: number, next: () => number): SentenceActivations {
  const data = new Float32Array(nLayers * tokens.length * dModel);
  for (let i = 0; i < data.length; i++) data[i] = next();
  return { tokens, data, nLayers, nTokens: tokens.length, dModel };
}

function sample(dtype: 'float32' | 'float16', groupWidth: number): ShardInput {
  const next = rng(7);
  const nLayers = 3;
  const dModel = 10;
  const sentences = [
    sentence(['the', 'cat', 'sat', '.'], nLayers, dModel, next),
    sentence([], nLayers, dModel, next),
    sentence(['The', 'cat', 'naïve', '日本', 'the'], nLayers, dModel, next),
  ];
  return { sentences, layers: [0, 1, 2], dModel, dtype, groupWidth };
}

describe('shard codec', () => {
  it('round-trips float32 activations exactly, with groups that straddle layers', () => {
    const input = sample('float32', 7); // 30 neurons in groups of 7: 5 groups, boundaries inside layers
    const bytes = encodeShard(input);
    const { header, sentences } = decodeShard(bytes, 'k');
    expect(header.sections.groups.length).toBe(5);
    expect(sentences.map((s) => s.tokens)).toEqual(input.sentences.map((s) => s.tokens));
    sentences.forEach((s, i) => expect(Array.from(s.data)).toEqual(Array.from(input.sentences[i]!.data)));
  });

  it('interns token types in first-occurrence order, by exact string', () => {
    const input = sample('float32', 30);
    const bytes = encodeShard(input);
    const h = decodeShardHeader(bytes, 'k');
    const [a, b] = tokensRange(h);
    const tokens = decodeTokens(h, bytes.subarray(a, b), 'k');
    expect(tokens.types).toEqual(['the', 'cat', 'sat', '.', 'The', 'naïve', '日本']);
    expect(Array.from(tokens.typeIds)).toEqual([0, 1, 2, 3, 4, 1, 5, 6, 0]);
    expect(Array.from(tokens.sentenceTokens)).toEqual([4, 0, 5]);
  });

  it('decodes one neuron group from its own byte range alone', async () => {
    const input = sample('float32', 8);
    const bytes = encodeShard(input);
    const reads: Array<[number, number]> = [];
    const read = async (s: number, e: number) => {
      reads.push([s, e]);
      return bytes.slice(s, e);
    };
    const h = await readShardHeader(read, 'k', bytes.length);
    const [ga, gb] = groupRange(h, 2);
    const m = decodeGroup(h, 2, await read(ga, gb), 'k');
    const { start, end } = groupNeurons(h.nNeurons, h.groupWidth, 2); // neurons 16..23: layer 1 n6..9, layer 2 n0..3
    expect([start, end]).toEqual([16, 24]);
    expect([m.rows, m.cols]).toEqual([9, 8]);
    // token 4 of the shard is sentence 2's token 0 (sentence 1 is empty); neuron 16 is layer 1, neuron 6
    const s2 = input.sentences[2]!;
    expect(m.data[4 * 8 + 0]).toBe(s2.data[(1 * s2.nTokens + 0) * 10 + 6]);
    expect(m.data[4 * 8 + 7]).toBe(s2.data[(2 * s2.nTokens + 0) * 10 + 3]);
    // preamble, header, group: nothing else was read
    expect(reads.length).toBe(3);
    expect(reads[2]).toEqual([ga, gb]);
  });

  it('stores float16 as numpy rounds it, at half the size', () => {
    const input = sample('float16', 7);
    const bytes16 = encodeShard(input);
    const bytes32 = encodeShard({ ...input, dtype: 'float32' });
    const { sentences } = decodeShard(bytes16, 'k');
    input.sentences.forEach((s, i) => {
      const rounded = Float32Array.from(s.data);
      roundToHalf(rounded);
      expect(Array.from(sentences[i]!.data)).toEqual(Array.from(rounded));
    });
    const h16 = decodeShardHeader(bytes16, 'k');
    const h32 = decodeShardHeader(bytes32, 'k');
    const g16 = h16.sections.groups.reduce((a, g) => a + g[1], 0);
    const g32 = h32.sections.groups.reduce((a, g) => a + g[1], 0);
    expect(g16 * 2).toBe(g32);
  });

  it('fails a corrupted shard with an InputError naming its key', () => {
    const bytes = encodeShard(sample('float32', 7));
    const key = 'cache/m/o/s/activations.nxs';
    const h = decodeShardHeader(bytes, key);
    // a flipped bit inside a group's values
    const flipped = bytes.slice();
    const [ga] = groupRange(h, 3);
    flipped[ga + 5] = flipped[ga + 5]! ^ 0x10;
    expect(() => decodeShard(flipped, key)).toThrow(InputError);
    expect(() => decodeShard(flipped, key)).toThrow(`${key}: corrupt shard: group 3 fails its CRC-32 check`);
    // truncated object
    expect(() => decodeShard(bytes.subarray(0, bytes.length - 9), key)).toThrow(`${key}: corrupt shard: object is ${bytes.length - 9} bytes, header says ${bytes.length}`);
    // not a shard at all
    expect(() => decodeShard(new TextEncoder().encode('hello world, this is not a shard'), key)).toThrow(`${key}: not an activation shard (bad magic)`);
    // a damaged header
    const badHeader = bytes.slice();
    badHeader[20] = 0x7b;
    expect(() => decodeShard(badHeader, key)).toThrow(InputError);
  });

  it('refuses sentences whose tokens and activation rows disagree, naming the sentence', () => {
    const input = sample('float32', 7);
    const s = input.sentences[2]!;
    const bad = { ...input, sentences: [input.sentences[0]!, { ...s, tokens: s.tokens.slice(1) }] };
    expect(() => encodeShard(bad)).toThrow('shard: sentence 1: 4 tokens but 5 activation rows');
  });

  it('starts every group on a 4096-byte boundary (direct I/O reads it into place), and still reads shards whose groups are only 8-byte aligned', () => {
    for (const dtype of ['float32', 'float16'] as const) {
      const input = sample(dtype, 7);
      const bytes = encodeShard(input);
      const { header } = decodeShard(bytes, 'k');
      for (const [offset] of header.sections.groups) expect(offset % GROUP_ALIGN).toBe(0);
      // the same shard laid out as before the alignment: groups packed at 8-byte offsets, the header rewritten
      const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
      const tokensEnd = header.sections.typeBytes[0] + header.sections.typeBytes[1];
      let at = Math.ceil(tokensEnd / 8) * 8;
      const packed = header.sections.groups.map(([o, n, crc]) => {
        const s: [number, number, number] = [at, n, crc];
        at = Math.ceil((at + n) / 8) * 8;
        return { s, body: bytes.subarray(o, o + n) };
      });
      expect(packed.some(({ s }) => s[0] % GROUP_ALIGN !== 0)).toBe(true);
      const old = { ...header, sections: { ...header.sections, groups: packed.map((p) => p.s) }, byteLength: at };
      const json = new TextEncoder().encode(JSON.stringify(old));
      expect(json.length).toBeLessThanOrEqual(headerLength);
      const oldBytes = new Uint8Array(at);
      oldBytes.set(bytes.subarray(0, SHARD_PREAMBLE_BYTES));
      oldBytes.fill(0x20, SHARD_PREAMBLE_BYTES, SHARD_PREAMBLE_BYTES + headerLength);
      oldBytes.set(json, SHARD_PREAMBLE_BYTES);
      oldBytes.set(bytes.subarray(SHARD_PREAMBLE_BYTES + headerLength, tokensEnd), SHARD_PREAMBLE_BYTES + headerLength);
      for (const { s, body } of packed) oldBytes.set(body, s[0]);
      expect(oldBytes.length).toBeLessThan(bytes.length);
      const a = decodeShard(bytes, 'k').sentences;
      const b = decodeShard(oldBytes, 'k').sentences;
      expect(b.map((x) => Array.from(x.data))).toEqual(a.map((x) => Array.from(x.data)));
    }
  });

  it('encodes into reused memory the same bytes and visitor values, shard after shard', () => {
    const bytesOf = (chunks: readonly Uint8Array[], n: number): Uint8Array => {
      const out = new Uint8Array(n);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      return out;
    };
    const seen = (input: ShardInput, memory?: ReusableMemory): { bytes: Uint8Array; visited: number[][] } => {
      const visited: number[][] = [];
      const e = encodeShardChunks(input, (_g, values) => visited.push(Array.from(values.data)), memory);
      return { bytes: bytesOf(e.chunks, e.byteLength), visited };
    };
    const memory = new ReusableMemory();
    const small = sample('float32', 7);
    const large: ShardInput = { ...small, sentences: [...small.sentences, ...small.sentences, sentence(['x', 'y'], 3, 10, rng(9))] };
    // float16 after float32 reuses the same buffer with the float32 scratch behind the halves
    for (const input of [large, small, { ...large, dtype: 'float16' as const }, { ...small, dtype: 'float16' as const, groupWidth: 30 }, large]) {
      expect(seen(input, memory)).toEqual(seen(input));
    }
  });

  it("lets a visitor's kernel read each group where it lies in the pass memory: the same top sentences as from a copy", () => {
    const memory = passMemory();
    expect(memory).not.toBeNull(); // Node 20 has WebAssembly SIMD
    const lent = new ReusableMemory((bytes) => memory!.buffer(bytes));
    const next = rng(11);
    // 400 rows in 40 sentences
    const sentences = Array.from({ length: 40 }, (_, i) => sentence(Array.from({ length: 10 }, (_, t) => `w${(i * 10 + t) % 37}`), 2, 12, next));
    const sentenceTokens = sentences.map((s) => s.nTokens);
    for (const dtype of ['float32', 'float16'] as const) {
      const input: ShardInput = { sentences, layers: [0, 1], dModel: 12, dtype, groupWidth: 10 }; // groups of 10, 10 and 4
      const visit = (here: boolean, into?: ReusableMemory): { stats: Uint8Array[]; inPlaceGroups: number } => {
        const stats: Uint8Array[] = [];
        let inPlaceGroups = 0;
        encodeShardChunks(input, (_g, values, first) => {
          if (inPlace(values.data, VISIT_SCRATCH_BYTES_PER_NEURON * values.cols)) inPlaceGroups++;
          const top = new TopSentences(values.cols, 3, first);
          top.addRows(values, sentenceTokens, 0, here);
          stats.push(top.encode());
        }, into);
        return { stats, inPlaceGroups };
      };
      const copied = visit(false);
      const read = visit(true, lent);
      expect(copied.inPlaceGroups).toBe(0);
      expect(read.inPlaceGroups).toBe(3);
      expect(read.stats).toEqual(copied.stats);
    }
  });

  it('streams the same bytes as it encodes in one buffer', () => {
    const input = sample('float16', 4);
    const { chunks, byteLength } = encodeShardChunks(input);
    const whole = encodeShard(input);
    const joined = new Uint8Array(byteLength);
    let at = 0;
    for (const c of chunks) {
      joined.set(c, at);
      at += c.length;
    }
    expect(at).toBe(whole.length);
    expect(joined).toEqual(whole);
  });
});

describe('float16', () => {
  const specials = [0, -0, 1, -1, 65504, 65519.99, 65520, 1e-8, 2.98e-8, 5.96e-8, 6.1e-5, 6.097e-5, 0.1, 1 / 3, 2049, 2051, 1e6, -1e6, Infinity, -Infinity];

  it('round-trips every half value', () => {
    const bits = new Uint16Array(65536);
    for (let i = 0; i < bits.length; i++) bits[i] = i;
    const f = new Float32Array(65536);
    decodeHalf(bits, f);
    const back = new Uint16Array(65536);
    encodeHalf(f, back);
    const wrong: number[] = [];
    for (let i = 0; i < 65536; i++) {
      const isNaN = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
      if (!isNaN && back[i] !== i) wrong.push(i);
    }
    expect(wrong).toEqual([]);
  });

  it.skipIf(!hasPython)('rounds like numpy astype(float16), ties to even', () => {
    const next = rng(11);
    const values = [...specials];
    for (let i = 0; i < 2000; i++) values.push(next() * 10 ** Math.floor(next() * 2));
    const f32 = Float32Array.from(values);
    // pass float32 bit patterns, so that -0 and infinities survive JSON
    const out = runPython(
      'import sys, json, numpy as np\n' +
        'v = np.array(json.loads(sys.argv[1]), dtype=np.uint32).view(np.float32)\n' +
        'with np.errstate(over="ignore"): h = v.astype(np.float16)\n' +
        'print(json.dumps(h.view(np.uint16).tolist()))',
      [JSON.stringify(Array.from(new Uint32Array(f32.buffer)))],
    );
    const expected = JSON.parse(out) as number[];
    const got = Array.from(f32, (x) => toHalfBits(x));
    expect(got).toEqual(expected);
  });
});
