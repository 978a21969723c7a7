"""``toyrd explore``: seconds per change and to the first usable page, against issue 25's goals.

Three measurements, each after the first compile of the configuration it times:

* **numbers** (in this process, no server): one β change of the default page — train the model
  (:func:`toyrd.explore._model.train_model`, Figure 2's family, 2000 steps) and build every
  plot's columns (:func:`toyrd.explore._view.panel_data`): what the RD point and the table need.
  Goal ≤ 0.15 s median.
* **page** (a ``toyrd explore`` server and headless Chromium): from the Enter key of a typed β to
  the browser showing the new model (status ``ready`` with its key; the table, the planes and
  Figure 2's five panels arrive in the same update). Goal ≤ 0.3 s median. The server's own
  training time of each change (from the status line) is recorded beside it, and the same
  interval timed inside the page (Enter keydown to the first frame showing the new model, by the
  browser's clock: ``page_in_browser_s``, free of WebDriver's polling round trips).
* **first page**: a fresh server process with JAX's persistent compilation cache warm (a first
  server run fills it): from ``driver.get`` to the controls being on the page (*usable*) and to
  the first model shown (*ready*). Goal ≤ 5 s to usable.

Run alone: ``python -m benchmarks.bench_explore [--quick]``; the JSON goes to stdout.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

from benchmarks import ROOT

#: β values typed one after the other (each a new model of the same compiled run).
BETAS = (0.3, 0.5, 0.7, 0.85, 1.2, 1.5, 2.0, 0.6, 0.4, 0.9, 1.1, 0.2)
# In the page: the time of the Enter keydown (capture phase, before Bokeh sees it) to the first
# animation frame whose status names the new model, by the browser's clock (no WebDriver round
# trips in the interval). Run after toyrd.explore._browser.DEEP (its `deep` helper).
_WATCH = """
const key = arguments[0];
window.__toyrd_ms = null;
let t0 = null;
document.addEventListener('keydown', (e) => { if (e.key === 'Enter' && t0 === null)
  t0 = performance.now(); }, {capture: true, once: true});
const tick = () => {
  const e = deep(document, '#toyrd-status');
  if (t0 !== null && e && e.dataset.state === 'ready' && e.dataset.key === key)
    window.__toyrd_ms = performance.now() - t0;
  else requestAnimationFrame(tick);
};
requestAnimationFrame(tick);
"""
GOALS = {"numbers_median_s": 0.15, "page_median_s": 0.3, "first_usable_s": 5.0}


def _numbers(n: int) -> list:
    from toyrd.explore import _model as M
    from toyrd.explore import _view as V

    s = M.check_settings(M.Settings())
    M.train_model(s)  # the compile
    out = []
    for b in BETAS[:n]:
        t0 = time.perf_counter()
        up = M.train_model(s._replace(hyper=b))
        V.panel_data(up.px, up.pzx, up.encoder, up.decoder, up.marginal, up.quantities,
                     objective="beta", hyper=b, label=M.describe(up.settings))  # fmt: skip
        out.append(time.perf_counter() - t0)
    return out


def _page(n: int, cache: str) -> dict:
    from selenium.webdriver.common.keys import Keys

    from toyrd.explore import _browser as B
    from toyrd.explore import _model as M

    env = {"TOYRD_JAX_CACHE": cache}
    first = {}
    for run in ("fill", "warm"):  # the first server fills the cache, the second is timed
        t0 = time.perf_counter()
        proc, url = B.start_server(tempfile.mkdtemp(), extra_env=env)
        listen_s = time.perf_counter() - t0
        d = B.chromium(1280, 900)
        try:
            page = B.Page(d, url)
            t0 = time.perf_counter()
            d.get(url)
            end = time.monotonic() + 120
            while page.box(".toyrd-hyper") is None and time.monotonic() < end:
                time.sleep(0.01)
            usable = time.perf_counter() - t0
            s = M.check_settings(M.Settings())
            page.wait("ready", M.settings_key(s), 180)
            first[run] = {"listen_s": listen_s, "usable_s": usable,
                          "ready_s": time.perf_counter() - t0}  # fmt: skip
            if run == "fill":
                continue
            times, server, inside = [], [], []
            for b in BETAS[:n]:
                page.focus(".toyrd-hyper")
                page.select_all()
                page.keys(str(b))
                key = M.settings_key(s := s._replace(hyper=b))
                d.execute_script(B.DEEP + _WATCH, key)
                t0 = time.perf_counter()
                page.keys(Keys.ENTER)
                st = page.wait("ready", key, 60)
                times.append(time.perf_counter() - t0)
                server.append(float(st[2].split("trained in ")[1].split(" s")[0]))
                end = time.monotonic() + 30
                while (ms := d.execute_script("return window.__toyrd_ms;")) is None:
                    if time.monotonic() > end:
                        raise RuntimeError("the in-page watch never saw the new model")
                    time.sleep(0.02)
                inside.append(ms / 1000.0)
            errors = page.console_errors()
        finally:
            d.quit()
            B.stop_server(proc)
    return {
        "first_page": first,
        "page_s": times,
        "page_in_browser_s": inside,
        "server_train_s": server,
        "console_errors": len(errors),
    }


def run(quick: bool = False) -> dict:
    n = 4 if quick else len(BETAS)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    numbers = _numbers(n)
    with tempfile.TemporaryDirectory() as cache:
        page = _page(n, os.path.join(cache, "jax"))
    result = {
        "root": str(ROOT),
        "settings": "default page: beta, Figure 2 family, init 0.01, seed 0, 2000 steps",
        "numbers_s": numbers,
        "numbers_median_s": statistics.median(numbers),
        "page_s": page["page_s"],
        "page_median_s": statistics.median(page["page_s"]),
        "page_max_s": max(page["page_s"]),
        "page_in_browser_s": page["page_in_browser_s"],
        "page_in_browser_median_s": statistics.median(page["page_in_browser_s"]),
        "page_server_train_s": page["server_train_s"],
        "page_server_train_median_s": statistics.median(page["server_train_s"]),
        "first_page": page["first_page"],
        "first_usable_s": page["first_page"]["warm"]["usable_s"],
        "first_ready_s": page["first_page"]["warm"]["ready_s"],
        "console_errors": page["console_errors"],
        "goals": GOALS,
    }
    result["met"] = {k: result[k] <= v for k, v in GOALS.items()}
    return result


if __name__ == "__main__":
    import sys

    from toyrd.cli import dumps

    print(dumps(run(quick="--quick" in sys.argv), indent=1))
