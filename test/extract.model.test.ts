/**
 * Model loading: the graph surgery that exposes every hidden state, its
 * cache, and what happens with models and options that are wrong.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, ValueInfoProtoSchema } from 'onnx-buf';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, NotFoundError } from '../pipelines/errors.ts';
import type { ExtractedSentence, ExtractOptions } from '../pipelines/ports.ts';
import { loadExtractor, loadOnnxExtractor } from '../workers/models/index.ts';
import { addHiddenStateOutputs } from '../workers/models/onnx/hiddenStates.ts';
import { HiddenStatesSession } from '../workers/models/onnx/session.ts';
import { maxLengthOf } from '../workers/models/onnx/tokenizer.ts';
import { loadReference, maxAbsDiff, MODEL_NAMES, modelDir } from './fixtures/models/reference.ts';

const scratch = mkdtempSync(join(tmpdir(), 'neurox-model-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const OPTIONS: ExtractOptions = { aggregation: 'last', includeSpecialTokens: false, ignoreEmbeddings: false, batchSize: 4 };

async function collect(it: AsyncIterable<ExtractedSentence>): Promise<ExtractedSentence[]> {
  const out: ExtractedSentence[] = [];
  for await (const s of it) out.push(s);
  return out;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('hidden states added as graph outputs', () => {
  it.each(MODEL_NAMES)("%s: every layer's piece-level hidden states equal PyTorch's output_hidden_states (1e-5)", async (name) => {
    const ref = loadReference(name);
    const { session } = await HiddenStatesSession.open(join(modelDir(name), 'onnx', 'model.onnx'), { cacheDir: join(scratch, 'cache'), threads: 1 });
    try {
      const layers = [...Array(session.nLayers).keys()];
      const withStates = ref.sentences.filter((s) => s.hiddenStates);
      expect(withStates.length).toBeGreaterThan(0);
      for (const s of withStates) {
        const ids = s.inputIds;
        const out = await session.run({ inputIds: BigInt64Array.from(ids, BigInt), attentionMask: new BigInt64Array(ids.length).fill(1n), batch: 1, seqLen: ids.length }, layers);
        const expected = ref.values(s.hiddenStates!);
        const got = new Float32Array(expected.length);
        out.layers.forEach((l, i) => got.set(l, i * l.length));
        expect(maxAbsDiff(got, expected)).toBeLessThan(1e-5);
      }
    } finally {
      await session.close();
    }
  });

  it("edits a copy cached under the model file's hash and never touches the user's file", async () => {
    const model = join(modelDir('distilbert'), 'onnx', 'model.onnx');
    const before = sha(model);
    const cacheDir = join(scratch, 'cache-once');
    const first = await HiddenStatesSession.open(model, { cacheDir });
    await first.session.close();
    const [cached] = readdirSync(cacheDir);
    expect(cached).toMatch(new RegExp(`^${before}\\.hidden-states-v\\d+\\.onnx$`));
    const made = statSync(join(cacheDir, cached as string)).mtimeMs;
    const second = await HiddenStatesSession.open(model, { cacheDir });
    await second.session.close();
    expect(statSync(join(cacheDir, cached as string)).mtimeMs).toBe(made);
    expect(readdirSync(cacheDir)).toHaveLength(1);
    expect(sha(model)).toBe(before);
  });

  it('a model whose layers cannot be found gets an error saying what was looked for', () => {
    const tensor = (name: string) => create(ValueInfoProtoSchema, { name });
    const graph = create(GraphProtoSchema, {
      input: [tensor('input_ids')],
      output: [tensor('last_hidden_state')],
      node: [create(NodeProtoSchema, { name: '/encoder/Identity', opType: 'Identity', input: ['input_ids'], output: ['last_hidden_state'] })],
    });
    const bytes = toBinary(ModelProtoSchema, create(ModelProtoSchema, { graph }));
    expect(() => addHiddenStateOutputs(bytes, 'flat.onnx')).toThrow(InputError);
    expect(() => addHiddenStateOutputs(bytes, 'flat.onnx')).toThrow(/flat\.onnx: cannot find the transformer layers: looked for .*'\/encoder\/layer\.N\/'.*'\/h\.N\/'/);
    expect(() => addHiddenStateOutputs(new TextEncoder().encode('not a model'), 'junk.onnx')).toThrow(/junk\.onnx is not an ONNX model/);
  });
});

describe('bad models and options', () => {
  it('a folder without onnx/model.onnx: the error names the missing file', async () => {
    const dir = join(scratch, 'no-onnx');
    cpSync(modelDir('distilbert'), dir, { recursive: true });
    rmSync(join(dir, 'onnx'), { recursive: true });
    const err = await loadOnnxExtractor(dir, { cacheDir: join(scratch, 'cache') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toBe(`model file not found: ${join(dir, 'onnx', 'model.onnx')}`);
  });

  it('a folder without tokenizer.json: the error names it', async () => {
    const dir = join(scratch, 'no-tokenizer');
    cpSync(modelDir('distilbert'), dir, { recursive: true });
    rmSync(join(dir, 'tokenizer.json'));
    await expect(loadExtractor(dir, { cacheDir: join(scratch, 'cache') })).rejects.toThrow(`model file not found: ${join(dir, 'tokenizer.json')}`);
  });

  it('a path that does not exist is not mistaken for a hub id', async () => {
    await expect(loadExtractor('./no/such/model')).rejects.toThrow(/model folder not found: .*no\/such\/model/);
  });

  it('a hub id that cannot be fetched (no network here, or no such repository) fails naming it', async () => {
    await expect(loadExtractor('neurox-test/no-such-model', { cacheDir: join(scratch, 'hub-cache', 'onnx') })).rejects.toThrow(/cannot load 'neurox-test\/no-such-model' from the Hugging Face hub/);
  });

  it('layer options are checked against the model, naming the bad value', async () => {
    const ex = await loadOnnxExtractor(modelDir('distilbert'), { cacheDir: join(scratch, 'cache'), threads: 1 });
    try {
      await expect(collect(ex.extract(['a b'], { ...OPTIONS, layers: [0, 3] }))).rejects.toThrow('layer 3 is out of range [0, 2] (0 = embedding output)');
      await expect(collect(ex.extract(['a b'], { ...OPTIONS, layers: [1, 1] }))).rejects.toThrow('layer 1 is listed twice');
      await expect(collect(ex.extract(['a b'], { ...OPTIONS, layers: [0, 1], ignoreEmbeddings: true }))).rejects.toThrow('layers lists 0 (the embedding output) but ignoreEmbeddings drops it');
      const [picked] = await collect(ex.extract(['a b'], { ...OPTIONS, layers: [2, 1], ignoreEmbeddings: true }));
      const [all] = await collect(ex.extract(['a b'], OPTIONS));
      const layerOf = (s: ExtractedSentence, l: number): Float32Array => s.data.subarray(l * s.nTokens * s.dModel, (l + 1) * s.nTokens * s.dModel);
      expect(picked!.nLayers).toBe(2);
      expect(Array.from(layerOf(picked!, 0))).toEqual(Array.from(layerOf(all!, 2)));
      expect(Array.from(layerOf(picked!, 1))).toEqual(Array.from(layerOf(all!, 1)));
      await expect(collect(ex.extract(['a b'], { ...OPTIONS, batchSize: 0 }))).rejects.toThrow(InputError);
    } finally {
      await ex.close();
    }
  });
});

describe('maximum length', () => {
  it("is capped by the model's position table: a tokenizer without model_max_length would let NeuroX crash the model", () => {
    // transformers writes model_max_length = 1e30 when a tokenizer has none; Python then never truncates
    expect(maxLengthOf(1e30, { model_type: 'bert', max_position_embeddings: 512 }, 'm')).toBe(512);
    expect(maxLengthOf(128, { model_type: 'bert', max_position_embeddings: 512 }, 'm')).toBe(128);
    // RoBERTa numbers positions from pad_token_id + 1
    expect(maxLengthOf(undefined, { model_type: 'roberta', max_position_embeddings: 514, pad_token_id: 1 }, 'm')).toBe(512);
    expect(maxLengthOf(undefined, { model_type: 'gpt2', n_positions: 1024 }, 'm')).toBe(1024);
    expect(() => maxLengthOf(undefined, {}, 'm')).toThrow(/no maximum length/);
  });
});

describe('one tokenizer cache per model (NeuroX shares one across models: a defect)', () => {
  it('two models in one process each align words with their own tokenizer', async () => {
    // NeuroX caches piece counts per word in one dict shared by every model: after BERT has seen "dog",
    // RoBERTa reuses BERT's count for it and fails an assertion or mis-slices the pieces.
    const bert = await loadOnnxExtractor(modelDir('bert'), { cacheDir: join(scratch, 'cache'), threads: 1 });
    const roberta = await loadOnnxExtractor(modelDir('roberta'), { cacheDir: join(scratch, 'cache'), threads: 1 });
    try {
      const refs = { bert: loadReference('bert'), roberta: loadReference('roberta') };
      const text = refs.bert.sentences[0]?.text as string;
      expect(refs.roberta.sentences[0]?.pieceCounts).not.toEqual(refs.bert.sentences[0]?.pieceCounts);
      for (const [name, ex] of [['bert', bert], ['roberta', roberta], ['bert', bert]] as const) {
        const [got] = await collect(ex.extract([text], OPTIONS));
        const c = refs[name].sentences[0]?.cases['last:words'];
        expect(maxAbsDiff((got as ExtractedSentence).data, refs[name].values(c!)), name).toBeLessThan(1e-4);
      }
      expect(bert.tokenizer.wordPieces(text.split(' ')).map((p) => p.length)).toEqual(refs.bert.sentences[0]?.pieceCounts);
      expect(roberta.tokenizer.wordPieces(text.split(' ')).map((p) => p.length)).toEqual(refs.roberta.sentences[0]?.pieceCounts);
    } finally {
      await bert.close();
      await roberta.close();
    }
  });
});
