import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtmlIndex } from '../pipelines/htmlIndex.ts';
import { buildRunIndex, runIndexFiles, type NeuronInput } from '../pipelines/runIndex.ts';
import { Browser, hasChromium, type Page } from './helpers/chromium.ts';

const dModel = 150;
const run = { runId: 'run-a', model: 'tiny-bert', nLayers: 2, dModel, createdAt: '2026-01-01T00:00:00Z', sentences: 30, tokens: 300 };
const INJECTED = '<img src=x id=injected>';

function neurons(): NeuronInput[] {
  const out: NeuronInput[] = [];
  for (let layer = 0; layer < 2; layer++) {
    for (let n = 0; n < dModel; n++) {
      out.push({
        layer,
        neuron: n,
        // variance decreasing with n except a peak at 77, so "by variance" differs from "by index"
        stats: { count: 300, mean: 0.1, variance: n === 77 ? 100 : 1 / (n + 1), std: 1, min: -2, max: 3 },
        topWords: n === 2 ? [{ token: 'Cat', score: 1, count: 3, mean: 0.7 }, { token: INJECTED, score: 0.5, count: 1, mean: -0.2 }] : [{ token: `w${n}`, score: 1, count: 1, mean: 0 }],
        topSentences: [0, 1, 2].map((r) => ({ sentenceIndex: r * 7 + n % 7, maxActivation: 3 - r, tokenIndex: r, text: `sentence ${r}` })),
        rendered: layer === 1 && (n === 2 || n === 3),
      });
    }
  }
  return out;
}

const svg = (label: string): string =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="30"><rect width="120" height="30" fill="#00aad4"/><text x="4" y="20">${label}</text></svg>`;

let site = '';
beforeAll(() => {
  site = mkdtempSync(join(tmpdir(), 'neurox-html-'));
  const idx = buildRunIndex(run, neurons());
  const write = (path: string, body: string | Uint8Array): void => {
    mkdirSync(dirname(join(site, path)), { recursive: true });
    writeFileSync(join(site, path), body);
  };
  for (const f of runIndexFiles(idx)) write(f.path, f.body);
  write('index.html', renderHtmlIndex(idx.summary));
  for (const n of [2, 3]) {
    for (const r of [0, 1, 2]) write(`renders/1/${n}/${r}.svg`, svg(`1:${n} #${r}`));
    write(`renders/1/${n}/histogram.svg`, svg('hist'));
    write(`renders/1/${n}/top-words.svg`, svg('words'));
  }
  write('renders/0/variance.svg', svg('var0'));
  write('renders/1/variance.svg', svg('var1'));
  unlinkSync(join(site, 'renders/1/3/1.svg')); // one missing render
});
afterAll(() => rmSync(site, { recursive: true, force: true }));

describe('HTML index page, structure', () => {
  it('is one self-contained file: no external scripts, styles, fonts or absolute paths', () => {
    const html = renderHtmlIndex(buildRunIndex(run, neurons()).summary);
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:|\/)/i);
    expect(html).not.toMatch(/@import|url\(|<link\b|<script[^>]*\bsrc=/i);
    expect(html).not.toContain(INJECTED);
    const json = /<script type="application\/json" id="neurox-summary">(.*?)<\/script>/s.exec(html)?.[1];
    expect(JSON.parse(json!).runId).toBe('run-a');
  });
});

describe.skipIf(!hasChromium)('HTML index page in headless Chromium, opened from a local folder (file://)', () => {
  let browser: Browser;
  let page: Page;
  const url = (hash: string): string => `${pathToFileURL(join(site, 'index.html')).href}#${hash}`;
  // the view on screen is the one for the current hash (a hash navigation
  // updates location.hash before the page's hashchange handler runs)
  const ready = "document.body.dataset.view === location.hash && (document.body.dataset.state === 'ready' || document.body.dataset.state === 'error')";
  /** Opens the page at `#hash` and waits for its view (`lands`: the hash it redirects to). */
  async function open(hash: string, lands = hash): Promise<void> {
    await page.goto('about:blank');
    await page.goto(url(hash));
    await page.waitFor(`location.hash === ${JSON.stringify(lands ? `#${lands}` : '')} && (${ready})`);
  }
  const imgsSettled = "[...document.images].every((i) => i.complete) && document.querySelectorAll('[data-missing]').length + document.images.length > 0";

  beforeAll(async () => {
    browser = await Browser.launch();
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows a neuron\'s stats, top words, plots and its top-sentence SVGs, loaded from disk', async () => {
    await open('neuron=1:2');
    await page.waitFor(imgsSettled);
    const view = await page.evaluate<{ h2: string; stats: string; words: string[]; imgs: Array<[string, number]>; missing: number }>(`({
      h2: document.querySelector('h2').textContent,
      stats: document.getElementById('stats').textContent,
      words: [...document.querySelectorAll('#top-words a')].map((a) => a.textContent),
      imgs: [...document.images].map((i) => [i.getAttribute('src'), i.naturalWidth]),
      missing: document.querySelectorAll('[data-missing]').length,
    })`);
    expect(view.h2).toBe('Neuron 1:2');
    expect(view.stats).toContain('global neuron152');
    expect(view.words).toEqual(['Cat', INJECTED]);
    expect(view.imgs).toEqual([
      ['renders/1/2/histogram.svg', 120], ['renders/1/2/top-words.svg', 120],
      ['renders/1/2/0.svg', 120], ['renders/1/2/1.svg', 120], ['renders/1/2/2.svg', 120],
    ]);
    expect(view.missing).toBe(0);
    // the token with markup is text, not an element
    expect(await page.evaluate<boolean>("document.getElementById('injected') === null")).toBe(true);
  });

  it('marks a render that is missing from the folder instead of showing a broken image', async () => {
    await open('neuron=1:3');
    await page.waitFor(imgsSettled);
    expect(await page.evaluate<string[]>("[...document.querySelectorAll('[data-missing]')].map((e) => e.dataset.missing)")).toEqual(['renders/1/3/1.svg']);
    await open('neuron=1:4');
    expect(await page.evaluate<number>("document.querySelectorAll('.sentences .missing').length")).toBe(3);
    expect(await page.evaluate<string>("document.querySelector('.sentences .missing').textContent")).toBe('not rendered');
  });

  it('loads only the data of the layers visited, and the word index only when a word is searched', async () => {
    await open('neuron=1:2');
    const scripts = "[...document.querySelectorAll('script[src]')].map((s) => s.getAttribute('src'))";
    expect(await page.evaluate<string[]>(scripts)).toEqual(['index/layer-1.js']);
    await page.evaluate("document.getElementById('q').value = 'cat'; document.getElementById('search').requestSubmit()");
    await page.waitFor(`location.hash === '#word=cat' && (${ready})`);
    expect(await page.evaluate<string[]>(scripts)).toEqual(['index/layer-1.js', 'index/words.js']);
  });

  it('finds a neuron by layer:neuron or global index from the search box', async () => {
    await open('');
    for (const [q, want] of [['1:7', 'Neuron 1:7'], ['0 12', 'Neuron 0:12'], ['g151', 'Neuron 1:1']] as const) {
      await page.evaluate(`document.getElementById('q').value = ${JSON.stringify(q)}; document.getElementById('search').requestSubmit()`);
      await page.waitFor(`document.querySelector('h2') && document.querySelector('h2').textContent === ${JSON.stringify(want)} && (${ready})`);
    }
  });

  it('finds the neurons that have a word among their top words, case-insensitively, from a #q= link', async () => {
    await open('q=cat', 'word=cat');
    const hits = await page.evaluate<string[][]>("[...document.querySelectorAll('#word-hits tr')].slice(1).map((r) => [...r.cells].map((c) => c.textContent))");
    expect(hits).toEqual([['0:2', 'Cat', '0', '1'], ['1:2', 'Cat', '0', '1']]);
    await open(`word=${encodeURIComponent(INJECTED)}`);
    expect(await page.evaluate<number>("document.querySelectorAll('#word-hits tr').length")).toBe(3);
    expect(await page.evaluate<boolean>("document.getElementById('injected') === null")).toBe(true);
  });

  it('lists a layer\'s neurons by variance, one page of 100 at a time, with its variance plot', async () => {
    await open('layer=1');
    await page.waitFor(imgsSettled);
    const first = await page.evaluate<string[]>("[...document.querySelectorAll('#neurons tr td:first-child')].map((c) => c.textContent)");
    expect(first).toHaveLength(100);
    expect(first.slice(0, 3)).toEqual(['1:77', '1:0', '1:1']);
    expect(await page.evaluate<number>("document.images[0].naturalWidth")).toBe(120);
    await open('layer=1&page=1');
    const second = await page.evaluate<string[]>("[...document.querySelectorAll('#neurons tr td:first-child')].map((c) => c.textContent)");
    expect(second).toHaveLength(50);
    expect(second.at(-1)).toBe('1:149');
  });

  it('names an unknown neuron or layer instead of showing an empty page', async () => {
    await open('neuron=1:150');
    expect(await page.evaluate<string>("document.querySelector('.error').textContent")).toBe('neuron 150 is out of range [0, 149]');
    await open('layer=2');
    expect(await page.evaluate<string>("document.querySelector('.error').textContent")).toBe('layer 2 is not in this run (layers 0-1)');
    await open('neuron=x');
    expect(await page.evaluate<string>("document.querySelector('.error').textContent")).toContain('is not LAYER:NEURON');
  });

  it('names neurons by model layer when the run keeps a subset of layers', async () => {
    const sub = join(site, 'subset');
    const idx = buildRunIndex({ ...run, nLayers: 2, layers: [3, 5], dModel: 2 }, [3, 5].flatMap((layer) => [0, 1].map((neuron) => ({
      layer, neuron, stats: { count: 1, mean: 0, variance: 1, std: 1, min: 0, max: 1 },
      topWords: [{ token: 'x', score: 1, count: 1, mean: 1 }], topSentences: [], rendered: false,
    }))));
    for (const f of runIndexFiles(idx)) {
      mkdirSync(dirname(join(sub, f.path)), { recursive: true });
      writeFileSync(join(sub, f.path), f.body);
    }
    writeFileSync(join(sub, 'index.html'), renderHtmlIndex(idx.summary));
    const subUrl = (hash: string): string => `${pathToFileURL(join(sub, 'index.html')).href}#${hash}`;
    await page.goto('about:blank');
    await page.goto(subUrl('q=g3'));
    await page.waitFor(`location.hash === '#neuron=5:1' && (${ready})`);
    expect(await page.evaluate<string>("document.querySelector('h2').textContent")).toBe('Neuron 5:1');
    await page.goto(subUrl('word=x'));
    await page.waitFor(`location.hash === '#word=x' && (${ready})`);
    expect(await page.evaluate<string[]>("[...document.querySelectorAll('#word-hits td:first-child')].map((c) => c.textContent)")).toEqual(['3:0', '3:1', '5:0', '5:1']);
    await page.goto(subUrl('layer=4'));
    await page.waitFor(`location.hash === '#layer=4' && (${ready})`);
    expect(await page.evaluate<string>("document.querySelector('.error').textContent")).toBe('layer 4 is not in this run (layers 3, 5)');
  });

  it('drops a view that finishes loading after the reader moved on', async () => {
    const slow = join(site, 'slow');
    const idx = buildRunIndex({ ...run, nLayers: 1, layers: [0], dModel: 2 }, [0, 1].map((neuron) => ({
      layer: 0, neuron, stats: { count: 1, mean: 0, variance: 1, std: 1, min: 0, max: 1 },
      topWords: [{ token: 'x', score: 1, count: 1, mean: 1 }], topSentences: [], rendered: false,
    })));
    for (const f of runIndexFiles(idx)) {
      mkdirSync(dirname(join(slow, f.path)), { recursive: true });
      // the word index arrives 400 ms after its script loads, as a big words.js would
      const body = f.path === idx.summary.words.script ? `setTimeout(function () { ${new TextDecoder().decode(f.body)} }, 400);\n` : f.body;
      writeFileSync(join(slow, f.path), body);
    }
    writeFileSync(join(slow, 'index.html'), renderHtmlIndex(idx.summary));
    const at = (hash: string): string => `${pathToFileURL(join(slow, 'index.html')).href}#${hash}`;
    await page.goto('about:blank');
    await page.goto(at('word=x'));
    // the word view is waiting for its index when the reader moves on
    await page.waitFor(`location.hash === '#word=x' && document.body.dataset.state === 'loading' && document.querySelector('script[src$="${idx.summary.words.script}"]') !== null`);
    await page.goto(at('neuron=0:1'));
    await page.waitFor(`location.hash === '#neuron=0:1' && (${ready})`);
    await new Promise((r) => setTimeout(r, 700));
    expect(await page.evaluate<string>("document.querySelector('h2').textContent")).toBe('Neuron 0:1');
    expect(await page.evaluate<string | undefined>('document.body.dataset.view')).toBe('#neuron=0:1');
  });

  it('lists the layers on the home view', async () => {
    await open('');
    const rows = await page.evaluate<string[][]>("[...document.querySelectorAll('#layers tr')].slice(1).map((r) => [...r.cells].map((c) => c.textContent))");
    expect(rows.map((r) => r.slice(0, 3))).toEqual([['layer 0', '150', '0'], ['layer 1', '150', '2']]);
  });
});
