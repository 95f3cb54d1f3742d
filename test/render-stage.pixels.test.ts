/**
 * What a reader of the stored renders sees: every top-sentence SVG a run
 * wrote, rasterised by resvg, has each token's background in its sign's
 * colour at the opacity of its activation on the neuron's one scale
 * (1 - (1 - |a| / max|a|)^2, darken 2), for a left-to-right corpus and a
 * right-to-left (Hebrew) one, whose tokens are laid out from the right edge.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../pipelines/ports.ts';
import { renderKeys, renderPaths } from '../pipelines/renderKeys.ts';
import { topSentencesTable } from '../schemas/parquet.ts';
import { readTable } from '../workers/parquet.ts';
import { runEmbedded } from '../workers/runner/embedded.ts';
import { openStore } from '../workers/store/index.ts';
import { activationsOf, readOutputs } from './pipelineHelpers.ts';
import { colourDistance, overWhite, rasterize } from './helpers/raster.ts';

const NEG = '#d35f5f';
const POS = '#00aad4';
const FS = 20;
const CW = FS * 0.601;
const CH = FS * 1.25;
const K = 3;

const LTR = ['the cat sat on the mat', 'a dog ran', 'red is a colour', 'the sun is hot today', 'cats like the sun', 'a big old dog sleeps'];
const RTL = ['שלום עולם', 'החתול ישב על השטיח', 'כלב אדום רץ', 'השמש חמה היום', 'ספר טוב', 'ילד קטן קורא ספר'];

interface Checked {
  svgs: number;
  tokens: number;
  /** Tokens whose pixel is off by more than 2 levels in a channel. */
  wrong: string[];
}

/** Runs an analysis rendering every neuron, then samples every token of every stored sentence SVG. */
async function renderAndSample(sentences: readonly string[], dir: 'ltr' | 'rtl'): Promise<Checked> {
  const root = mkdtempSync(join(tmpdir(), `neurox-pixels-${dir}-`));
  writeFileSync(join(root, 'corpus.txt'), `${sentences.join('\n')}\n`);
  const result = await runEmbedded({
    version: 1, corpus: join(root, 'corpus.txt'), model: 'test-hash:2x4', output: join(root, 'out'),
    options: { shardSentences: 4, blockNeurons: 4, topSentences: K, render: 'all', textDirection: dir },
  });
  const store: ObjectStore = openStore(result.output);
  const out = await readOutputs(store, result.runId);
  const { plan } = out.manifest;
  const { tokens, activations } = await activationsOf(store, out.manifest);
  const top = await readTable(topSentencesTable, await store.get(result.topSentences));
  const rk = renderKeys(result.runId);
  let svgs = 0;
  let checked = 0;
  const wrong: string[] = [];
  for (let r = 0; r < top.globalNeuron.length; r++) {
    const g = top.globalNeuron[r]!;
    const s = top.sentenceIndex[r]!;
    const layer = plan.layers[Math.floor(g / plan.model.dModel)]!;
    const neuron = g % plan.model.dModel;
    const svg = Buffer.from(await store.get(rk.of(renderPaths.sentence(layer, neuron, top.rank[r]!)))).toString();
    const raster = rasterize(svg);
    const widthCells = Number(/width="([\d.]+)"/.exec(svg)![1]) / CW;
    const scale = Math.max(Math.abs(out.stats.min[g]!), Math.abs(out.stats.max[g]!));
    const words = tokens[s]!;
    const m = activations[s]!;
    let col = 0;
    words.forEach((w, t) => {
      const a = m.data[t * m.cols + g]!;
      const cells = [...w].length;
      const [c0, c1] = dir === 'ltr' ? [col, col + cells] : [Math.round(widthCells) - col - cells, Math.round(widthCells) - col];
      const got = raster.rgb(((c0 + c1) / 2) * CW, 7 + CH * 0.5);
      const want = overWhite(a > 0 ? POS : NEG, 1 - (1 - Math.abs(a) / scale) ** 2);
      if (colourDistance(got, want) > 2) wrong.push(`neuron ${layer}:${neuron} sentence ${s} token ${t} '${w}' (a=${a}): got rgb(${got.join(',')}), want rgb(${want.join(',')})`);
      col += cells + 1;
      checked++;
    });
    svgs++;
  }
  return { svgs, tokens: checked, wrong };
}

describe('stored renders, rasterised with resvg', () => {
  let ltr: Checked;
  let rtl: Checked;
  beforeAll(async () => {
    ltr = await renderAndSample(LTR, 'ltr');
    rtl = await renderAndSample(RTL, 'rtl');
  }, 120_000);

  it('paint each token of a left-to-right sentence in its colour at its opacity on the neuron\'s scale', () => {
    expect(ltr.svgs).toBe(2 * 4 * K);
    expect(ltr.tokens).toBeGreaterThan(ltr.svgs * 2);
    expect(ltr.wrong).toEqual([]);
  });

  it('paint each token of a right-to-left sentence under its own glyphs, from the right edge', () => {
    expect(rtl.svgs).toBe(2 * 4 * K);
    expect(rtl.tokens).toBeGreaterThan(rtl.svgs * 2);
    expect(rtl.wrong).toEqual([]);
  });
});
