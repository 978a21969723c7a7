"""The static explorer (``toyrd explore --static``) in headless Chromium: size, first paint,
redraw per control change.

* size: every file the command writes (HTML, Bokeh's JavaScript, the grid), bytes;
* first paint: fresh loads of ``index.html`` from a local http.server, each in a NEW Chromium
  (empty cache): milliseconds from navigation start until the first model is drawn (the page's
  ``first_ready_ms``: data decoded, plots embedded, sources set, one animation frame painted),
  beside the browser's own first-contentful-paint;
* redraw: milliseconds from a control's event to the end of the next animation frame after the
  sources were set (the page's ``data-ms``), for the walk of ``docs/scripts/check_site.py``
  (every control, several positions, real key and mouse events), for a slider held across its
  41 positions and for each select through its options (driven from the page: an input or
  change event per step), with the CPU time the whole Chromium process tree spent per slider
  change (load-independent, unlike the wall times on a shared machine: the 1-minute load
  average is recorded beside them).

Run alone: ``python -m benchmarks.bench_static [--quick]`` (quick: 2 loads, half the sweep).
Against an older page, side by side (alternating fresh browsers, same sweeps, same load):
``python -m benchmarks.bench_static --baseline DIR`` where an older checkout wrote
``toyrd explore --static DIR``.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import ROOT


def _stats(ms: list) -> dict:
    s = sorted(ms)
    return {
        "n": len(s),
        "median_ms": round(statistics.median(s), 2),
        "p90_ms": round(s[min(len(s) - 1, int(0.9 * len(s)))], 2),
        "max_ms": round(s[-1], 2),
        "min_ms": round(s[0], 2),
    }


def _tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) of process ``root`` and all its descendants (Linux /proc)."""
    import os

    tick = os.sysconf("SC_CLK_TCK")
    kids: dict = {}
    cpu: dict = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kids.setdefault(int(fields[1]), []).append(int(d))
        cpu[int(d)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [root]
    while todo:
        p = todo.pop()
        total += cpu.get(p, 0.0)
        todo += kids.get(p, [])
    return total


def _load() -> float:
    with open("/proc/loadavg") as fh:
        return float(fh.read().split()[0])


# One slider position per step, driven from the page itself (no WebDriver call between steps,
# so nothing but the page runs in the renderer): the input event, then the page's own redraw
# time, then a pause of 100 ms so that the steps do not overlap.
_SWEEP_JS = """
const done = arguments[arguments.length - 1], n = arguments[0];
const el = document.getElementById('ctl-param'), S = window.TOYRD_STATIC;
let k = 0;
function step() {
  if (k >= n) { done(S.timings.slice(-n)); return; }
  const before = S.timings.length;
  el.value = String((k + 1) % (+el.max + 1)); k++;
  el.dispatchEvent(new Event('input'));
  (function wait() {
    if (S.timings.length > before) setTimeout(step, 100); else setTimeout(wait, 5);
  })();
}
step();
"""


# Each select in turn: its next option per step (wrapping), driven from the page as above.
_SELECT_JS = """
const done = arguments[arguments.length - 1], n = arguments[0], id = arguments[1];
const el = document.getElementById(id), S = window.TOYRD_STATIC;
let k = 0;
function step() {
  if (k >= n) { done(S.timings.slice(-n)); return; }
  const before = S.timings.length;
  el.value = String((+el.value + 1) % el.options.length); k++;
  el.dispatchEvent(new Event('change'));
  (function wait() {
    if (S.timings.length > before) setTimeout(step, 100); else setTimeout(wait, 5);
  })();
}
step();
"""


def _page_sweeps(check, folder: Path, n: int) -> dict:
    """In a fresh Chromium: the slider across ``n`` positions and each select through ``n // 2``
    changes, per-change milliseconds, and the Chromium tree's CPU per slider change."""
    with check._serve(folder) as base:
        drv = check._driver((1280, 1000))
        try:
            drv.get(base + "index.html")
            check._static_state(drv, None)
            drv.set_script_timeout(600)
            drv.execute_async_script(_SWEEP_JS, 5)  # warm up: the first changes compile
            pid = drv.service.process.pid
            c0, t0 = _tree_cpu_s(pid), time.perf_counter()
            time.sleep(1.5)
            idle_rate = (_tree_cpu_s(pid) - c0) / (time.perf_counter() - t0)
            c0, t0 = _tree_cpu_s(pid), time.perf_counter()
            slider = drv.execute_async_script(_SWEEP_JS, n)
            cpu = _tree_cpu_s(pid) - c0 - idle_rate * (time.perf_counter() - t0)
            selects = {
                key: drv.execute_async_script(_SELECT_JS, max(2, n // 2), f"ctl-{key}")
                for key in ("objective", "family", "seed")
            }
        finally:
            drv.quit()
    return {"slider": slider, "cpu_ms": 1000 * cpu / n, **selects}


def compare(baseline: Path, quick: bool = False) -> dict:
    """This checkout's page against ``baseline`` (a folder an older ``toyrd explore --static``
    wrote), side by side: alternate fresh browsers on each, same sweeps, same load."""
    sys.path.insert(0, str(ROOT / "docs" / "scripts"))
    import check_site as check

    from toyrd.cli import main

    out = Path(tempfile.mkdtemp(prefix="toyrd-bench-static-"))
    with contextlib.redirect_stdout(sys.stderr):  # stdout is the JSON
        if main(["explore", "--static", str(out)]) != 0:
            raise RuntimeError("toyrd explore --static failed")
    pages = {"this": out, "baseline": baseline}
    got = {
        k: {"slider": [], "objective": [], "family": [], "seed": [], "cpu_ms": []} for k in pages
    }
    load = [_load()]
    for _ in range(2 if quick else 3):
        for name, folder in pages.items():
            one = _page_sweeps(check, folder, 20 if quick else 41)
            for k, v in one.items():
                got[name][k] += v if isinstance(v, list) else [v]
    load.append(_load())
    summary = {
        name: {
            **{k: _stats(v) for k, v in d.items() if k != "cpu_ms"},
            "cpu_ms_per_slider_change": round(statistics.median(d["cpu_ms"]), 1),
        }
        for name, d in got.items()
    }
    summary["ratio_slider_median"] = round(
        summary["baseline"]["slider"]["median_ms"] / summary["this"]["slider"]["median_ms"], 2
    )
    summary["baseline_dir"] = str(baseline)
    summary["load_average_1min"] = load
    return summary


def run(quick: bool = False) -> dict:
    sys.path.insert(0, str(ROOT / "docs" / "scripts"))
    import check_site as check
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from toyrd.cli import main

    out = Path(tempfile.mkdtemp(prefix="toyrd-bench-static-"))
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # stdout is the JSON when run alone
        if main(["explore", "--static", str(out)]) != 0:
            raise RuntimeError("toyrd explore --static failed")
    build_s = time.perf_counter() - t0
    sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
    loads, paints, fcp = [], [], []
    walk_ms, sweep_ms = [], []
    n_loads = 2 if quick else 5
    with check._serve(out) as base:
        url = base + "index.html"
        for _ in range(n_loads):
            drv = check._driver((1280, 1000))
            try:
                drv.get(url)
                st = check._static_state(drv, None)
                loads.append(st["first_ms"])
                paints.append(st["paint_ms"])
                fcp.append(
                    drv.execute_script(
                        "const e = performance.getEntriesByName('first-contentful-paint');"
                        "return e.length ? e[0].startTime : null;"
                    )
                )
            finally:
                drv.quit()
        drv = check._driver((1280, 1000))
        try:
            info, problems = check.check_static_explorer(drv, url, out)
            if problems:
                raise RuntimeError(f"the walk failed: {problems}")
            walk_ms = info["ms"]
            slider = drv.find_element(By.ID, "ctl-param")
            drv.execute_script("arguments[0].focus()", slider)
            slider.send_keys(Keys.HOME)
            check._static_state(drv, None)
            pid = drv.service.process.pid
            n = 20 if quick else 41
            # idle: what Chromium burns doing nothing for as long as the sweep takes
            c0, t0 = _tree_cpu_s(pid), time.perf_counter()
            time.sleep(3.0)
            idle_rate = (_tree_cpu_s(pid) - c0) / (time.perf_counter() - t0)
            load = [_load()]
            drv.set_script_timeout(600)
            c0, t0 = _tree_cpu_s(pid), time.perf_counter()
            sweep_ms = drv.execute_async_script(_SWEEP_JS, n)
            wall = time.perf_counter() - t0
            cpu = _tree_cpu_s(pid) - c0 - idle_rate * wall
            load.append(_load())
            cpu_per_change_ms = 1000 * cpu / n
        finally:
            drv.quit()
    # every select through its options, driven from the page like the slider (fresh browser)
    selects = _page_sweeps(check, out, 20 if quick else 41)
    return {
        "page": "toyrd explore --static DIR, loaded from http://127.0.0.1 (http.server)",
        "build_s": round(build_s, 2),
        "bytes": sizes,
        "total_bytes": sum(sizes.values()),
        "first_model_drawn_ms": [round(x, 1) for x in paints],
        "controls_ready_ms": [round(x, 1) for x in loads],
        "first_contentful_paint_ms": [None if x is None else round(x, 1) for x in fcp],
        "redraw_walk": _stats(walk_ms),
        "redraw_slider_sweep": _stats(sweep_ms),
        "slider_sweep_cpu_ms_per_change": round(cpu_per_change_ms, 1),
        **{f"redraw_select_{k}": _stats(selects[k]) for k in ("objective", "family", "seed")},
        "cpu_note": "CPU seconds of the whole Chromium process tree (browser, renderer, GPU "
        "process) during the sweep, less its idle rate, per change: the cost of one redraw "
        "whatever the other load on the machine; the wall times stretch with that load",
        "load_average_1min": load,
        "targets": {"redraw_ms": 50, "first_paint_s": 3, "total_bytes": 15 * 1024 * 1024},
    }


if __name__ == "__main__":
    import json

    quick = "--quick" in sys.argv
    if "--baseline" in sys.argv:  # python -m benchmarks.bench_static --baseline OLD_PAGE_DIR
        print(
            json.dumps(compare(Path(sys.argv[sys.argv.index("--baseline") + 1]), quick), indent=1)
        )
    else:
        print(json.dumps(run(quick=quick), indent=1))
