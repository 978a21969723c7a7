// toyrd static explorer: walks a precomputed grid of exact models in the browser (no server).
// The plots are the live explorer's own Bokeh objects (toyrd.explore._view.figures), embedded
// from the page's JSON; one model's update is `source.data = columns` for each of its sources,
// as toyrd.explore._view.panel_data builds them in Python. Exact numbers (float64) come from the
// grid's exact block; the display-only columns (lines, images) from its float16 block.
// Hooks for tests: #toyrd-status (data-state, data-index, data-key, data-ms), #q-<name> cells,
// window.TOYRD_STATIC (index, timings, ready).
(function () {
  "use strict";
  const status = document.getElementById("toyrd-status");
  const S = (window.TOYRD_STATIC = { ready: false, index: -1, timings: [], error: null });

  function fail(msg) {
    S.error = msg;
    status.dataset.state = "error";
    status.textContent = "error: " + msg;
    console.error("toyrd static explorer: " + msg);
  }

  // float16 → float32, by a table of all 65,536 half-precision values
  const HALF = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
    HALF[h] = e === 0 ? s * f * 2 ** -24 : e === 31 ? (f ? NaN : s * Infinity)
      : s * (1 + f / 1024) * 2 ** (e - 15);
  }

  // the table's number format, as toyrd.explore._view.fmt: 6 decimals, never -0.000000
  function fmt(v) {
    if (Number.isNaN(v)) throw new Error("a NaN quantity reached the page");
    if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
    const t = v.toFixed(6);
    return t === "-0.000000" ? "0.000000" : t;
  }

  async function gunzip(b64) {
    let bytes;
    if (typeof Uint8Array.fromBase64 === "function") bytes = Uint8Array.fromBase64(b64);
    else {
      const bin = atob(b64), n = bin.length;
      bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) bytes[i] = bin.charCodeAt(i);
    }
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return await new Response(stream).arrayBuffer();
  }

  // BokehJS (3.9) rewrites the text of a <style> element of every legend and title on every paint,
  // even when the text is unchanged; each rewrite invalidates the styles of the whole plot, and the
  // next CSS read (a tick label's colour) recomputes them. Skipping identical rewrites changes
  // nothing drawn and took ~6 ms of CPU off each redraw (benchmarks/bench_static.py).
  function skipIdenticalStyleRewrites() {
    const proto = Bokeh.require("core/dom").InlineStyleSheet.prototype, update = proto._update;
    if (typeof update !== "function") return;  // another BokehJS: leave it as it is
    proto._update = function (css) {
      if (this.el.textContent !== css) update.call(this, css);
    };
  }

  async function main() {
    const t0 = performance.now();
    skipIdenticalStyleRewrites();
    // 1. the plots, embedded already showing the first model (written by toyrd.explore._view.show)
    const item = JSON.parse(document.getElementById("toyrd-plots-json").textContent);
    await Bokeh.embed.embed_items(item.docs_json, item.render_items);
    S.phases = { script_start_ms: t0, embed_ms: performance.now() - t0 };
    await new Promise((ok) => requestAnimationFrame(() => setTimeout(ok, 0)));
    S.first_paint_ms = performance.now();
    status.textContent = "first model drawn; reading the grid of models (the controls wake up " +
      "when it is read)…";
    // 2. the grid (a script, so that file:// pages can read it), then the controls
    if (!window.TOYRD_GRID) {
      await new Promise((ok, no) => {
        const el = document.createElement("script");
        el.src = "toyrd-grid.js";
        el.onload = ok;
        el.onerror = () => no(new Error("toyrd-grid.js could not be loaded"));
        document.head.appendChild(el);
      });
    }
    const G = window.TOYRD_GRID, t1 = performance.now();
    const raw = await gunzip(window.TOYRD_GRID_GZ);
    S.phases.grid_ms = performance.now() - t1;
    if (raw.byteLength !== G.raw_bytes) return fail("the grid has " + raw.byteLength +
      " bytes, its manifest says " + G.raw_bytes);
    const N = G.n_models, Q = G.quantities.length, P = G.n_display;
    const exact = new Float64Array(raw, 0, N * Q);
    const half = new Uint16Array(raw, 8 * N * Q, N * P);
    const qi = Object.fromEntries(G.quantities.map((k, i) => [k, i]));
    const A = G.axes, nF = A.families.length, nS = A.seeds.length;
    // storage order: objective, family, value, seed (seed fastest); start: first row of each objective
    const start = [];
    let acc = 0;
    for (const o of A.objectives) { start.push(acc); acc += o.values.length * nF; }
    if (acc * nS !== N) return fail("the grid's axes give " + acc * nS + " models, its manifest " + N);
    const index = (o, f, v, s) => (start[o] + f * A.objectives[o].values.length + v) * nS + s;
    const label = (o, f, v, s) => {
      const ob = A.objectives[o], vt = ob.values_text[v];
      return ob.key + (vt ? " " + vt : "") + " · " + A.families[f].name + " · seed " + A.seeds[s];
    };

    const doc = Bokeh.documents[Bokeh.documents.length - 1];
    const ND = Bokeh.require("core/util/ndarray");
    const src = (name) => {
      const m = doc.get_model_by_name(name);
      if (!m) throw new Error("no Bokeh model named " + name);
      return m;
    };
    const sources = {};
    for (const k of ["current", "iso", "quantities", "fig2_data", "fig2_latent", "fig2_encoder",
      "fig2_decoder", "fig2_channel", "trail", "sweep"]) sources[k] = src(k);

    // the table: the view's own callback (toyrd.explore._columns.TABLE_JS), run on a plain
    // element of the page instead of a Bokeh Div
    const fillTable = new Function("src", "div", "base", item.table.js);
    const tableEl = document.getElementById("toyrd-table");
    const tableDiv = { tags: [item.table.scale], set text(html) { tableEl.innerHTML = html; } };

    const ctl = (id) => document.getElementById(id);
    const cObj = ctl("ctl-objective"), cFam = ctl("ctl-family"), cPar = ctl("ctl-param"),
      cSeed = ctl("ctl-seed");
    A.objectives.forEach((o, i) => cObj.add(new Option(o.label, String(i))));
    A.families.forEach((f, i) => cFam.add(new Option(f.name, String(i))));
    A.seeds.forEach((s, i) => cSeed.add(new Option(String(s), String(i))));
    // the last parameter position used per objective (switching back restores it)
    const lastValue = A.objectives.map((o) => Math.floor((o.values.length - 1) / 2));
    const state = { o: 0, f: 0, v: 0, s: 0 };
    const trail = { R: [], D: [], I: [], label: [] };
    const TRAIL = 60;

    function modelColumns(i, name) {
      const q = exact.subarray(i * Q, (i + 1) * Q);
      const cols = {};
      const byName = {};
      for (const ent of G.layout) {
        const n = ent.shape.reduce((a, b) => a * b, 1), base = i * P + ent.offset;
        const a = new Float64Array(n);
        for (let j = 0; j < n; j++) a[j] = HALF[half[base + j]];
        // an image is a list of one 2D array: a Bokeh ndarray with its shape, as from Python
        (byName[ent.source] ||= {})[ent.column] = ent.shape.length === 2
          ? [ND.ndarray(a, { dtype: "float64", shape: ent.shape })] : Array.from(a);
      }
      for (const [s, c] of Object.entries(G.constants)) Object.assign((byName[s] ||= {}), c);
      for (const k of ["fig2_encoder", "fig2_decoder", "fig2_channel"]) {
        let m = 0;
        for (const x of byName[k].img[0]) if (x > m) m = x;
        byName[k].vmax = [m > 0 ? m : 1.0];
      }
      const values = Array.from(q);
      cols.quantities = {
        name: G.quantities.slice(), value: values, text: values.map(fmt),
        note: G.quantity_notes.slice(), label: G.quantities.map(() => name),
      };
      cols.current = { R: [q[qi.R]], D: [q[qi.D]], I: [q[qi.I_zstar]], label: [name] };
      return Object.assign(cols, byName);
    }

    function sweep(o, f, s) {
      const d = { R: [], D: [], I: [], label: [] };
      for (let v = 0; v < A.objectives[o].values.length; v++) {
        const i = index(o, f, v, s);
        d.R.push(exact[i * Q + qi.R]); d.D.push(exact[i * Q + qi.D]);
        d.I.push(exact[i * Q + qi.I_zstar]); d.label.push(label(o, f, v, s));
      }
      return d;
    }

    // the controls and notes follow the state; text is written only where it changed (each
    // write makes the browser lay the page out again)
    const shownText = new Map();
    const put = (id, text) => {
      if (shownText.get(id) !== text) { ctl(id).textContent = text; shownText.set(id, text); }
    };
    function syncControls() {
      const ob = A.objectives[state.o], n = ob.values.length;
      if (cObj.value !== String(state.o)) cObj.value = String(state.o);
      if (cFam.value !== String(state.f)) cFam.value = String(state.f);
      if (cSeed.value !== String(state.s)) cSeed.value = String(state.s);
      if (cPar.max !== String(n - 1)) cPar.max = String(n - 1);
      if (cPar.value !== String(state.v)) cPar.value = String(state.v);
      cPar.disabled = n === 1;
      put("param-name", ob.symbol || "parameter");
      put("param-value", ob.symbol ? ob.values_text[state.v] : "(none)");
      put("param-range", ob.symbol
        ? "[" + ob.values_text[0] + " … " + ob.values_text[n - 1] + ", " + n + " values]"
        : "the ELBO has no parameter");
      put("objective-note", ob.key + ": " + ob.note);
      put("family-note", A.families[state.f].name + ": " + A.families[state.f].note);
    }

    let shown = -1, sweepKey = "";
    function show(t0) {
      const { o, f, v, s } = state;
      const i = index(o, f, v, s), name = label(o, f, v, s);
      if (shown >= 0 && shown !== i) {
        const cur = sources.current.data;
        trail.R.push(cur.R[0]); trail.D.push(cur.D[0]); trail.I.push(cur.I[0]);
        trail.label.push(cur.label[0]);
        for (const k in trail) trail[k] = trail[k].slice(-TRAIL);
        sources.trail.data = { R: trail.R.slice(), D: trail.D.slice(), I: trail.I.slice(),
          label: trail.label.slice() };
      }
      const cols = modelColumns(i, name);
      for (const k of ["current", "iso", "quantities", "fig2_data", "fig2_latent",
        "fig2_encoder", "fig2_decoder", "fig2_channel"]) sources[k].data = cols[k];
      fillTable(sources.quantities, tableDiv, item.table.base);
      const sk = o + "/" + f + "/" + s;
      if (sk !== sweepKey) { sources.sweep.data = sweep(o, f, s); sweepKey = sk; }
      shown = i; S.index = i;
      syncControls();
      status.dataset.state = "drawing";
      status.dataset.index = String(i);
      status.dataset.key = name;
      requestAnimationFrame(() => setTimeout(() => {
        const ms = performance.now() - t0;
        S.timings.push(ms);
        status.dataset.ms = ms.toFixed(1);
        status.dataset.state = "ready";
        status.textContent = "model " + (i + 1) + " of " + N + " (" + name + "), drawn in " +
          ms.toFixed(0) + " ms — every number exact (float64, toyrd.evaluate)";
      }, 0));
    }

    function change(fn) {
      return (ev) => {
        const t = performance.now();
        fn(ev);
        show(t);
      };
    }
    cObj.addEventListener("change", change(() => {
      lastValue[state.o] = state.v;
      state.o = +cObj.value; state.v = lastValue[state.o];
    }));
    cFam.addEventListener("change", change(() => { state.f = +cFam.value; }));
    cSeed.addEventListener("change", change(() => { state.s = +cSeed.value; }));
    cPar.addEventListener("input", change(() => { state.v = +cPar.value; }));
    ctl("ctl-clear").addEventListener("click", () => {
      for (const k in trail) trail[k] = [];
      sources.trail.data = { R: [], D: [], I: [], label: [] };
    });
    ctl("toyrd-about").textContent = N + " exact models (" + A.objectives.length +
      " objectives × parameter × " + nF + " families × " + nS + " seeds), each trained by " +
      "toyrd's exact JAX trainer (" + G.config.steps + " Adam steps, init scale " +
      G.config.init_scale + ") and evaluated in float64; regenerate bit for bit with: " + G.command;
    const ini = item.initial;
    state.o = ini.objective; state.f = ini.family; state.v = ini.value; state.s = ini.seed;
    if (index(state.o, state.f, state.v, state.s) !== ini.index) {
      return fail("the page's first model is not the grid's model " + ini.index);
    }
    shown = ini.index; S.index = shown; sweepKey = state.o + "/" + state.f + "/" + state.s;
    syncControls();
    for (const c of [cObj, cFam, cSeed]) c.disabled = false;
    cPar.disabled = A.objectives[state.o].values.length === 1;
    S.first_ready_ms = performance.now();
    status.dataset.index = String(shown);
    status.dataset.key = label(state.o, state.f, state.v, state.s);
    status.dataset.state = "ready";
    status.textContent = "model " + (shown + 1) + " of " + N + " (" + status.dataset.key +
      "): drawn in " + (S.first_paint_ms - t0).toFixed(0) + " ms, grid of " + N +
      " models read in " + S.phases.grid_ms.toFixed(0) + " ms — every number exact " +
      "(float64, toyrd.evaluate)";
    S.ready = true;
  }

  main().catch((e) => fail(e && e.message ? e.message : String(e)));
})();
