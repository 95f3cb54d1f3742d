import { describe, expect, it } from 'vitest';
import { InputError } from '../pipelines/errors.ts';
import { renderKeys } from '../pipelines/renderKeys.ts';
import { decodeTopWordsHead, encodeTopWordsHead, topWordsHead } from '../pipelines/topWordsHead.ts';
import { blockTopWords } from '../workers/stages/render.ts';
import { MemoryStore } from '../workers/store/memory.ts';

// a block of neurons 10..13: 10 has three ranked rows, 11 none, 12 one, 13 two
const rows = {
  globalNeuron: Int32Array.of(10, 10, 10, 12, 13, 13),
  rank: Int32Array.of(0, 1, 2, 0, 0, 1),
  token: ['the', '日本', '👍🏽', 'e\u0301', 'the', '</script>'],
  score: Float64Array.of(1, 0.5, 0.25, 1, 1, 0.1 + 0.2),
  count: Float64Array.of(3, 2, 1, 7, 4, 1),
  mean: Float64Array.of(-0.5, 1e-300, 2.5, -0, 3, Number.MAX_VALUE),
};

describe('top words head (pass 2 -> renders and index)', () => {
  it('keeps each neuron\'s rows below the cut, in rank order, and round-trips them bit for bit', () => {
    const head = topWordsHead(rows, 10, 4, 2);
    expect([...head.offsets]).toEqual([0, 2, 2, 3, 5]);
    expect(head.token).toEqual(['the', '日本', 'e\u0301', 'the', '</script>']);
    const back = decodeTopWordsHead(encodeTopWordsHead(head));
    expect(back.firstNeuron).toBe(10);
    expect(back.nNeurons).toBe(4);
    expect([...back.offsets]).toEqual([...head.offsets]);
    expect(back.token).toEqual(head.token);
    for (const f of ['score', 'count', 'mean'] as const) expect([...back[f]]).toEqual([...head[f]]);
    expect(Object.is(back.mean[2], -0)).toBe(true);
  });

  it('refuses rows outside the block or out of neuron order, naming the row', () => {
    expect(() => topWordsHead(rows, 11, 4)).toThrow('row 0 is neuron 10, outside [11, 15)');
    expect(() => topWordsHead({ ...rows, globalNeuron: Int32Array.of(10, 12, 10, 12, 13, 13) }, 10, 4)).toThrow('row 2 (neuron 10) comes after neuron 12');
  });

  it('names what is wrong with a damaged partial', () => {
    const bytes = encodeTopWordsHead(topWordsHead(rows, 10, 4));
    const what = 'file:///x/top-words-head/b0001.bin';
    expect(() => decodeTopWordsHead(bytes.subarray(0, bytes.length - 3), what)).toThrow(`${what}: truncated`);
    const magic = bytes.slice();
    magic[0] = 0x41;
    expect(() => decodeTopWordsHead(magic, what)).toThrow(InputError);
    expect(() => decodeTopWordsHead(magic, what)).toThrow('bad magic');
    // offsets[1] (neuron 10's end) past offsets[2]: header 24 bytes, then 3 x 6 f64
    const offsets = bytes.slice();
    new DataView(offsets.buffer).setUint32(24 + 3 * 6 * 8 + 4, 9, true);
    expect(() => decodeTopWordsHead(offsets, what)).toThrow(`${what}: offsets decrease at neuron 11`);
    // the first token's first byte made invalid UTF-8
    const text = new TextEncoder().encode(rows.token.join(''));
    const at = bytes.length - text.length;
    expect([...bytes.subarray(at)]).toEqual([...text]);
    const utf8 = bytes.slice();
    utf8[at] = 0xff;
    expect(() => decodeTopWordsHead(utf8, what)).toThrow(`${what}: the tokens are not UTF-8`);
    // the first token's length one too long: the lengths no longer add up to the text
    const lengths = bytes.slice();
    new DataView(lengths.buffer).setUint32(24 + 3 * 6 * 8 + 4 * 5, 4, true);
    expect(() => decodeTopWordsHead(lengths, what)).toThrow(`${what}: token 5 ends at`);
    expect(() => decodeTopWordsHead(new Uint8Array([...bytes, 0]), what)).toThrow('1 unexpected trailing bytes');
  });

  it('is read back by neuron for the plots and the index, and refused at another block\'s key', async () => {
    const store = new MemoryStore('head');
    const key = renderKeys('r-1').topWordsHead(1);
    await store.put(key, encodeTopWordsHead(topWordsHead(rows, 10, 4)));
    const words = await blockTopWords(store, 'r-1', { index: 1, start: 10, end: 14 }, 2);
    expect([...words.keys()]).toEqual([10, 12, 13]);
    expect(words.get(10)).toEqual([{ token: 'the', score: 1, count: 3, mean: -0.5 }, { token: '日本', score: 0.5, count: 2, mean: 1e-300 }]);
    // the same bytes where the plan puts neurons 8..16 (a misplaced or stale partial)
    await expect(blockTopWords(store, 'r-1', { index: 1, start: 8, end: 16 })).rejects.toThrow(`memory://head/${key}: part of neurons [10, 14), block 1 is [8, 16)`);
    await expect(blockTopWords(store, 'r-1', { index: 1, start: 10, end: 14 }, 21)).rejects.toThrow('21 per neuron asked, pass 2 keeps 20');
  });
});
