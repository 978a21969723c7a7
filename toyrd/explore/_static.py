"""The explorer without a server: a precomputed grid of exact models and the page that walks it.

Two steps, both behind ``toyrd explore``:

* ``toyrd explore --build-grid DIR`` trains every model of :mod:`toyrd.explore._grid` (about
  five minutes on two cores), evaluates each with :func:`toyrd.evaluate` in float64, runs the
  explorer's own view code (:func:`toyrd.explore._view.panel_data`) on it and writes the grid:
  ``grid.json`` (the manifest: axes, layout, training configuration, command, sha256) and
  ``grid.bin.gz`` (gzip of the raw bytes). The committed copy is :data:`GRID_DIR`.
* ``toyrd explore --static DIR`` writes the page: ``index.html``, Bokeh's JavaScript copied
  from the installed package (no CDN), ``toyrd-grid.js`` (the manifest and the gzip bytes as
  base64, so the page also opens from ``file://``, where a page may not fetch files) and
  ``toyrd-static.js`` (the controls). No Python, no JAX and no training at page-writing time.

What is stored per model (why: every panel of the live explorer can be drawn, every number
shown is exact):

* the 14 exact quantities of :func:`toyrd.evaluate` (H, D, R, ELBO, I_e, … I_zstar), float64:
  the table, the current point, the trail and the sweep are drawn from these, never rounded;
* the display-only columns of :func:`~toyrd.explore._view.panel_data` — the iso-loss line,
  p*/g/d̄, q/m/class codes and the three 30 × 30 images e(z|x), d(x|z), p(x'|x) — as float16
  (3 significant digits, finer than a colour map or a line at plot resolution can show);
* nothing that is the same for every model (bin numbers, p*, names, notes: the manifest holds
  them once) and nothing derived (labels, the table's text: written by the page).

Raw size: 14 × 8 + 3124 × 2 = 6,360 bytes per model; gzip takes the grid to about half.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import pathlib
import shutil
import time

import numpy as np

from toyrd.errors import ToyrdError
from toyrd.explore import _grid as G

__all__ = [
    "BOKEH_FILES",
    "CONSTANT_COLUMNS",
    "DISPLAY_COLUMNS",
    "GRID_DIR",
    "ISO_N",
    "INITIAL",
    "ROOTS",
    "initial_position",
    "model_label",
    "sweep_data",
    "view_data",
    "value_text",
    "build_grid",
    "read_grid",
    "write_grid",
    "write_static",
    "model_index",
]

#: The committed grid (package data, so an installed toyrd writes the page without training).
GRID_DIR = pathlib.Path(__file__).resolve().parent / "grid"
#: The iso-loss line's stored length: 121 points, one more at the target rate's kink; a
#: shorter line is padded by repeating its last point (which draws nothing more).
ISO_N = 122
#: The columns stored per model as float16, by source: (source, column).
DISPLAY_COLUMNS = (
    ("iso", "R"),
    ("iso", "D"),
    ("fig2_data", "g"),
    ("fig2_data", "dbar"),
    ("fig2_latent", "q"),
    ("fig2_latent", "m"),
    ("fig2_latent", "w0"),
    ("fig2_latent", "top"),
    ("fig2_encoder", "img"),
    ("fig2_decoder", "img"),
    ("fig2_channel", "img"),
)
#: Columns that are equal for every model: stored once in the manifest.
CONSTANT_COLUMNS = (
    ("fig2_data", "x"),
    ("fig2_data", "px"),
    ("fig2_latent", "z"),
    ("fig2_encoder", "n"),
    ("fig2_decoder", "n"),
    ("fig2_channel", "n"),
)
#: The remedies whose loss is not a function of (R, D) alone have no iso-loss line; KL annealing
#: ends on the ELBO (β_t = 1), so its line is the ELBO's.
_ISO_OBJECTIVE = {"elbo": "elbo", "beta": "beta", "target_rate": "target_rate", "kl_anneal": "elbo"}
#: The Bokeh bundle the page loads (no widget: the table is plain HTML, see :data:`ROOTS`).
BOKEH_FILES = ("bokeh.min.js",)
_HERE = pathlib.Path(__file__).resolve().parent


def value_text(obj: G.GridObjective, v) -> str:
    """The parameter as the controls and labels write it ('β=0.5'; '' for no parameter)."""
    return "" if obj.symbol is None else f"{obj.symbol}={v:.4g}"


def model_label(key: G.ModelKey, seeds=G.SEEDS) -> str:
    """One model's name on the page (the page's JavaScript writes the same string)."""
    obj = G.OBJECTIVES[key.objective]
    v = value_text(obj, obj.values[key.value])
    head = obj.key + (f" {v}" if v else "")
    return f"{head} · {G.FAMILIES[key.family]} · seed {seeds[key.seed]}"


def model_index(key, seeds=G.SEEDS) -> int:
    """The position of ``key`` in storage order (:func:`toyrd.explore._grid.model_keys`)."""
    key = G.ModelKey(*key)
    start = sum(len(o.values) for o in G.OBJECTIVES[: key.objective]) * len(G.FAMILIES)
    n_v = len(G.OBJECTIVES[key.objective].values)
    return ((start + key.family * n_v + key.value) * len(seeds)) + key.seed


def _model_columns(key: G.ModelKey, tables, toy, seeds):
    """(exact quantities dict, view data dict) of one model, by the explorer's view code."""
    from toyrd.explore import _view as V
    from toyrd.quantities import evaluate

    e, d, m = tables
    q = evaluate(toy.px, e, d, m, pzx=toy.pzx)
    obj = G.OBJECTIVES[key.objective]
    kind = _ISO_OBJECTIVE.get(obj.key)
    hyper = obj.values[key.value] if kind == obj.key else None
    data = V.panel_data(
        toy.px,
        toy.pzx,
        e,
        d,
        m,
        q,
        objective=kind or "elbo",
        hyper=hyper,
        label=model_label(key, seeds),
    )
    iso = data["iso"]
    if kind is None:
        iso = {"R": [np.nan] * ISO_N, "D": [np.nan] * ISO_N}
    elif len(iso["R"]) < ISO_N:
        pad = ISO_N - len(iso["R"])
        iso = {k: list(v) + [v[-1]] * pad for k, v in iso.items()}
    data["iso"] = iso
    return q, data


def build_grid(keys, tables, seeds=G.SEEDS):
    """The manifest (dict) and raw bytes of the models ``keys`` with float64 ``tables``
    (encoder, decoder, marginal stacks in the order of ``keys``)."""
    from toyrd.data import toy_data
    from toyrd.explore import _view as V

    toy = toy_data()
    enc, dec, mar = tables
    names = None
    exact, display = [], []
    layout, constants = [], {}
    for i, key in enumerate(keys):
        q, data = _model_columns(G.ModelKey(*key), (enc[i], dec[i], mar[i]), toy, seeds)
        if names is None:
            names = [k for k in V.QUANTITY_NOTES if k in q]
            offset = 0
            for s, c in DISPLAY_COLUMNS:
                col = data[s][c]
                a = np.asarray(col[0] if c == "img" else col, dtype=np.float64)
                layout.append({"source": s, "column": c, "shape": list(a.shape), "offset": offset})
                offset += a.size
            for s, c in CONSTANT_COLUMNS:
                constants.setdefault(s, {})[c] = data[s][c]
            first = data
        for s, c in CONSTANT_COLUMNS:
            if data[s][c] != first[s][c]:
                raise ToyrdError(f"grid: {s}.{c} differs between models; it cannot be constant")
        values = [float(q[k]) for k in names]
        if not all(np.isfinite(values)):
            raise ToyrdError(f"grid: model {model_label(G.ModelKey(*key), seeds)} is not finite")
        exact.append(values)
        parts = [
            np.asarray(data[s][c][0] if c == "img" else data[s][c], np.float64).ravel()
            for s, c in DISPLAY_COLUMNS
        ]
        display.append(np.concatenate(parts))
    exact_arr = np.asarray(exact, dtype="<f8")
    with np.errstate(over="raise"):
        display_arr = np.asarray(display, dtype=np.float64).astype("<f2")
    raw = exact_arr.tobytes() + display_arr.tobytes()
    manifest = {
        "format": "toyrd static explorer grid 1",
        "n_models": len(keys),
        "quantities": names,
        "quantity_notes": [V.QUANTITY_NOTES[k] for k in names],
        "n_display": int(display_arr.shape[1]),
        "layout": layout,
        "constants": constants,
        "keys": [list(map(int, k)) for k in keys],
        "raw_bytes": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }
    return manifest, raw


def _axes(seeds) -> dict:
    from toyrd.experiments.remedies import SOURCES
    from toyrd.explore import _view as V

    objectives = []
    for o in G.OBJECTIVES:
        note = V.OBJECTIVE_NOTES.get(o.key) or f"{SOURCES[o.key][1]} ({SOURCES[o.key][0]})"
        objectives.append(
            {
                "key": o.key,
                "label": o.label,
                "symbol": o.symbol,
                "values": [None if v is None else float(v) for v in o.values],
                "values_text": [value_text(o, v) for v in o.values],
                "note": note,
            }
        )
    families = [{"name": f, "note": V.FAMILY_NOTES.get(f, "")} for f in G.FAMILIES]
    return {"objectives": objectives, "families": families, "seeds": list(map(int, seeds))}


def write_grid(out_dir, *, seeds=G.SEEDS, tables_cache=None, log=print) -> dict:
    """Train the whole grid (or read float64 tables from ``tables_cache`` if it exists; write
    them there otherwise) and write ``grid.json`` + ``grid.bin.gz`` into ``out_dir``."""
    keys = G.model_keys(seeds)
    out = pathlib.Path(out_dir)
    try:  # before minutes of training, not after
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ToyrdError(f"--build-grid {out_dir}: cannot be created ({exc.strerror})") from None
    t0 = time.perf_counter()
    cache = None if tables_cache is None else pathlib.Path(tables_cache)
    times = {}
    if cache is not None and cache.is_file():
        with np.load(cache) as z:
            if z["keys"].tolist() != [list(k) for k in keys]:
                raise ToyrdError(f"grid: {cache} holds another grid; delete it to retrain")
            tables = (z["encoder"], z["decoder"], z["marginal"])
    else:
        tables, times = G.train_keys(keys, seeds, log=log)
        if cache is not None:
            np.savez(cache, encoder=tables[0], decoder=tables[1], marginal=tables[2], keys=keys)
    train_s = time.perf_counter() - t0
    manifest, raw = build_grid(keys, tables, seeds)
    manifest.update(
        axes=_axes(seeds),
        config={k: getattr(G.CONFIG, k) for k in ("steps", "lr", "init_scale", "warmup", "n_z")}
        | {"dtype": G.CONFIG.dtype, "schedule": G.CONFIG.schedule, "b1": G.CONFIG.b1},
        command="python -m toyrd explore --build-grid DIR",
        train_s={
            f"{G.OBJECTIVES[o].key} × {G.FAMILIES[f]}": round(t, 1) for (o, f), t in times.items()
        },
        total_s=round(time.perf_counter() - t0, 1),
        train_total_s=round(train_s, 1),
    )
    (out / "grid.bin.gz").write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    (out / "grid.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    log(f"grid: {len(keys)} models, {len(raw):,} bytes raw, sha256 {manifest['sha256'][:16]}…")
    return manifest


def read_grid(grid_dir=GRID_DIR):
    """(manifest, exact (N, Q) float64, display (N, P) float16) of a written grid; the raw
    bytes must match the manifest's sha256."""
    grid_dir = pathlib.Path(grid_dir)
    try:
        manifest = json.loads((grid_dir / "grid.json").read_text(encoding="utf-8"))
        raw = gzip.decompress((grid_dir / "grid.bin.gz").read_bytes())
    except OSError as exc:
        raise ToyrdError(f"grid {grid_dir}: cannot be read ({exc.strerror or exc})") from None
    if hashlib.sha256(raw).hexdigest() != manifest["sha256"]:
        raise ToyrdError(f"grid {grid_dir}: grid.bin.gz does not match the sha256 of grid.json")
    n, q, p = manifest["n_models"], len(manifest["quantities"]), manifest["n_display"]
    exact = np.frombuffer(raw, dtype="<f8", count=n * q).reshape(n, q)
    display = np.frombuffer(raw, dtype="<f2", offset=8 * n * q).reshape(n, p)
    return manifest, exact, display


#: The page's Bokeh roots, each rendered into the element of its name (each lays out alone). The
#: page writes the table itself (the view's ``TABLE_JS``): no Div to re-render and lay out.
ROOTS = ("toyrd-planes", "toyrd-fig2")


def _roots(parts, sources):
    """The page's roots (:data:`ROOTS`); every source is reachable from them (the table's
    source feeds no plot, so the planes root's ``tags`` carry the sources)."""
    from bokeh.layouts import column, row

    sw = dict(sizing_mode="stretch_width")
    planes = row(parts["rd"], parts["ib"], tags=[sources[k] for k in sorted(sources)], **sw)
    fig2 = column(
        row(parts["fig2_i"], parts["fig2_ii"], **sw),
        row(parts["fig2_iii"], parts["fig2_iv"], parts["fig2_v"], **sw),
        **sw,
    )
    return dict(zip(ROOTS, (planes, fig2)))


def _embed_json(roots: dict) -> dict:
    """``{"docs_json", "render_items"}`` for ``Bokeh.embed.embed_items``: one document, each
    root rendered into the page element whose id is its key."""
    from bokeh.embed.util import OutputDocumentFor, standalone_docs_json_and_render_items

    models = list(roots.values())
    with OutputDocumentFor(models):
        docs_json, [item] = standalone_docs_json_and_render_items(models)
    item = item.to_json()
    item["roots"] = {m.id: name for name, m in roots.items()}
    item["root_ids"] = [m.id for m in models]
    return {"docs_json": docs_json, "render_items": [item]}


#: The model the page opens on: the β-VAE at β = 1 (the middle of its grid, where the ELBO's
#: collapse shows), Figure 2's family, the first seed.
INITIAL = ("beta", 20, 0, 0)


def initial_position() -> tuple:
    """(objective, value, family, seed) indices of :data:`INITIAL`."""
    key, v, f, s = INITIAL
    return G.ModelKey([o.key for o in G.OBJECTIVES].index(key), v, f, s)


def view_data(manifest: dict, exact, display, i: int, label: str) -> dict:
    """Every model source's columns for stored model ``i`` — what the page's JavaScript sets
    (the float64 quantities as they are, the display columns decoded from float16)."""
    from toyrd.explore import _view as V

    names = manifest["quantities"]
    q = [float(v) for v in exact[i]]
    data: dict = {}
    for ent in manifest["layout"]:
        shape = tuple(ent["shape"])
        a = display[i, ent["offset"] : ent["offset"] + int(np.prod(shape))].astype(np.float64)
        col = [a.reshape(shape)] if len(shape) == 2 else a.tolist()
        data.setdefault(ent["source"], {})[ent["column"]] = col
    for src, cols in manifest["constants"].items():
        data.setdefault(src, {}).update(cols)
    for k in ("fig2_encoder", "fig2_decoder", "fig2_channel"):
        m = float(np.max(data[k]["img"][0]))
        data[k]["vmax"] = [m if m > 0 else 1.0]
    data["quantities"] = {
        "name": list(names),
        "value": q,
        "text": [V.fmt(v) for v in q],
        "note": list(manifest["quantity_notes"]),
        "label": [label] * len(names),
    }
    at = {k: q[names.index(k)] for k in ("R", "D", "I_zstar")}
    data["current"] = {"R": [at["R"]], "D": [at["D"]], "I": [at["I_zstar"]], "label": [label]}
    return data


def sweep_data(manifest: dict, exact, o: int, f: int, s: int) -> dict:
    """The sweep source: every value of objective ``o`` at family ``f`` and seed ``s``."""
    names = manifest["quantities"]
    out: dict = {"R": [], "D": [], "I": [], "label": []}
    for v in range(len(G.OBJECTIVES[o].values)):
        key = G.ModelKey(o, v, f, s)
        row = exact[model_index(key)]
        for col, name in (("R", "R"), ("D", "D"), ("I", "I_zstar")):
            out[col].append(float(row[names.index(name)]))
        out["label"].append(model_label(key))
    return out


def write_static(out_dir, grid_dir=GRID_DIR) -> dict:
    """Write the static explorer into ``out_dir`` (created); returns {file name: bytes}.

    The plots are embedded already showing the :data:`INITIAL` model (set by the view's own
    :func:`~toyrd.explore._view.show`), so the page paints a model before it reads the grid."""
    import bokeh

    from toyrd.data import toy_data
    from toyrd.explore import _model as M
    from toyrd.explore import _view as V

    manifest, exact, display = read_grid(grid_dir)
    out = pathlib.Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ToyrdError(f"--static {out_dir}: cannot be created ({exc.strerror})") from None
    toy = toy_data()
    parts, sources = V.figures(toy.entropy, M.frontier())
    first = initial_position()
    i = model_index(first)
    V.show(parts, sources, view_data(manifest, exact, display, i, model_label(first)))
    sources["sweep"].data = sweep_data(manifest, exact, first.objective, first.family, first.seed)
    table_html, sources["quantities"].js_property_callbacks = parts["table"].text, {}  # ROOTS
    item = _embed_json(_roots(parts, sources))
    item["table"] = {"js": V.TABLE_JS, "base": V.FONT["table"], "scale": parts["table"].tags[0]}
    item["initial"] = dict(first._asdict(), index=i)
    bokeh_js = pathlib.Path(bokeh.__file__).parent / "server" / "static" / "js"
    for name in BOKEH_FILES:
        shutil.copyfile(bokeh_js / name, out / name)
    gz = (pathlib.Path(grid_dir) / "grid.bin.gz").read_bytes()
    page_manifest = {k: v for k, v in manifest.items() if k != "keys"}
    grid_js = (
        "// The toyrd static explorer's grid (see grid.json of toyrd/explore/grid): the manifest\n"
        "// and the gzip bytes of the raw grid, base64 (a script, so file:// pages can read it).\n"
        f"window.TOYRD_GRID = {json.dumps(page_manifest, ensure_ascii=False)};\n"
        f'window.TOYRD_GRID_GZ = "{base64.b64encode(gz).decode("ascii")}";\n'
    )
    (out / "toyrd-grid.js").write_text(grid_js, encoding="utf-8")
    shutil.copyfile(_HERE / "static" / "toyrd-static.js", out / "toyrd-static.js")
    html = (_HERE / "static" / "index.html").read_text(encoding="utf-8")
    plots = json.dumps(item).replace("</", "<\\/")
    for key, text in (("BOKEH_VERSION", bokeh.__version__), ("TABLE_CSS", V.TABLE_CSS.strip()),
                      ("TABLE_HTML", table_html), ("PLOTS_JSON", plots)):  # fmt: skip
        html = html.replace("{{ " + key + " }}", text)
    (out / "index.html").write_text(html, encoding="utf-8")
    return {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.is_file()}
