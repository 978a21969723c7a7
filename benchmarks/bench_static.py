"""The static explorer (``toyrd explore --static``) in headless Chromium: size, first paint,
redraw per control change.

* size: every file the command writes (HTML, Bokeh's JavaScript, the grid), bytes;
* first paint: fresh loads of ``index.html`` from a local http.server, each in a NEW Chromium
  (empty cache): milliseconds from navigation start until the first model is drawn (the page's
  ``first_ready_ms``: data decoded, plots embedded, sources set, one animation frame painted),
  beside the browser's own first-contentful-paint;
* redraw: milliseconds from a control's event to the end of the next animation frame after the
  sources were set (the page's ``data-ms``), for the walk of ``docs/scripts/check_site.py``
  (every control, several positions, real key and mouse events) and for a slider held across its
  41 positions (one arrow key press per position).

Run alone: ``python -m benchmarks.bench_static [--quick]`` (quick: 2 loads, half the sweep).
"""

from __future__ import annotations

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


def run(quick: bool = False) -> dict:
    sys.path.insert(0, str(ROOT / "docs" / "scripts"))
    import check_site as check
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from toyrd.cli import main

    out = Path(tempfile.mkdtemp(prefix="toyrd-bench-static-"))
    t0 = time.perf_counter()
    if main(["explore", "--static", str(out)]) != 0:
        raise RuntimeError("toyrd explore --static failed")
    build_s = time.perf_counter() - t0
    sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
    loads, fcp = [], []
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
            for _ in range(20 if quick else 40):
                before = drv.execute_script("return window.TOYRD_STATIC.timings.length")
                slider.send_keys(Keys.ARROW_RIGHT)
                while drv.execute_script("return window.TOYRD_STATIC.timings.length") == before:
                    time.sleep(0.005)
                sweep_ms.append(drv.execute_script("return window.TOYRD_STATIC.timings.at(-1)"))
        finally:
            drv.quit()
    return {
        "page": "toyrd explore --static DIR, loaded from http://127.0.0.1 (http.server)",
        "build_s": round(build_s, 2),
        "bytes": sizes,
        "total_bytes": sum(sizes.values()),
        "first_model_ms": [round(x, 1) for x in loads],
        "first_contentful_paint_ms": [None if x is None else round(x, 1) for x in fcp],
        "redraw_walk": _stats(walk_ms),
        "redraw_slider_sweep": _stats(sweep_ms),
        "targets": {"redraw_ms": 50, "first_paint_s": 3, "total_bytes": 15 * 1024 * 1024},
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick="--quick" in sys.argv), indent=1))
