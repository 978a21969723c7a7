"""Screenshots of ``toyrd explore`` for the docs: the page after a β sweep, at a given window size,
optionally in presentation mode.

Starts ``toyrd explore --port 0 --no-browser`` in a subprocess, drives headless Chromium
(:mod:`toyrd.explore._browser`: loopback only, real key events), waits for the default model,
presses "▶ sweep β" (13 models from β = 0 to 3, joined by one line), then types β = 0.5 and
Enter, and saves the screenshot. Run from the repository root:

    PYTHONPATH=. python docs/scripts/explore_shot.py                       # docs/img/explore.png
    PYTHONPATH=. python docs/scripts/explore_shot.py --size 1024x768 --out docs/img/explore_1024.png
    PYTHONPATH=. python docs/scripts/explore_shot.py --size 1920x1080 --presentation \\
        --out docs/img/explore_presentation.png
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/img/explore.png")
    ap.add_argument("--size", default="1440x1000", help="viewport WIDTHxHEIGHT (CSS px)")
    ap.add_argument("--presentation", action="store_true", help="switch presentation mode on")
    ap.add_argument("--panel", default="iii", help="Figure 2 panel shown in presentation mode")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))

    from selenium.webdriver.common.keys import Keys

    from toyrd.explore import _app as A
    from toyrd.explore import _browser as B
    from toyrd.explore import _model as M

    proc, url = B.start_server(tempfile.mkdtemp(prefix="explore_shot"))
    d = B.chromium(width, height)
    out = {"url": url, "size": [width, height], "presentation": args.presentation}
    try:
        page = B.Page(d, url)
        t0 = time.perf_counter()
        d.get(url)
        s = M.check_settings(M.Settings())
        page.wait("ready", M.settings_key(s), 180)
        out["first_model_s"] = time.perf_counter() - t0
        page.click(".toyrd-play")
        hi = A.SLIDERS["beta"][1]
        page.wait("ready", M.settings_key(s._replace(hyper=hi)), 300)
        page.focus(".toyrd-hyper")
        page.select_all()
        page.keys("0.5", Keys.ENTER)
        page.wait("ready", M.settings_key(s._replace(hyper=0.5)), 120)
        if args.presentation:
            page.click(".toyrd-presentation")
            if args.panel != "iii":
                d.execute_script(
                    B.DEEP + "const h = deep(document, '.toyrd-fig2-choice');"
                    "for (const b of (h.shadowRoot || h).querySelectorAll('button'))"
                    "  if (b.textContent.trim() === arguments[0]) b.click();",
                    args.panel,
                )
            shown = B.DEEP + (
                "const e = deep(document, '#toyrd-readout');"
                "return e ? e.getBoundingClientRect().height : 0;"
            )
            end = time.monotonic() + 60
            while not d.execute_script(shown) and time.monotonic() < end:
                time.sleep(0.05)
        # wait until the layout has settled: every canvas the same size in 3 checks running
        sizes = B.DEEP + (
            "const out = []; const walk = (r) => { for (const n of r.querySelectorAll('*')) {"
            "  if (n.tagName === 'CANVAS') out.push(n.width + 'x' + n.height);"
            "  if (n.shadowRoot) walk(n.shadowRoot); } }; walk(document); return out.join(',');"
        )
        seen, end = [], time.monotonic() + 60
        while time.monotonic() < end and not (len(seen) >= 3 and len(set(seen[-3:])) == 1):
            seen.append(d.execute_script(sizes))
            time.sleep(0.2)
        d.execute_script(  # the caret out of the β box (blur the focused element)
            "let e = document.activeElement;"
            "while (e && e.shadowRoot && e.shadowRoot.activeElement)"
            "  e = e.shadowRoot.activeElement;"
            "if (e && e.blur) e.blur();"
        )
        # the plots redraw on the next animation frames: wait for two of them
        d.execute_async_script(
            "const done = arguments[0];"
            "requestAnimationFrame(() => requestAnimationFrame(() => done(true)));"
        )
        d.save_screenshot(args.out)
        out["console_errors"] = page.console_errors()
        out["status"] = page.status()
    finally:
        d.quit()
        B.stop_server(proc)
    out["out"] = args.out
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
