"""``toyrd explore``: settings validation, the page without a browser (notebook mode), the CLI,
and one real-browser run (headless Chromium driven by selenium against a local server).

The browser test is marked ``browser`` and skips when panel, selenium, chromium or chromedriver
are missing. It starts ``toyrd explore --port 0 --no-browser`` in a subprocess, loads the page
with every non-loopback host unresolvable and a dead proxy for anything else, changes the
objective to β-VAE, sets β, switches the family, types a bad β, and checks after each step that
the R and D shown in the table and the point plotted on the RD plane are the values
:func:`toyrd.evaluate` gives for a model trained here with the same settings.
"""

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

import toyrd
from toyrd import ToyrdError
from toyrd.explore import _model as M

REPO = os.path.dirname(os.path.dirname(os.path.abspath(toyrd.__file__)))

#: The table shows 6 decimals: a displayed value is within half a unit of the 6th of the truth
#: (plus float64 noise in the formatting).
DISPLAY_TOL = 0.5e-6 + 1e-12
#: The server and this process run the same compiled program on the same inputs; XLA on CPU is
#: deterministic, so the float64 results agree to rounding of the last few bits at most.
SAME_RUN_TOL = 1e-12
#: Seconds allowed for one retrain to show up in the page (the first compile of a new objective
#: kind / family takes a few seconds on a loaded 2-core machine; after it, ~0.5 s).
UPDATE_TIMEOUT = 90
#: Seconds allowed for the server to start listening (imports panel, bokeh, jax).
START_TIMEOUT = 90


def _reference(s: M.Settings) -> dict:
    """toyrd.evaluate of the model train() gives for settings ``s`` (independent of the app)."""
    from toyrd.train.jax import train

    toy = toyrd.toy_data()
    res = train(
        s.objective,
        family=s.family,
        seeds=(s.seed,),
        hyper=s.hyper,
        init_scale=s.init_scale,
        steps=s.steps,
        progress=False,
    )
    return toyrd.evaluate(toy.px, res.encoder[0], res.decoder[0], res.marginal[0], pzx=toy.pzx)


# ----------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(objective="beta", hyper=-1.0), "beta = -1.0 must be finite and >= 0"),
        (dict(objective="target_rate", hyper=None), "σ: empty"),
        (dict(objective="beta", hyper=float("nan")), "must be finite"),
        (dict(objective="nope"), "objective: 'nope' is not one of"),
        (dict(family="nope"), "family: 'nope' is not one of"),
        (dict(init_scale=-0.1), "init scale: -0.1"),
        (dict(init_scale=None), "init scale: None"),
        (dict(seed=-1), "seed: -1, expected an integer >= 0"),
        (dict(steps=0), "steps: 0, expected an integer >= 1"),
        (dict(steps=None), "steps: None"),
    ],
)
def test_bad_settings_name_the_rule(change, message):
    with pytest.raises(ToyrdError, match=None) as info:
        M.check_settings(M.Settings()._replace(**change))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_settings_defaults_are_the_trainers():
    from toyrd.train import TrainConfig

    s = M.check_settings(M.Settings())
    assert (s.init_scale, s.steps, s.hyper) == (TrainConfig().init_scale, TrainConfig().steps, None)
    # elbo ignores a hyperparameter, so the key (what the page waits on) does not carry one
    assert M.settings_key(M.check_settings(M.Settings(hyper=3.0))) == M.settings_key(s)


def test_import_toyrd_explore_loads_no_web_framework():
    code = (
        "import sys, toyrd, toyrd.explore, toyrd.cli; toyrd.cli.build_parser(); "
        "print(sorted(m for m in ('panel', 'bokeh', 'jax', 'selenium') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=REPO),
        check=True,
    )
    assert out.stdout.strip() == "[]"


def test_cli_rejects_a_bad_port_in_one_line(capsys):
    from toyrd.cli import main

    assert main(["explore", "--port", "70000", "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "port: 70000, expected at most 65535" in err


def test_cli_port_in_use_is_a_one_line_error(capsys):
    pytest.importorskip("panel")
    import socket

    from toyrd.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["explore", "--port", str(port), "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--port {port}: cannot listen there" in err


# ----------------------------------------------------------------------------- the page, no browser


def test_page_in_notebook_mode_retrains_and_refuses_bad_values(tmp_path):
    pytest.importorskip("panel")
    layout = toyrd.explore.app(export_dir=str(tmp_path / "out"))
    ex = layout.explorer
    first = ex.current
    assert first is not None and first.settings == M.check_settings(M.Settings())

    ex.objective.value = "beta"  # β control takes the β-VAE default, 1, and retrains
    assert getattr(ex.hyper, "label", ex.hyper.name) == "β" and not ex.hyper.disabled
    ex.hyper.value = 0.5
    s = M.check_settings(M.Settings(objective="beta", hyper=0.5))
    assert ex.current.settings == s
    ref = _reference(s)
    for k in ("R", "D", "I_zstar"):
        assert abs(ex.current.quantities[k] - ref[k]) <= SAME_RUN_TOL
    assert list(ex._current.data["R"]) == [ex.current.quantities["R"]]
    assert len(ex._trail.data["R"]) == 2  # the ELBO model and β = 1 are on the trail

    ex.hyper.value = -1.0  # refused, shown, nothing retrained
    assert ex.current.settings == s
    assert 'data-kind="error"' in ex.message.object
    assert "must be finite and &gt;= 0" in ex.message.object  # html-escaped on the page
    assert 'data-state="error"' in ex.status.object

    ex._on_export()
    from toyrd.train import TrainConfig

    d = TrainConfig()  # the explorer starts from toyrd's defaults (docs/cli.md, "Defaults")
    npz = (
        tmp_path / "out" / f"explore_beta_0.5_tabular_init{d.init_scale:g}_seed0_steps{d.steps}.npz"
    )
    assert npz.exists() and npz.with_suffix(".png").exists()
    from toyrd.cli import main

    # the exported file is a model file: `toyrd evaluate` reads it and gives the same numbers
    assert main(["evaluate", str(npz), "--json"]) == 0


def test_export_failure_is_a_message(tmp_path):
    pytest.importorskip("panel")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    ex = toyrd.explore.app(export_dir=str(blocker / "sub")).explorer
    ex._on_export()
    assert 'data-kind="error"' in ex.message.object and "export folder" in ex.message.object


# ----------------------------------------------------------------------------- real browser

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


class Page:
    """The explorer in headless Chromium; elements are found through Panel's shadow roots."""

    def __init__(self, driver, url):
        self.d, self.url = driver, url

    def find(self, host, inner=None):
        js = (
            DEEP + "const h = deep(document, arguments[0]); if (!h || !arguments[1]) return h;"
            "return deep(h.shadowRoot || h, arguments[1]);"
        )
        return self.d.execute_script(js, host, inner)

    def status(self):
        return self.d.execute_script(
            DEEP + "const e = deep(document, '#toyrd-status');"
            "return e ? [e.dataset.state, e.dataset.key, e.textContent] : null;"
        )

    def wait(self, state, key, timeout=UPDATE_TIMEOUT):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st = self.status()
            if st and st[0] == state and st[1] == key:
                return st
            time.sleep(0.1)
        raise AssertionError(f"page did not reach {state} {key!r} in {timeout} s: {self.status()}")

    def shown(self, name):
        """(displayed text, data-value) of a table entry."""
        el = self.find(f"#q-{name}")
        return float(el.text), float(el.get_attribute("data-value"))

    def plotted(self, renderer):
        """(x, y) of the one point the named Bokeh renderer draws, as the browser holds them."""
        return self.d.execute_script(
            "const r = Bokeh.documents[0].get_model_by_name(arguments[0]);"
            "const s = r.data_source.data, g = r.glyph;"
            "if (s[g.x.field].length !== 1) return null;"
            "return [s[g.x.field][0], s[g.y.field][0]];",
            renderer,
        )

    def type_number(self, css, value):
        from selenium.webdriver.common.keys import Keys

        box = self.find(css, "input")
        box.click()
        old = box.get_attribute("value") or ""
        box.send_keys(Keys.END, *[Keys.BACKSPACE] * (len(old) + 2), str(value), Keys.ENTER)

    def choose(self, css, label):
        from selenium.webdriver.support.ui import Select

        Select(self.find(css, "select")).select_by_visible_text(label)

    def message(self):
        el = self.find("#toyrd-message")
        return el.get_attribute("data-kind"), el.text


def _start_server(tmp_path):
    env = dict(
        os.environ,
        PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
        JAX_PLATFORMS="cpu",
        BOKEH_RESOURCES="cdn",
    )  # cdn: the app must override it
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
            str(tmp_path / "export"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines = queue.Queue()
    proc.reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True)
    proc.reader.start()
    end, seen = time.monotonic() + START_TIMEOUT, []
    while time.monotonic() < end:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        if line.startswith("toyrd explore: serving http://127.0.0.1:"):
            return proc, line.split()[3]
    _stop(proc)
    raise AssertionError("server did not start:\n" + "".join(seen))


def _stop(proc):
    """Ctrl-C (the server's own way out), then kill if it hangs; close the pipe."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)
    proc.reader.join(timeout=5)
    proc.stdout.close()


def _chromium():
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None
    )
    if not (binary and driver):
        pytest.skip("headless browser test needs chromium and chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1500,1000",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        # loopback only: other host names do not resolve, other addresses hit a dead proxy
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--proxy-server=http://127.0.0.1:9",
    ):
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service(driver), options=opts)
    d.set_page_load_timeout(60)
    d.set_script_timeout(30)
    return d


def _assert_page_shows(page, s):
    ref = _reference(s)
    for name in ("R", "D", "I_zstar"):
        text, value = page.shown(name)
        assert abs(text - ref[name]) <= DISPLAY_TOL, (name, text, ref[name])
        assert abs(value - ref[name]) <= SAME_RUN_TOL, (name, value, ref[name])
    r, d = page.plotted("rd-current")
    assert abs(r - ref["R"]) <= SAME_RUN_TOL and abs(d - ref["D"]) <= SAME_RUN_TOL
    r, i = page.plotted("ib-current")
    assert abs(r - ref["R"]) <= SAME_RUN_TOL and abs(i - ref["I_zstar"]) <= SAME_RUN_TOL
    return ref


@pytest.mark.browser
def test_browser_beta_and_family_changes_show_the_exact_values(tmp_path):
    pytest.importorskip("panel")
    pytest.importorskip("selenium")
    driver = _chromium()
    proc = None
    try:
        proc, url = _start_server(tmp_path)
        page = Page(driver, url)
        driver.get(url)
        s = M.check_settings(M.Settings())
        page.wait("ready", M.settings_key(s))
        _assert_page_shows(page, s)

        page.choose(".toyrd-objective", M.objective_label("beta"))
        page.wait("ready", M.settings_key(s := M.check_settings(M.Settings("beta", 1.0))))
        page.type_number(".toyrd-hyper", 0.5)
        page.wait("ready", M.settings_key(s := s._replace(hyper=0.5)))
        first = _assert_page_shows(page, s)

        page.choose(".toyrd-family", "bump")
        page.wait("ready", M.settings_key(s := s._replace(family="bump")))
        second = _assert_page_shows(page, s)
        assert abs(first["R"] - second["R"]) > 1e-3  # the point moved

        page.type_number(".toyrd-hyper", -1)  # refused with a visible message, model kept
        page.wait("error", M.settings_key(s))
        kind, text = page.message()
        assert kind == "error" and "beta = -1.0 must be finite and >= 0" in text
        _assert_page_shows(page, s)

        urls = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert urls and all(u.startswith(url) for u in urls), urls  # JS served by the app
        assert proc.poll() is None  # the server is still up
    finally:
        driver.quit()
        if proc is not None:
            _stop(proc)
