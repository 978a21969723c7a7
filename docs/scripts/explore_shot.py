"""Screenshot of ``toyrd explore`` (docs/img/explore.png) and the time per update, as JSON.

Starts ``toyrd explore --port 0 --no-browser`` in a subprocess, drives headless Chromium
(selenium + the system's chromedriver; loopback only), walks a β-sweep of the bump family so
the trail shows on the planes, and times each β change from the key press to the page showing
the new model (the first change of each objective kind / family compiles and is reported
apart). Run from the repository root:

    PYTHONPATH=. python docs/scripts/explore_shot.py [--out docs/img/explore.png]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

DEEP = """
const deep = (root, sel) => {
  const el = root.querySelector(sel);
  if (el) return el;
  for (const n of root.querySelectorAll('*')) {
    if (n.shadowRoot) { const r = deep(n.shadowRoot, sel); if (r) return r; }
  }
  return null;
};
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/img/explore.png")
    ap.add_argument("--betas", default="0.3,0.5,0.7,0.85,1.0,1.2,1.5,2.0")
    args = ap.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    from toyrd.explore import _model as M

    env = dict(os.environ, JAX_PLATFORMS="cpu")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "toyrd.cli",
            "explore",
            "--port",
            "0",
            "--no-browser",
            "--out",
            "explore_out",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    url = proc.stdout.readline().split()[3]
    opts = webdriver.ChromeOptions()
    for a in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1440,1080",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--proxy-server=http://127.0.0.1:9",
        "--disable-background-networking",
    ):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)

    def find(host, inner):
        return d.execute_script(
            DEEP + "const h = deep(document, arguments[0]);"
            "return deep(h.shadowRoot || h, arguments[1]);",
            host,
            inner,
        )

    def wait(key, timeout=120, t0=None):
        """{numbers_s: until the table and planes show the model, ready_s: until Figure 2 does
        too, train_s / draw_s: the server's own timings}, seconds from the call."""
        t0 = time.perf_counter() if t0 is None else t0
        end, out = time.monotonic() + timeout, {}
        while time.monotonic() < end:
            st = d.execute_script(
                DEEP + "const e = deep(document, '#toyrd-status');"
                "return e ? [e.dataset.state, e.dataset.key] : null;"
            )
            if st and st[1] == key and st[0] in ("drawing", "ready"):
                out.setdefault("numbers_s", time.perf_counter() - t0)
                if st[0] == "ready":
                    out["ready_s"] = time.perf_counter() - t0
                    t = d.execute_script(DEEP + "return deep(document, '#toyrd-timing').dataset;")
                    out.update(train_s=float(t["train"]), draw_s=float(t["draw"]))
                    return out
            time.sleep(0.01)
        raise SystemExit(f"timed out waiting for {key}")

    def type_beta(value):
        box = find(".toyrd-hyper", "input")
        box.click()
        old = box.get_attribute("value") or ""
        box.send_keys(Keys.END, *[Keys.BACKSPACE] * (len(old) + 2), str(value), Keys.ENTER)

    out = {"url": url, "updates": []}
    try:
        d.get(url)
        s = M.check_settings(M.Settings())
        out["first_page"] = wait(M.settings_key(s))
        Select(find(".toyrd-family", "select")).select_by_visible_text("bump")
        wait(M.settings_key(s := s._replace(family="bump")))
        Select(find(".toyrd-objective", "select")).select_by_visible_text(M.objective_label("beta"))
        out["first_beta_bump"] = wait(
            M.settings_key(s := M.check_settings(s._replace(objective="beta", hyper=1.0)))
        )
        for b in [float(x) for x in args.betas.split(",")]:
            t0 = time.perf_counter()  # the key presses are part of the timed interval
            type_beta(b)
            out["updates"].append(
                {"beta": b, **wait(M.settings_key(s := s._replace(hyper=b)), t0=t0)}
            )
        type_beta(0.7)
        wait(M.settings_key(s._replace(hyper=0.7)))
        find(".toyrd-seed", "input").click()  # move the caret out of the β box
        time.sleep(1.0)  # let the PNG repaint
        d.save_screenshot(args.out)
    finally:
        d.quit()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        proc.stdout.close()
    ups = out["updates"]
    out["summary"] = {
        "n": len(ups),
        **{
            f"median_{k}": statistics.median(u[k] for u in ups)
            for k in ("numbers_s", "ready_s", "train_s", "draw_s")
        },
        "max_ready_s": max(u["ready_s"] for u in ups),
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
