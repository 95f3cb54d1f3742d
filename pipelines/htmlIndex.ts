/**
 * The static HTML index of a run: one self-contained page (inline CSS and
 * JS, no external assets, no server) at the run's root. It embeds the run
 * summary and loads each layer's neurons and the word index lazily with
 * <script> tags (pipelines/runIndex.ts), so it opens the same from a bucket,
 * any static host or a local folder (file://, where fetch() is blocked), and
 * a 9,984-neuron model costs one layer file per layer visited.
 *
 * Views are addressed by the URL fragment, so they can be linked:
 * `#layer=3` (the layer's neurons, by variance, paginated), `#neuron=3:127`
 * (stats, top words, plots, top-sentence SVGs), `#word=the` (neurons where a
 * word is a top word). The search box (and `#q=...` links) takes `3:127`, a
 * global neuron index (`g2431`) or a word. Every text from the data goes into the page with
 * textContent, never as markup.
 */
import { scriptSafeJson, type RunSummary } from './runIndex.ts';

const CSS = `
:root{color-scheme:light dark;--fg:#1b1b1b;--bg:#fff;--mut:#666;--line:#ddd;--acc:#0077a8;--err:#b00020}
@media (prefers-color-scheme:dark){:root{--fg:#e8e8e8;--bg:#161616;--mut:#9a9a9a;--line:#333;--acc:#4cb8e6;--err:#ff6b7f}}
body{font:15px/1.45 system-ui,sans-serif;color:var(--fg);background:var(--bg);margin:0}
header{padding:.8em 1.2em;border-bottom:1px solid var(--line);display:flex;flex-wrap:wrap;gap:.5em 1.5em;align-items:baseline}
header h1{font-size:1.15em;margin:0}header h1 a{color:inherit;text-decoration:none}
header .meta{color:var(--mut)}
form{margin-left:auto;display:flex;gap:.4em}input[type=search]{width:16em;padding:.3em .5em;font:inherit}
main{padding:1em 1.2em;max-width:1200px}
a{color:var(--acc)}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{padding:.2em .7em;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.words span{display:inline-block;margin:0 .4em .2em 0;padding:0 .35em;border:1px solid var(--line);border-radius:3px}
.plots{display:flex;flex-wrap:wrap;gap:1em}.plots figure{margin:0}
figure img{max-width:100%;height:auto;background:#fff}
.sentences figure{margin:0 0 1em;border-bottom:1px solid var(--line);padding-bottom:.6em}
figcaption{color:var(--mut);font-size:.9em}
.missing{display:inline-block;color:var(--mut);border:1px dashed var(--line);padding:.3em .6em}
.error{color:var(--err);font-weight:600}
nav.pages a,nav.pages span{margin-right:.6em}
`;

// Plain ES2017 that every current browser runs without a build step.
const SCRIPT = String.raw`
(function () {
  'use strict';
  var summary = JSON.parse(document.getElementById('neurox-summary').textContent);
  var main = document.getElementById('main');
  var PAGE = 100;
  var layers = {};
  var wordMap = null;
  var waiting = {};
  window.NEUROX_INDEX = {
    layer: function (l, data) { layers[l] = { neurons: neuronsOf(data) }; settle('layer:' + l, null); },
    words: function (data) { wordMap = wordMapOf(data); settle('words', null); }
  };
  // layer and word files are columns (pipelines/runIndex.ts, version 2): rows for the views
  function neuronsOf(d) {
    var tw = d.topWords, ts = d.topSentences, st = d.stats;
    return d.neuron.map(function (n, i) {
      var r = d.renders[n] || null, words = [], sentences = [];
      for (var k = tw.offsets[i]; k < tw.offsets[i + 1]; k++) words.push({ rank: k - tw.offsets[i], token: tw.token[k], score: tw.score[k], count: tw.count[k], mean: tw.mean[k] });
      for (k = ts.offsets[i]; k < ts.offsets[i + 1]; k++) {
        var rank = k - ts.offsets[i];
        sentences.push({ rank: rank, sentenceIndex: ts.sentenceIndex[k], maxActivation: ts.maxActivation[k], tokenIndex: ts.tokenIndex[k], svg: (r && r.sentences[rank]) || null, text: d.sentences[ts.sentenceIndex[k]] });
      }
      return {
        layer: d.layer, neuron: n, globalNeuron: d.globalNeuron[i],
        stats: { count: st.count[i], mean: st.mean[i], variance: st.variance[i], std: st.std[i], min: st.min[i], max: st.max[i] },
        topWords: words, topSentences: sentences,
        plots: { histogram: r ? r.histogram : null, topWords: r ? r.topWords : null }
      };
    });
  }
  function wordMapOf(d) {
    var map = new Map();
    d.token.forEach(function (t, i) {
      var list = [];
      for (var k = d.offsets[i]; k < d.offsets[i + 1]; k++) list.push([d.globalNeuron[k], d.rank[k], d.score[k]]);
      map.set(t, list);
    });
    return map;
  }
  function settle(id, err) {
    var w = waiting[id];
    if (!w) return;
    delete waiting[id];
    w.cbs.forEach(function (cb) { cb(err); });
  }
  function loadScript(id, src, ready) {
    return new Promise(function (resolve, reject) {
      if (ready()) return resolve();
      var w = waiting[id];
      if (!w) {
        w = waiting[id] = { cbs: [] };
        var s = document.createElement('script');
        s.src = src;
        s.onerror = function () { settle(id, new Error('could not load ' + src)); s.remove(); };
        document.head.appendChild(s);
      }
      w.cbs.push(function (err) { if (err) reject(err); else resolve(); });
    });
  }
  function layerInfo(l) {
    for (var i = 0; i < summary.layers.length; i++) if (summary.layers[i].layer === l) return summary.layers[i];
    return null;
  }
  function layerList() {
    var ls = summary.layers.map(function (x) { return x.layer; });
    var run = ls.every(function (x, i) { return i === 0 || x === ls[i - 1] + 1; });
    return run && ls.length > 1 ? ls[0] + '-' + ls[ls.length - 1] : ls.join(', ');
  }
  // the word index names neurons by position: layer position x dModel + neuron
  function neuronName(g) {
    var info = summary.layers[Math.floor(g / summary.dModel)];
    return (info ? info.layer : '?') + ':' + (g % summary.dModel);
  }
  function loadLayer(l) {
    var info = layerInfo(l);
    if (!info) return Promise.reject(new Error('layer ' + l + ' is not in this run (layers ' + layerList() + ')'));
    return loadScript('layer:' + l, info.script, function () { return layers[l] !== undefined; }).then(function () { return layers[l]; });
  }
  function loadWords() {
    return loadScript('words', summary.words.script, function () { return wordMap !== null; }).then(function () { return wordMap; });
  }
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'cls') e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (k) { if (k != null) e.appendChild(typeof k === 'string' ? document.createTextNode(k) : k); });
    return e;
  }
  function num(v) {
    if (v === null || v === undefined) return 'n/a';
    if (Number.isInteger(v)) return String(v);
    var a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
  }
  function img(src, alt) {
    if (!src) return el('span', { cls: 'missing', text: 'not rendered' });
    var i = el('img', { src: src, alt: alt });
    i.onerror = function () { i.replaceWith(el('span', { cls: 'missing', 'data-missing': src, text: 'missing: ' + src })); };
    return i;
  }
  function link(hash, text) { return el('a', { href: '#' + hash, text: text }); }
  function name(n) { return n.layer + ':' + n.neuron; }
  // Each route is a generation; a view that finishes loading after the
  // reader moved on (a slow words.js, say) is dropped, not shown over the new one.
  var generation = 0;
  function show(gen, title, nodes) {
    if (gen !== generation) return;
    main.textContent = '';
    main.appendChild(el('h2', { text: title }));
    nodes.forEach(function (n) { if (n) main.appendChild(n); });
    document.title = title + ' \u2014 ' + summary.runId;
    document.body.setAttribute('data-view', routed);
    document.body.setAttribute('data-state', 'ready');
  }
  function fail(err) {
    main.textContent = '';
    main.appendChild(el('p', { cls: 'error', text: err.message }));
    document.body.setAttribute('data-view', routed);
    document.body.setAttribute('data-state', 'error');
  }
  function wordsOf(n, max) {
    return el('span', { cls: 'words' }, n.topWords.slice(0, max).map(function (w) {
      return el('span', { title: 'score ' + num(w.score) + ', count ' + w.count + ', mean ' + num(w.mean), text: w.token });
    }));
  }

  function home() {
    var rows = summary.layers.map(function (l) {
      return el('tr', null, [
        el('td', null, [link('layer=' + l.layer, 'layer ' + l.layer)]),
        el('td', { cls: 'num', text: String(l.neurons) }),
        el('td', { cls: 'num', text: String(l.rendered) }),
        el('td', { cls: 'num', text: num(l.meanVariance) }),
        el('td', { cls: 'num', text: num(l.maxVariance) })
      ]);
    });
    var head = el('tr', null, ['layer', 'neurons', 'rendered', 'mean variance', 'max variance'].map(function (h, i) { return el('th', { cls: i ? 'num' : '', text: h }); }));
    var files = Object.keys(summary.files).map(function (k) { return el('li', null, [el('a', { href: summary.files[k], text: k })]); });
    show(generation, 'Run ' + summary.runId, [
      el('p', { text: summary.model + ': ' + summary.nLayers + ' layers \u00d7 ' + summary.dModel + ' neurons, ' + summary.sentences + ' sentences, ' + summary.tokens + ' tokens.' }),
      el('table', { id: 'layers' }, [head].concat(rows)),
      files.length ? el('ul', { id: 'files' }, files) : null
    ]);
  }

  function layerView(l, page, gen) {
    return loadLayer(l).then(function (data) {
      var info = layerInfo(l);
      var sorted = data.neurons.slice().sort(function (a, b) { return (b.stats.variance || 0) - (a.stats.variance || 0) || a.neuron - b.neuron; });
      var pages = Math.max(1, Math.ceil(sorted.length / PAGE));
      if (page >= pages) page = pages - 1;
      var slice = sorted.slice(page * PAGE, (page + 1) * PAGE);
      var head = el('tr', null, ['neuron', 'variance', 'mean', 'min', 'max', 'top words'].map(function (h, i) { return el('th', { cls: i && i < 5 ? 'num' : '', text: h }); }));
      var rows = slice.map(function (n) {
        return el('tr', null, [
          el('td', null, [link('neuron=' + name(n), name(n))]),
          el('td', { cls: 'num', text: num(n.stats.variance) }),
          el('td', { cls: 'num', text: num(n.stats.mean) }),
          el('td', { cls: 'num', text: num(n.stats.min) }),
          el('td', { cls: 'num', text: num(n.stats.max) }),
          el('td', null, [wordsOf(n, 6)])
        ]);
      });
      var nav = el('nav', { cls: 'pages' }, [el('span', { text: 'page ' + (page + 1) + ' of ' + pages + ':' })].concat(
        page > 0 ? [link('layer=' + l + '&page=' + (page - 1), 'previous')] : [],
        page + 1 < pages ? [link('layer=' + l + '&page=' + (page + 1), 'next')] : []));
      show(gen, 'Layer ' + l, [
        el('figure', null, [img(info.plots.variance, 'distribution of neuron variances in layer ' + l), el('figcaption', { text: 'Distribution of the variances of the layer\u2019s ' + info.neurons + ' neurons' })]),
        nav,
        el('table', { id: 'neurons' }, [head].concat(rows))
      ]);
    });
  }

  function neuronView(l, n, gen) {
    if (!(n >= 0 && n < summary.dModel)) return Promise.reject(new Error('neuron ' + n + ' is out of range [0, ' + (summary.dModel - 1) + ']'));
    return loadLayer(l).then(function (data) {
      var x = null;
      for (var i = 0; i < data.neurons.length; i++) if (data.neurons[i].neuron === n) x = data.neurons[i];
      if (!x) throw new Error('neuron ' + l + ':' + n + ' is not in this run\u2019s index');
      var s = x.stats;
      var stats = el('table', { id: 'stats' }, [['global neuron', x.globalNeuron], ['count', s.count], ['mean', s.mean], ['variance', s.variance], ['std', s.std], ['min', s.min], ['max', s.max]].map(function (r) {
        return el('tr', null, [el('th', { text: r[0] }), el('td', { cls: 'num', text: num(r[1]) })]);
      }));
      var words = el('table', { id: 'top-words' }, [el('tr', null, ['rank', 'word', 'score', 'count', 'mean'].map(function (h) { return el('th', { text: h }); }))].concat(x.topWords.map(function (w) {
        return el('tr', null, [el('td', { cls: 'num', text: String(w.rank) }), el('td', null, [link('word=' + encodeURIComponent(w.token), w.token)]), el('td', { cls: 'num', text: num(w.score) }), el('td', { cls: 'num', text: String(w.count) }), el('td', { cls: 'num', text: num(w.mean) })]);
      })));
      var sentences = el('div', { cls: 'sentences', id: 'sentences' }, x.topSentences.map(function (t) {
        return el('figure', null, [img(t.svg, t.text || 'sentence ' + t.sentenceIndex), el('figcaption', { text: '#' + t.rank + ': sentence ' + t.sentenceIndex + ', token ' + t.tokenIndex + ', activation ' + num(t.maxActivation) })]);
      }));
      var prev = n > 0 ? link('neuron=' + l + ':' + (n - 1), '\u2190 ' + l + ':' + (n - 1)) : null;
      var next = n + 1 < summary.dModel ? link('neuron=' + l + ':' + (n + 1), l + ':' + (n + 1) + ' \u2192') : null;
      show(gen, 'Neuron ' + name(x), [
        el('p', null, [link('layer=' + l, 'layer ' + l), ' ', prev, ' ', next]),
        el('h3', { text: 'Statistics' }), stats,
        el('h3', { text: 'Top words' }), x.topWords.length ? words : el('p', { text: 'No word scores above the threshold.' }),
        el('div', { cls: 'plots' }, [
          el('figure', null, [img(x.plots.histogram, 'activation histogram of neuron ' + name(x)), el('figcaption', { text: 'Activation histogram' })]),
          el('figure', null, [img(x.plots.topWords, 'top words of neuron ' + name(x)), el('figcaption', { text: 'Top words by score' })])
        ]),
        el('h3', { text: 'Top sentences by max |activation| (one colour scale for the neuron)' }),
        x.topSentences.length ? sentences : el('p', { text: 'No sentences.' })
      ]);
    });
  }

  function wordView(w, gen) {
    return loadWords().then(function (map) {
      var hits = [];
      var lw = w.toLowerCase();
      map.forEach(function (list, token) {
        if (token === w || token.toLowerCase() === lw) list.forEach(function (e) { hits.push({ token: token, g: e[0], rank: e[1], score: e[2] }); });
      });
      hits.sort(function (a, b) { return b.score - a.score || a.g - b.g; });
      var head = el('tr', null, ['neuron', 'word', 'rank', 'score'].map(function (h) { return el('th', { text: h }); }));
      var rows = hits.slice(0, 500).map(function (h) {
        var nm = neuronName(h.g);
        return el('tr', null, [el('td', null, [link('neuron=' + nm, nm)]), el('td', { text: h.token }), el('td', { cls: 'num', text: String(h.rank) }), el('td', { cls: 'num', text: num(h.score) })]);
      });
      show(gen, 'Word \u201c' + w + '\u201d', [
        el('p', { text: hits.length ? hits.length + ' neuron' + (hits.length === 1 ? '' : 's') + ' list this word among their top words' + (hits.length > 500 ? ' (first 500 shown)' : '') + '.' : 'No neuron lists this word among its top words.' }),
        hits.length ? el('table', { id: 'word-hits' }, [head].concat(rows)) : null
      ]);
    });
  }

  // the hash the view on screen answers (data-view), beside data-state: a
  // new hash is in location.hash before its hashchange event routes it
  var routed = null;
  function route() {
    routed = location.hash;
    var gen = ++generation;
    document.body.setAttribute('data-state', 'loading');
    var params = new URLSearchParams(location.hash.replace(/^#/, ''));
    var job;
    if (params.has('q')) {
      // a search link (#q=...): resolve it like the search box does
      location.replace('#' + searchHash(params.get('q')));
      return;
    }
    if (params.has('neuron')) {
      var m = /^(\d+):(\d+)$/.exec(params.get('neuron'));
      job = m ? neuronView(Number(m[1]), Number(m[2]), gen) : Promise.reject(new Error('neuron \u201c' + params.get('neuron') + '\u201d is not LAYER:NEURON'));
    } else if (params.has('layer')) {
      var l = Number(params.get('layer'));
      job = Number.isInteger(l) ? layerView(l, Math.max(0, Number(params.get('page')) || 0), gen) : Promise.reject(new Error('layer \u201c' + params.get('layer') + '\u201d is not a number'));
    } else if (params.has('word')) {
      job = wordView(params.get('word'), gen);
    } else {
      home();
      job = Promise.resolve();
    }
    job.catch(function (err) { if (gen === generation) fail(err); });
  }

  // '3:127' or '3 127' -> a neuron, 'g2431' -> a global neuron, anything else -> a word
  function searchHash(q) {
    q = q.trim();
    var m = /^(\d+)\s*[:.\s]\s*(\d+)$/.exec(q);
    var g = /^g(\d+)$/i.exec(q);
    if (m) return 'neuron=' + Number(m[1]) + ':' + Number(m[2]);
    if (g) return 'neuron=' + neuronName(Number(g[1]));
    return q ? 'word=' + encodeURIComponent(q) : '';
  }
  document.getElementById('search').addEventListener('submit', function (ev) {
    ev.preventDefault();
    location.hash = searchHash(document.getElementById('q').value);
  });
  window.addEventListener('hashchange', route);
  route();
})();
`;

/** The page, given the run summary it embeds. */
export function renderHtmlIndex(summary: RunSummary): string {
  const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`Run ${summary.runId}`)}</title>
<style>${CSS}</style>
</head>
<body data-state="loading">
<header>
<h1><a href="#">${esc(`NeuroX run ${summary.runId}`)}</a></h1>
<span class="meta">${esc(`${summary.model} \u00b7 ${summary.nLayers} \u00d7 ${summary.dModel} neurons \u00b7 ${summary.createdAt}`)}</span>
<form id="search" role="search"><input type="search" id="q" placeholder="3:127, g2431 or a word" aria-label="find a neuron (layer:neuron) or a top word"><button>Find</button></form>
</header>
<main id="main"><noscript>This page needs JavaScript to show the run's neurons; the data is in index.json and index/.</noscript></main>
<script type="application/json" id="neurox-summary">${scriptSafeJson(summary)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
