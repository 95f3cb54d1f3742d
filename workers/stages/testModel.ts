/**
 * A deterministic stand-in model for the queue mechanics tests (retries,
 * kills, restarts), where a real model's load time and nondeterminism-free
 * but slow inference would only add noise. Never used for fidelity checks.
 *
 * Spec: `test-hash:<nLayers>x<dModel>[:delay=<ms per sentence>][:max=<words>]`.
 * A word's vector at each layer is a hash of (word, layer, neuron, position
 * parity): repeated words get similar but not identical values, so top
 * words are meaningful and ties are rare.
 */
import { InputError } from '../../pipelines/errors.ts';
import { checkExtractOptions, selectLayers } from '../../pipelines/extractOptions.ts';
import type { ExtractedSentence, ExtractOptions, Extractor, ModelInfo } from '../../pipelines/ports.ts';

export const TEST_MODEL_PREFIX = 'test-hash:';

function hash32(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h ^= h >>> 12;
  return h >>> 0;
}

export interface TestModelSpec {
  readonly nLayers: number;
  readonly dModel: number;
  readonly delayMs: number;
  readonly maxWords: number;
}

export function parseTestModelSpec(spec: string): TestModelSpec {
  const m = /^test-hash:(\d+)x(\d+)((?::[a-z]+=\d+)*)$/.exec(spec);
  if (!m) throw new InputError(`model '${spec}' is not a test model spec (test-hash:<layers>x<dModel>[:delay=ms][:max=words])`);
  const opts = new Map((m[3] ?? '').split(':').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
  for (const k of opts.keys()) if (k !== 'delay' && k !== 'max') throw new InputError(`model '${spec}': unknown option '${k}'`);
  const nLayers = Number(m[1]);
  const dModel = Number(m[2]);
  if (nLayers < 1 || dModel < 1) throw new InputError(`model '${spec}': layers and dModel must be positive`);
  return { nLayers, dModel, delayMs: Number(opts.get('delay') ?? 0), maxWords: Number(opts.get('max') ?? 64) };
}

export class TestModel implements Extractor {
  readonly info: ModelInfo;

  constructor(readonly spec: TestModelSpec) {
    this.info = { id: `test-hash@1:${spec.nLayers}x${spec.dModel}:max=${spec.maxWords}`, nLayers: spec.nLayers, dModel: spec.dModel, maxLength: spec.maxWords };
  }

  async *extract(sentences: AsyncIterable<string> | Iterable<string>, options: ExtractOptions): AsyncIterable<ExtractedSentence> {
    const { dModel } = this.spec;
    checkExtractOptions(options);
    const layers = selectLayers(this.spec.nLayers, options);
    let index = 0;
    for await (const sentence of sentences) {
      if (this.spec.delayMs > 0) await new Promise((r) => setTimeout(r, this.spec.delayMs));
      const words = sentence.split(' ');
      const nTokens = Math.min(words.length, this.spec.maxWords);
      const data = new Float32Array(layers.length * nTokens * dModel);
      layers.forEach((layer, li) => {
        for (let t = 0; t < nTokens; t++) {
          const w = words[t]!;
          for (let n = 0; n < dModel; n++) {
            const base = hash32(w, layer * 65_537 + n) / 0xffffffff;
            const jitter = hash32(`${w}#${t & 1}`, layer * 65_537 + n + 7) / 0xffffffff;
            data[(li * nTokens + t) * dModel + n] = (base * 4 - 2) + 0.25 * (jitter - 0.5);
          }
        }
      });
      yield { index, tokens: words.slice(0, nTokens), data, nLayers: layers.length, nTokens, dModel, truncatedWords: words.length - nTokens, emptyWords: [] };
      index++;
    }
  }

  async close(): Promise<void> {}
}
