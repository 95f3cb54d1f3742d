/**
 * Ad-hoc renders (NeuroX's TransformersVisualizer as a service): given
 * sentences and neurons of a finished run, extract the sentences with the
 * run's model and extraction options, and render each neuron's activations on
 * the run's colour scale for that neuron (so the SVGs compare with the run's
 * top-sentence renders). The SVGs go to `runs/<run>/adhoc/<request>/`, where
 * `<request>` hashes the request: the same request writes the same keys.
 * A `request.json` beside them lists the sentences, neurons and keys.
 */
import { sha256Hex } from '../../pipelines/keys.ts';
import { InputError } from '../../pipelines/errors.ts';
import { canonicalJson } from '../../pipelines/plan.ts';
import { renderKeys, renderPaths } from '../../pipelines/renderKeys.ts';
import { globalNeuronIn, parseNeuronRef } from '../../pipelines/renderSelection.ts';
import { TopSentences } from '../../pipelines/topSentences.ts';
import type { RenderTextJob, RenderTextResult } from '../../schemas/render.ts';
import { sentenceSvg } from '../render/neuronSvgs.ts';
import type { StageContext } from './context.ts';
import { readManifest } from './manifest.ts';
import { readPartial, SVG_CONTENT_TYPE } from './render.ts';

export async function runRenderText(ctx: StageContext, job: RenderTextJob): Promise<RenderTextResult> {
  const store = ctx.store(job.output);
  const { plan } = await readManifest(store, job.runId);
  const dModel = plan.model.dModel;
  const neurons = job.neurons.map((ref) => {
    const { layer, neuron } = parseNeuronRef(ref);
    try {
      return { layer, neuron, g: globalNeuronIn(plan.layers, dModel, layer, neuron) };
    } catch (err) {
      if (err instanceof InputError) throw new InputError(`render-text: run '${plan.runId}': ${err.message}`);
      throw err;
    }
  });
  const request = sha256Hex(canonicalJson({ v: 1, sentences: job.sentences, neurons: job.neurons, textDirection: job.textDirection })).slice(0, 16);
  const rk = renderKeys(plan.runId);

  // each neuron's corpus-wide scale, from its block's top sentences (pass 1)
  const scales = new Map<number, number>();
  for (const b of new Set(neurons.map((n) => Math.floor(n.g / plan.options.blockNeurons)))) {
    const block = plan.blocks[b]!;
    const key = rk.topSentencesBlock(b);
    const top = (await store.head(key)) ? await readPartial(store, key, TopSentences.decode) : null;
    for (const n of neurons) {
      if (n.g < block.start || n.g >= block.end) continue;
      const j = n.g - block.start;
      scales.set(n.g, top ? Math.max(Math.abs(top.max[j]!), Math.abs(top.min[j]!)) : 0);
    }
  }

  const model = await ctx.model(plan.model.spec);
  if (model.info.id !== plan.model.id) {
    throw new InputError(`render-text: model '${plan.model.spec}' is now ${model.info.id}; run ${plan.runId} was analysed with ${plan.model.id}`);
  }
  const { aggregation, includeSpecialTokens, ignoreEmbeddings, batchSize } = plan.extract;
  const files: RenderTextResult['files'] = [];
  let i = 0;
  for await (const s of model.extract(job.sentences, { aggregation, includeSpecialTokens, ignoreEmbeddings, layers: plan.layers, batchSize })) {
    for (const n of neurons) {
      const li = Math.floor(n.g / dModel);
      const values = new Float32Array(s.nTokens);
      for (let t = 0; t < s.nTokens; t++) values[t] = s.data[(li * s.nTokens + t) * dModel + n.neuron]!;
      const svg = sentenceSvg(n.layer, n.neuron, { tokens: s.tokens, values }, scales.get(n.g) ?? 0, { textDirection: job.textDirection });
      const key = rk.of(renderPaths.adhoc(request, n.layer, n.neuron, i));
      await store.put(key, svg, { contentType: SVG_CONTENT_TYPE });
      files.push({ sentence: i, layer: n.layer, neuron: n.neuron, key });
    }
    i++;
    ctx.progress?.(i / job.sentences.length);
  }
  if (i !== job.sentences.length) throw new InputError(`render-text: the model returned ${i} sentences for ${job.sentences.length}`);
  const prefix = rk.of(renderPaths.adhocPrefix(request));
  const result: RenderTextResult = { version: 1, runId: plan.runId, output: job.output, request, prefix, files };
  await store.put(`${prefix}request.json`, `${JSON.stringify({ sentences: job.sentences, neurons: job.neurons, textDirection: job.textDirection, files }, null, 1)}\n`, {
    contentType: 'application/json',
  });
  ctx.log(`run ${plan.runId}: rendered ${files.length} ad-hoc SVGs at ${store.location}${prefix}`);
  return result;
}
