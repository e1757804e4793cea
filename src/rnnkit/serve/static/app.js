// rnnkit serve: the page. Views (chosen by the address's #hash): runs, curves, play, inside.
// Everything shown comes from the /api routes (see app.py); charts are drawn by uPlot.
"use strict";

const view = () => document.getElementById("view");
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const fmt = (x) => (x === null || x === undefined) ? "–" : (typeof x === "number" ? (Number.isInteger(x) ? x : x.toPrecision(4)) : esc(x));
let timer = null;   // the live curves' refresh

async function api(path, body) {
  const opts = body === undefined ? {} : {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({error: `HTTP ${r.status}`}));
  if (!r.ok || data.error) throw new Error(data.error || `HTTP ${r.status}`);
  return data;
}

function params() {
  const [name, query] = (location.hash.slice(1) || "runs").split("?");
  return {name, q: new URLSearchParams(query || "")};
}

function showError(el, err) { el.innerHTML = `<p class="error">${esc(err.message || err)}</p>`; }

// -- runs ----------------------------------------------------------------------------------------
async function runsView(el) {
  const data = await api("/api/runs");
  document.getElementById("where").textContent = data.folders.join("  ");
  if (!data.runs.length) {
    el.innerHTML = `<div class="empty" id="empty"><h2>No runs here yet</h2>
      <p>No run directory was found under ${data.folders.map((f) => `<code>${esc(f)}</code>`).join(", ")}
      (a run directory is what <code>rnnkit train</code> writes: it holds a <code>config.json</code>).</p>
      <p>Train a small one, and it appears here while it trains (reload the page):</p>
      <pre>rnnkit train charlm --max-steps 300 --out ${esc(data.folders[0])}/charlm</pre>
      <p class="hint">Or serve another folder: <code>rnnkit serve path/to/runs</code>.</p></div>`;
    return;
  }
  const rows = data.runs.map((r) => {
    const cfg = Object.entries(r.config).map(([k, v]) => `${k}=${fmt(v)}`).join(" ");
    const best = Object.entries(r.best).map(([k, v]) => `${esc(k.replace("best_", ""))} ${fmt(v)}`).join("<br>");
    const id = encodeURIComponent(r.id);
    const links = r.error ? "" : `<a href="#curves?runs=${id}">curves</a> · <a href="#play?run=${id}">playground</a> · <a href="#inside?run=${id}">inside</a>`;
    return `<tr class="run" data-id="${esc(r.id)}"><td><input type="checkbox" value="${esc(r.id)}" ${r.error ? "disabled" : ""}></td>
      <td class="name">${esc(r.name)}</td><td>${fmt(r.task)}</td>
      <td>${r.status ? `<span class="status status-${r.status}">${r.status}</span>` : ""}${r.error ? `<div class="error">damaged: ${esc(r.error)}</div>` : ""}</td>
      <td>${cfg}</td><td>${fmt(r.weights)}</td><td>${fmt(r.steps)}</td><td>${best}</td><td>${links}</td></tr>`;
  }).join("");
  el.innerHTML = `<h2>Runs</h2><table id="runs"><tr><th></th><th>run</th><th>task</th><th>status</th><th>configuration</th>
    <th>weights</th><th>steps</th><th>best</th><th></th></tr>${rows}</table>
    <button id="compare">Compare the selected runs' curves</button>`;
  document.getElementById("compare").onclick = () => {
    const ids = [...el.querySelectorAll("input:checked")].map((c) => encodeURIComponent(c.value));
    if (ids.length) location.hash = "#curves?runs=" + ids.join(",");
  };
}

// -- curves --------------------------------------------------------------------------------------
const PANELS = [
  {id: "loss-step", title: "training loss vs step", x: "step", y: (c) => c.train.loss, xs: (c) => c.train.step},
  {id: "loss-time", title: "training loss vs wall-clock time (s)", x: "time", y: (c) => c.train.loss, xs: (c) => c.train.time},
  {id: "val-step", title: "validation metric vs step", x: "step", y: (c) => c.val.value, xs: (c) => c.val.step},
  {id: "val-time", title: "validation metric vs wall-clock time (s)", x: "time", y: (c) => c.val.value, xs: (c) => c.val.time},
  {id: "grad-step", title: "gradient norm before clipping (× clipped)", x: "step", y: (c) => c.train.grad_norm, xs: (c) => c.train.step, log: true},
  {id: "lr-step", title: "learning rate vs step", x: "step", y: (c) => c.train.lr, xs: (c) => c.train.step},
];
const LOG_AXIS = {values: (u, vals) => vals.map((v) => v === null ? "" : v.toExponential(0)), size: 60};
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

// one x axis shared by all runs: the union of their x values, each run's y null where it has none
function joined(list, xs, ys) {
  const x = [...new Set(list.flatMap((c) => xs(c).filter((v) => v !== null)))].sort((a, b) => a - b);
  const series = list.map((c) => { const m = new Map(xs(c).map((v, i) => [v, ys(c)[i]])); return x.map((v) => m.has(v) ? m.get(v) : null); });
  return [x, ...series];
}

function drawPanel(box, panel, names, list) {
  const data = joined(list, panel.xs, panel.y);
  const series = [{label: panel.x}, ...names.map((n, k) => ({label: n, stroke: COLORS[k % 6], spanGaps: true,
    points: {show: data[0].length < 60}}))];
  if (panel.id === "grad-step") {   // clipped steps as crosses
    list.forEach((c, k) => {
      const clipped = new Map(c.train.step.map((s, i) => [s, c.train.clipped[i] ? c.train.grad_norm[i] : null]));
      data.push(data[0].map((s) => clipped.has(s) ? clipped.get(s) : null));
      series.push({label: names[k] + " clipped", stroke: COLORS[k % 6], width: 0, points: {show: true, size: 7, fill: COLORS[k % 6]}});
    });
  }
  box.dataset.points = String(list.map((c) => panel.y(c).filter((v) => v !== null).length).reduce((a, b) => a + b, 0));
  if (box.plot) { box.plot.setData(data); return; }
  box.innerHTML = `<div>${esc(panel.title)}</div>`;
  const opts = {width: 360, height: 220, series, scales: {x: {time: false}, y: panel.log ? {distr: 3} : {}},
    axes: [{label: panel.x}, panel.log ? LOG_AXIS : {}], legend: {show: true}};
  box.plot = new uPlot(opts, data, box);
}

// what a run had, and the lines appended since (views.curves with since)
function appended(old, got) {
  const cat = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, (a[k] || []).concat(b[k])]));
  return {...got, source: got.source || old.source, metric: old.metric || got.metric, train: cat(old.train, got.train),
    val: cat(old.val, got.val)};
}

async function curvesView(el, q) {
  const ids = (q.get("runs") || "").split(",").filter(Boolean);
  el.innerHTML = `<h2>Curves: ${ids.map(esc).join(", ")}</h2><p class="hint" id="curves-note">read from steps.jsonl / metrics.jsonl; refreshed every 2 s</p>
    <div class="charts">${PANELS.map((p) => `<div class="chart" id="${p.id}"></div>`).join("")}</div>`;
  const have = new Map();   // run id -> its curves so far; each refresh asks only for the lines since
  const refresh = async () => {
    try {
      const list = await Promise.all(ids.map(async (id) => {
        const old = have.get(id), q = old ? `&since=${old.since}&metric=${encodeURIComponent(old.metric || "")}` : "";
        const got = await api("/api/curves?run=" + encodeURIComponent(id) + q);
        have.set(id, got.restart || !old ? got : appended(old, got));
        return have.get(id);
      }));
      const metric = list.map((c) => c.metric).filter(Boolean)[0];
      document.getElementById("curves-note").textContent = `training rows from ${list.map((c) => c.source || "nothing yet").join(", ")}; validation metric ${metric || "none yet"}; refreshed every 2 s`;
      PANELS.forEach((p) => drawPanel(document.getElementById(p.id), p, ids, list));
    } catch (err) { document.getElementById("curves-note").innerHTML = `<span class="error">${esc(err.message)}</span>`; }
  };
  await refresh();
  timer = setInterval(refresh, 2000);
}

// -- playground ----------------------------------------------------------------------------------
function resultHtml(task, r) {
  if (task === "classify") {
    return `<p>label <b>${esc(r.label)}</b> (p = ${fmt(r.probability)})</p><table>${Object.entries(r.probabilities)
      .map(([k, p]) => `<tr><td>${esc(k)}</td><td>${fmt(p)}</td><td><span class="bar" style="width:${(200 * p).toFixed(0)}px"></span></td></tr>`).join("")}</table>`;
  }
  if (task === "tag") {
    return `<table><tr>${r.tokens.map((t) => `<td>${esc(t)}</td>`).join("")}</tr><tr>${r.tags.map((t) => `<th>${esc(t)}</th>`).join("")}</tr></table>
      <p>entities: ${r.entities.map((e) => `${esc(e.text)} (${esc(e.type)})`).join(", ") || "none"}</p>`;
  }
  if (task === "translate") {
    return `<table><tr><th>hypothesis</th><th>score</th></tr>${r.nbest.map((h) => `<tr><td>${esc(h.translation)}</td><td>${fmt(h.score)}</td></tr>`).join("")}</table>`;
  }
  const verdict = (ok) => `<span class="${ok ? "right" : "wrong"}">${ok ? "right" : "wrong"}</span>`;
  if (task === "echo") {
    return `<p class="toy">predicted <b>${r.predicted}</b> (p = ${fmt(r.probability)}); the answer is ${r.expected}: ${verdict(r.predicted === r.expected)}</p>`;
  }
  if (task === "copy") {
    return `<p class="toy">given <code>${r.input.join(" ")}</code>, repeated <code>${r.output.join(" ")}</code>: ${r.right} of ${r.input.length} right</p>`;
  }
  if (task === "adding") {
    const [i, j] = r.marked;
    return `<p class="toy">predicted <b>${r.predicted.toFixed(4)}</b>; the answer u[${i}] + u[${j}] = ${r.input[i]} + ${r.input[j]} =
      ${r.expected.toFixed(4)} (error ${(r.predicted - r.expected >= 0 ? "+" : "") + (r.predicted - r.expected).toFixed(4)})</p>`;
  }
  return `<pre class="out">${esc(JSON.stringify(r, null, 1))}</pre>`;
}

// each vector's caption, beside the vector drawn as a square grey image when it has n² numbers
function captionResult(r, out) {
  const side = Math.round(Math.sqrt(r.features)), square = side * side === r.features;
  out.innerHTML = r.captions.map((c) => `<div class="caption">${square ? `<canvas class="vector" width="${side}" height="${side}"></canvas>` : ""}
    <span>${esc(c.input)}: <b class="said">${esc(c.caption)}</b>${r.truth === null ? "" : ` (the data says ${esc(r.truth)})`}</span></div>`).join("");
  if (!square) return;
  out.querySelectorAll("canvas.vector").forEach((canvas, k) => {
    const v = r.captions[k].vector, lo = Math.min(...v), span = (Math.max(...v) - lo) || 1;
    const ctx = canvas.getContext("2d"), img = ctx.createImageData(side, side);
    v.forEach((x, i) => { const g = Math.round(255 * (1 - (x - lo) / span)); img.data.set([g, g, g, 255], 4 * i); });
    ctx.putImageData(img, 0, 0);
  });
}

// the chosen .npz file's bytes, in base64, as the body's "npz"
async function withUpload(form, body, limit) {
  const file = form.querySelector('input[type="file"]').files[0];
  delete body.file;
  if (!file) throw new Error("choose an .npz file first");
  if (file.size > limit) throw new Error(`${file.name}: ${file.size.toLocaleString()} bytes; the page takes files of at most ${limit.toLocaleString()}`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return {...body, npz: btoa(text)};
}

function captionPlay(el, head, id, m) {
  el.innerHTML = `${head}<p class="hint">${esc(m.hint)}</p>
    <form class="play" id="row-form"><label>row of the run's data <input type="number" name="row" value="0" min="0"></label>
      <button type="submit" id="caption-row">Caption this row</button></form>
    <form class="play" id="typed-form"><textarea name="vectors" maxlength="${m.max_chars}"></textarea><br>
      <button type="submit" id="caption-typed">Caption these vectors</button></form>
    <form class="play" id="upload-form"><label>an .npz with an array <code>vectors</code> (N, D) <input type="file" name="file" accept=".npz"></label>
      <button type="submit" id="caption-upload">Caption the file's vectors</button></form>
    <div id="predict-output"></div>`;
  for (const f of ["row-form", "typed-form"]) bindForm(f, "predict-output", id, "predict", captionResult);
  bindForm("upload-form", "predict-output", id, "predict", captionResult, (form, body) => withUpload(form, body, m.max_upload));
}

async function playView(el, q) {
  const id = q.get("run");
  const m = await api("/api/model?run=" + encodeURIComponent(id));
  const head = `<h2>Playground: ${esc(id)} (${esc(m.task)})</h2>`;
  const num = (name, value, step) => `<label>${name} <input type="number" name="${name}" value="${value}" step="${step || 1}"></label>`;
  if (m.playground === "lm") {
    el.innerHTML = `${head}<form class="play" id="sample-form"><h3>Sample</h3>
      <label>prime <input name="prime" value="" maxlength="${m.max_chars}"></label>
      ${num("length", 200)}${num("temperature", 1.0, 0.05)}${num("top_k", "")}${num("top_p", "", 0.05)}${num("seed", 0)}
      <br><button type="submit" id="sample">Sample</button></form><div id="sample-output"></div>
      <form class="play" id="score-form"><h3>Score</h3><textarea name="text" maxlength="${m.max_chars}">to be or not to be</textarea>
      <br><button type="submit" id="score">Score</button></form><div id="score-output"></div>`;
    bindForm("sample-form", "sample-output", id, "sample", (r) => `<pre class="out">${esc(r.text)}</pre>`);
    bindForm("score-form", "score-output", id, "score", (r) => `<p>log P = ${fmt(r.log_prob)} nats, ${r.tokens} tokens,
      perplexity ${fmt(r.perplexity)}</p><table><tr><th>token</th><th>log P</th></tr>${r.per_token.map(([t, lp]) =>
      `<tr><td>${esc(JSON.stringify(t))}</td><td>${fmt(lp)}</td></tr>`).join("")}</table>`);
  } else if (m.playground === "forecast") {
    el.innerHTML = `${head}<form class="play" id="forecast-form"><p class="hint">the run's series continued, as
      <code>rnnkit forecast RUN --steps N</code></p>${num("steps", 12)}<button type="submit" id="forecast">Forecast</button></form>
      <div class="chart" id="forecast-output"></div>`;
    bindForm("forecast-form", "forecast-output", id, "forecast", forecastPlot);
  } else if (m.playground === "predict" && m.task === "caption") {
    captionPlay(el, head, id, m);
  } else if (m.playground === "predict") {
    const extra = m.task === "translate" ? num("beam", 4) + num("nbest", 3) : "";
    el.innerHTML = `${head}<form class="play" id="predict-form"><p class="hint" id="input-hint">${esc(m.hint)}</p>
      <textarea name="text" maxlength="${m.max_chars}">${esc(m.example)}</textarea><br>${extra}
      <button type="submit" id="predict">Predict</button></form><div id="predict-output"></div>`;
    bindForm("predict-form", "predict-output", id, "predict", (r) => resultHtml(m.task, r));
  } else {
    el.innerHTML = `${head}<p class="hint">A ${esc(m.task)} model has no playground: its curves and its inside are here.</p>`;
  }
}

// the last window of the series and its forecast, one x position per time stamp
function forecastPlot(r, out) {
  const times = [...r.history.time, ...r.forecast.map((f) => f.time)], n = r.history.time.length;
  const x = times.map((_, i) => i);
  const history = x.map((i) => i < n ? r.history.value[i] : null);
  const ahead = x.map((i) => i === n - 1 ? r.history.value[i] : (i >= n ? r.forecast[i - n].value : null));
  out.innerHTML = `<div>${esc(r.column)}: the last ${n} values and ${r.forecast.length} forecast</div>`;
  out.dataset.points = String(r.forecast.length);
  new uPlot({width: 700, height: 280, scales: {x: {time: false}},
    axes: [{values: (u, vals) => vals.map((v) => times[v] === undefined ? "" : String(times[v]))}, {}],
    series: [{label: "step", value: (u, v) => v === null ? "--" : String(times[v])},
      {label: "series", stroke: COLORS[0]}, {label: "forecast", stroke: COLORS[1], dash: [6, 4]}]},
    [x, history, ahead], out);
}

// submit ``form`` as {action, its fields} (numbers as numbers), after ``prepare`` (form, body) -> body if given
function bindForm(formId, outId, run, action, render, prepare) {
  const form = document.getElementById(formId), out = document.getElementById(outId);
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    let body = {action};
    for (const [k, v] of new FormData(form).entries()) body[k] = form.querySelector(`[name="${k}"]`).type === "number" ? (v === "" ? null : Number(v)) : v;
    out.innerHTML = `<p class="hint">working…</p>`;
    try {
      if (prepare) body = await prepare(form, body);
      const r = await api("/api/play?run=" + encodeURIComponent(run), body);
      const html = render(r, out);   // a chart draws itself into out and returns nothing
      if (html !== undefined) out.innerHTML = html;
    } catch (err) { showError(out, err); }
  };
}

// -- inside the model ------------------------------------------------------------------------------
const SHOW = {"\n": "⏎", " ": "␣", "\t": "⇥"};
// the uint16 levels of views.packed -> Float32Array (T·H), step t's H units at t·H .. t·H + H − 1
function unpack(q) {
  const bytes = atob(q.levels), out = new Float32Array(bytes.length >> 1), k = (q.hi - q.lo) / 65535;
  for (let i = 0; i < out.length; i++) out[i] = q.lo + (bytes.charCodeAt(2 * i) | (bytes.charCodeAt(2 * i + 1) << 8)) * k;
  return out;
}
// white -> blue for a gate in [0, 1]; blue -> white -> red over [-lim, lim] for the rest
function rgb(v, kind, lim) {
  if (kind === "sigmoid") { const g = Math.round(255 * (1 - Math.max(0, Math.min(1, v)))); return [g, g, 255]; }
  const a = Math.max(-1, Math.min(1, v / lim)), w = Math.round(255 * (1 - Math.abs(a)));
  return a >= 0 ? [255, w, w] : [w, w, 255];
}
const colour = (v, kind, lim) => `rgb(${rgb(v, kind, lim).join(",")})`;
const limit = (q) => q.kind === "tanh" ? 1 : Math.max(1e-6, Math.abs(q.lo), Math.abs(q.hi));
// one block of cw × ch pixels per (unit, step): about 1,100 px wide and 1,400 px tall at most
const cellSize = (T, H) => [Math.max(2, Math.min(12, Math.floor(1100 / T))), Math.max(1, Math.min(8, Math.floor(1400 / H)))];

// the heat map of one quantity on a canvas (a row per unit, a column per step); hover tells the cell,
// a click picks the unit (pick(u))
function heatmap(box, q, v, tokens, pick) {
  const [T, H] = q.shape, [cw, ch] = cellSize(T, H), lim = limit(q), W = T * cw;
  box.innerHTML = `<div class="hm-wrap"><canvas id="hm-tokens" width="${W}" height="${cw >= 7 ? 14 : 0}"></canvas>
    <canvas id="heatmap" width="${W}" height="${H * ch}" data-units="${H}" data-steps="${T}" data-cell-width="${cw}"
    data-cell-height="${ch}"></canvas><div id="hm-chosen"></div><div id="hm-tip"></div></div>`;
  const canvas = box.querySelector("#heatmap"), tip = box.querySelector("#hm-tip"), ctx = canvas.getContext("2d");
  const img = ctx.createImageData(W, H * ch), px = img.data;
  for (let t = 0; t < T; t++) {
    for (let u = 0; u < H; u++) {
      const [r, g, b] = rgb(v[t * H + u], q.kind, lim);
      for (let y = u * ch; y < (u + 1) * ch; y++) {
        for (let i = 4 * (y * W + t * cw), end = i + 4 * cw; i < end; i += 4) { px[i] = r; px[i + 1] = g; px[i + 2] = b; px[i + 3] = 255; }
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  if (cw >= 7) {
    const tc = box.querySelector("#hm-tokens").getContext("2d");
    tc.font = "11px monospace"; tc.textAlign = "center"; tc.textBaseline = "bottom";
    tokens.forEach((tok, t) => tc.fillText(SHOW[tok] || tok, t * cw + cw / 2, 13, cw));
  }
  const cell = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [Math.floor((ev.clientX - r.left) / cw), Math.floor((ev.clientY - r.top) / ch)];
  };
  canvas.onmousemove = (ev) => {
    const [t, u] = cell(ev);
    if (t < 0 || t >= T || u < 0 || u >= H) { tip.style.display = "none"; return; }
    tip.textContent = `unit ${u}, step ${t} ${JSON.stringify(tokens[t])}: ${q.name} = ${v[t * H + u].toPrecision(4)}`;
    Object.assign(tip.style, {display: "block", left: `${ev.offsetX + 14}px`, top: `${canvas.offsetTop + ev.offsetY + 14}px`});
  };
  canvas.onmouseleave = () => { tip.style.display = "none"; };
  canvas.onclick = (ev) => { const u = cell(ev)[1]; if (u >= 0 && u < H) pick(u); };
  return (u) => Object.assign(box.querySelector("#hm-chosen").style, {top: `${canvas.offsetTop + u * ch}px`, height: `${ch}px`, width: `${W}px`});
}

function strip(q, v, tokens, u) {
  const lim = limit(q), H = q.shape[1];
  return `<div class="strip" id="strip">${tokens.map((t, i) => `<span title="${v[i * H + u].toPrecision(4)}" style="background:${colour(v[i * H + u], q.kind, lim)}">${esc(t)}</span>`).join("")}</div>`;
}

async function insideView(el, q) {
  const id = q.get("run");
  el.innerHTML = `<h2>Inside the model: ${esc(id)}</h2>
    <form id="inside-form"><p class="hint">leave it empty to look at what the task reads without a text (a generated example, the last window of a series, ...)</p><textarea name="text">To be, or not to be: that is the question.</textarea><br>
    <button type="submit" id="look">Look inside</button></form><div id="inside-output"></div>
    <h3>Gradient flow (as <code>rnnkit gradflow RUN</code>)</h3><button id="gradflow-go">Compute the gradient flow</button>
    <div class="chart" id="gradflow"></div>`;
  const out = document.getElementById("inside-output");
  document.getElementById("inside-form").onsubmit = async (ev) => {
    ev.preventDefault();
    out.innerHTML = `<p class="hint">working…</p>`;
    try { showInside(out, await api("/api/inside?run=" + encodeURIComponent(id), {text: ev.target.elements.text.value})); }
    catch (err) { showError(out, err); }
  };
  document.getElementById("gradflow-go").onclick = async () => {
    const box = document.getElementById("gradflow");
    box.innerHTML = `<p class="hint">working…</p>`;
    try {
      const g = await api("/api/gradflow?run=" + encodeURIComponent(id));
      box.innerHTML = `<div>‖∂L/∂h<sub>T−d</sub>‖ and ‖∂h<sub>T</sub>/∂h<sub>T−d</sub>‖ (${esc(g.cell)}; decay per step ${fmt(g.decay)})</div>`;
      box.dataset.points = String(g.distance.length);
      new uPlot({width: 560, height: 260, scales: {x: {time: false}, y: {distr: 3}}, axes: [{label: "distance d"}, LOG_AXIS],
        series: [{label: "d"}, {label: "gradient", stroke: COLORS[0]}, {label: "Jacobian", stroke: COLORS[1]}]},
        [g.distance, g.grad_norm, g.jacobian_norm], box);
    } catch (err) { showError(box, err); }
  };
}

function showInside(out, r) {
  const options = r.layers.flatMap((l, i) => l.quantities.map((q, j) =>
    `<option value="${i}/${j}">layer ${l.layer}${l.direction ? " reverse" : ""} (${esc(l.cell)}): ${esc(q.name)}</option>`)).join("");
  const sat = r.layers.flatMap((l) => l.quantities.map((q) =>
    `<tr><td>${l.layer}${l.direction ? " reverse" : ""}</td><td>${esc(q.name)}</td><td>${esc(q.kind)}</td><td>${q.saturated === null ? "–" : (100 * q.saturated).toFixed(1) + "%"}</td></tr>`)).join("");
  out.innerHTML = `<p class="hint">${esc(r.what)}; ${r.tokens.length} steps</p>
    <label>show <select id="quantity">${options}</select></label> <span class="hint">hover a cell for its value; click a unit (a row) to see it over the text</span>
    <h3 id="strip-title"></h3><div id="strip-box"></div><div id="hm"></div>
    <h3>Saturated fractions (as <code>rnnkit inspect</code>)</h3><table id="saturation"><tr><th>layer</th><th>quantity</th><th>kind</th><th>saturated</th></tr>${sat}</table>`;
  const select = document.getElementById("quantity");
  select.value = `0/${r.layers[0].quantities.length - 1}`;   // h of the first layer
  const draw = () => {
    const [i, j] = select.value.split("/").map(Number), qq = r.layers[i].quantities[j], v = unpack(qq);
    const started = performance.now();
    const mark = heatmap(document.getElementById("hm"), qq, v, r.tokens, (u) => choose(u));
    document.getElementById("heatmap").dataset.drawMs = (performance.now() - started).toFixed(1);
    function choose(u) {
      mark(u);
      document.getElementById("heatmap").dataset.chosen = String(u);
      document.getElementById("strip-title").textContent = `unit ${u} of ${qq.name} over the text`;
      document.getElementById("strip-box").innerHTML = strip(qq, v, r.tokens, u);
    }
    choose(0);
  };
  select.onchange = draw;
  draw();
}

// -- routing ---------------------------------------------------------------------------------------
const VIEWS = {runs: runsView, curves: curvesView, play: playView, inside: insideView};
async function route() {
  if (timer) { clearInterval(timer); timer = null; }
  const {name, q} = params(), el = view();
  el.dataset.view = name;
  try { await (VIEWS[name] || runsView)(el, q); } catch (err) { showError(el, err); }
  el.dataset.ready = "1";
}
window.addEventListener("hashchange", () => { view().dataset.ready = ""; route(); });
route();
