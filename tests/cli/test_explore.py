"""``toyrd explore``: settings and typed-text parsing, the shared view layer, the page without a
browser (notebook mode), the CLI, and the page in a real browser typed at as a person does.

The browser tests are marked ``browser`` and skip when panel, selenium, chromium or chromedriver
are missing. One ``toyrd explore --port 0 --no-browser`` server (a subprocess) serves them all;
the browser reaches only loopback. Keys go through chromedriver as real key events (select-all,
backspace, arrows, Enter), and after each step the test checks the box's text, the message, and
that the R, D and I(z;z*) shown in the table and plotted are :func:`toyrd.evaluate` of a model
trained here with the same settings. Waits poll the page's status; the driver retries
connections that fail before a command is sent (:mod:`toyrd.explore._browser`).
"""

import html
import math
import os
import subprocess
import sys
import time

import numpy as np
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
UPDATE_TIMEOUT = 120
#: The issue's bound: a huge steps value is refused (or stopped) within 2 s of Enter / Stop.
#: Refusal and Stop happen on the server's event loop before any training: one round trip.
REFUSE_S = 2.0


def _reference(s: M.Settings) -> dict:
    """toyrd.evaluate of the model train() gives for settings ``s`` (independent of the app),
    in the precision `toyrd train` uses for the objective."""
    from toyrd.train import default_dtype
    from toyrd.train.jax import train

    toy = toyrd.toy_data()
    res = train(
        s.objective,
        family=s.family,
        seeds=(s.seed,),
        hyper=s.hyper,
        init_scale=s.init_scale,
        steps=s.steps,
        dtype=default_dtype(s.objective),
        progress=False,
    )
    return toyrd.evaluate(toy.px, res.encoder[0], res.decoder[0], res.marginal[0], pzx=toy.pzx)


# ----------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(objective="beta", hyper=-1.0), "beta = -1.0 must be finite and >= 0"),
        (dict(objective="beta", hyper=math.inf), "beta = inf must be finite and >= 0"),
        (dict(objective="beta", hyper="1,5"), "beta = '1,5' is not a number"),
        (dict(objective="beta", hyper=None), "β: empty; type a number >= 0"),
        (dict(objective="target_rate", hyper=None), "σ: empty"),
        (dict(objective="beta", hyper=float("nan")), "must be finite"),
        (dict(objective="nope"), "objective: 'nope' is not one of"),
        (dict(family="nope"), "family: 'nope' is not one of"),
        (dict(init_scale=-0.1), "init scale: -0.1"),
        (dict(init_scale=None), "init scale: empty"),
        (dict(init_scale="1,5"), "init scale: '1,5', expected a finite number >= 0"),
        (dict(init_scale=True), "init scale: True"),
        (dict(seed=-1), "seed: -1, expected an integer >= 0"),
        (dict(seed="1.5"), "seed: '1.5', expected an integer >= 0"),
        (dict(steps=0), "steps: 0, expected an integer >= 1"),
        (dict(steps=None), "steps: None"),
        (dict(steps=M.MAX_STEPS + 1), f"steps: {M.MAX_STEPS + 1}, expected at most {M.MAX_STEPS}"),
    ],
)
def test_bad_settings_name_the_rule(change, message):
    with pytest.raises(ToyrdError, match=None) as info:
        M.check_settings(M.Settings()._replace(**change))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_settings_defaults_are_figure2s_family_and_init():
    from toyrd.tables import FIGURE2_FAMILY
    from toyrd.train import TrainConfig

    s = M.check_settings(M.Settings())
    assert (s.objective, s.hyper, s.family) == ("beta", 1.0, FIGURE2_FAMILY)
    assert (s.init_scale, s.steps) == (0.01, TrainConfig().steps)
    # elbo ignores a hyperparameter, so the key (what the page waits on) does not carry one
    elbo = M.Settings(objective="elbo")
    assert M.settings_key(M.check_settings(elbo._replace(hyper=3.0))) == M.settings_key(
        M.check_settings(elbo._replace(hyper=None))
    )


@pytest.mark.parametrize(
    "text, real, integer",
    [
        ("0.3", 0.3, "0.3"),
        ("  0.30 ", 0.3, "0.30"),
        ("1e309", math.inf, "1e309"),
        ("1,5", "1,5", "1,5"),
        ("1.5", 1.5, "1.5"),
        ("", None, None),
        ("   ", None, None),
        ("2000", 2000.0, 2000),
        ("-1", -1.0, -1),
        ("007", 7.0, 7),
    ],
)
def test_typed_text_is_read_without_rounding_or_dropping(text, real, integer):
    assert M.parse_real(text) == real and type(M.parse_real(text)) is type(real)
    assert M.parse_int(text) == integer and type(M.parse_int(text)) is type(integer)


def test_presets_are_valid_and_figure2a_is_the_optimal_model():
    for name, s in M.PRESETS.items():
        if s is not None:
            assert M.check_settings(s) == s, name
    up = M.optimal_update()
    q = up.quantities
    assert abs(q["R"] - 0.5) <= SAME_RUN_TOL and abs(q["R"] + q["D"] - q["H"]) <= SAME_RUN_TOL
    assert M.settings_key(up.settings) == "optimal"


def test_expected_time_grows_with_steps_and_counts_a_compile():
    s = M.check_settings(M.Settings(objective="rda", hyper=0.5, steps=1234))
    assert not M.is_compiled(s)
    assert M.expected_seconds(s) >= M._COMPILE_S
    assert M.expected_seconds(s._replace(steps=2468)) > M.expected_seconds(s)


# ----------------------------------------------------------------------------- the view layer


@pytest.mark.parametrize(
    "value, text",
    [(-0.0, "0.000000"), (-4e-7, "0.000000"), (-6e-7, "-0.000001"), (0.5, "0.500000"),
     (math.inf, "inf"), (1.25e-7, "0.000000")],
)  # fmt: skip
def test_fmt_never_writes_minus_zero(value, text):
    from toyrd.explore._view import fmt

    assert fmt(value) == text


def test_fmt_refuses_nan():
    from toyrd.explore._view import fmt

    with pytest.raises(ValueError, match="NaN"):
        fmt(math.nan)


@pytest.mark.parametrize(
    "objective, hyper", [("beta", 0.5), ("elbo", None), ("rda", 2.0), ("target_rate", 0.7)]
)
def test_iso_loss_line_has_the_current_models_loss(objective, hyper):
    from toyrd.explore._view import iso_loss
    from toyrd.objectives import loss_from_rd

    R, D = 0.4, 2.3
    line = iso_loss(objective, hyper, R, D, top=3.6)
    want = loss_from_rd(objective, R, D, hyper)
    got = [loss_from_rd(objective, r, d, hyper) for r, d in zip(line["R"], line["D"])]
    assert max(abs(g - want) for g in got) <= SAME_RUN_TOL
    if objective == "beta":  # slope −β in the (R, D) plane: D = L − βR
        slope = np.diff(line["D"]) / np.diff(line["R"])
        assert np.allclose(slope, -hyper, rtol=0, atol=1e-9)
    if objective == "target_rate":  # the kink at R = σ is on the line
        assert hyper in line["R"]


def test_iso_loss_is_vertical_when_the_loss_ignores_distortion():
    from toyrd.explore._view import iso_loss

    assert iso_loss("rda", 0.0, 0.4, 2.3, top=3.6) == {"R": [0.4, 0.4], "D": [0.0, 3.6]}


def test_panel_data_feeds_every_model_source_with_the_exact_numbers():
    pytest.importorskip("bokeh")
    from toyrd.explore import _view as V

    up = M.optimal_update()
    s = up.settings
    data = V.panel_data(up.px, up.pzx, up.encoder, up.decoder, up.marginal, up.quantities,
                        objective=s.objective, hyper=s.hyper, label="a")  # fmt: skip
    assert tuple(data) == V.MODEL_SOURCES
    q = up.quantities
    assert data["current"]["R"] == [q["R"]] and data["current"]["D"] == [q["D"]]
    table = data["quantities"]
    for name, value, text in zip(table["name"], table["value"], table["text"]):
        assert value == q[name] and text == V.fmt(q[name])
    for key in ("fig2_encoder", "fig2_decoder", "fig2_channel"):
        img = data[key]["img"][0]
        assert np.all(np.isfinite(img)) and data[key]["vmax"] == [float(img.max())]
    assert abs(sum(data["fig2_data"]["g"]) - 1) <= 1e-12  # a distribution, not renormalised
    parts, sources = V.figures(q["H"], M.frontier())
    assert set(sources) == set(V.SOURCE_NAMES)
    V.show(parts, sources, data)
    assert f'id="q-R" data-value="{q["R"]!r}">{V.fmt(q["R"])}<' in parts["table"].text
    assert parts["rd"].select_one({"name": "rd-current"}).data_source is sources["current"]


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

    ex.hyper.value = "0.5"  # a text box: its value is what Enter commits
    s = M.check_settings(M.Settings(hyper=0.5))
    assert ex.current.settings == s
    ref = _reference(s)
    for k in ("R", "D", "I_zstar"):
        assert abs(ex.current.quantities[k] - ref[k]) <= SAME_RUN_TOL
    assert list(ex.sources["current"].data["R"]) == [ex.current.quantities["R"]]
    assert len(ex.sources["trail"].data["R"]) == 1  # the first model is a point of the trail

    for bad, message in [
        ("-1", "objective beta: beta = -1.0 must be finite and >= 0"),
        ("1e309", "objective beta: beta = inf must be finite and >= 0"),
        ("1,5", "objective beta: beta = '1,5' is not a number"),
        ("", "β: empty; type a number >= 0"),
    ]:
        ex.hyper.value = bad  # refused, shown, nothing retrained, the box shows 0.5 again
        assert ex.current.settings == s
        assert html.unescape(ex.message.object).endswith(f">{message}</div>")
        assert 'data-state="error"' in ex.status.object
        assert ex.hyper.value == "0.5"
    ex.seed.value = "1.5"
    assert "seed: &#x27;1.5&#x27;, expected an integer &gt;= 0" in ex.message.object
    assert ex.seed.value == "0" and ex.current.settings == s

    ex._on_export()
    from toyrd.train import TrainConfig

    d = TrainConfig()  # the explorer's steps are toyrd's default (docs/cli.md, "Defaults")
    name = f"explore_beta_0.5_bump-w0=2-bump+free_init0.01_seed0_steps{d.steps}.npz"
    npz = tmp_path / "out" / name
    assert npz.exists() and npz.with_suffix(".png").exists()
    from toyrd.cli import main

    # the exported file is a model file: `toyrd evaluate` reads it and gives the same numbers
    assert main(["evaluate", str(npz), "--json"]) == 0


def test_sweep_draws_one_line_and_the_trail_stays_points():
    pytest.importorskip("panel")
    from toyrd.explore import _app as A

    ex = toyrd.explore.app().explorer
    ex._on_play()  # inline: the whole sweep runs now
    sweep = ex.sources["sweep"].data
    lo, hi, _ = A.SLIDERS["beta"]
    assert len(sweep["R"]) == A.SWEEP_POINTS
    assert ex.current.settings.hyper == hi and 'data-state="ready"' in ex.status.object
    assert list(ex.sources["trail"].data["R"]) == [pytest.approx(ex.sources["trail"].data["R"][0])]
    assert len(ex.sources["trail"].data["R"]) == 1  # the model before the sweep; no line
    trail_lines = [
        r for r in ex.parts["rd"].renderers if getattr(r.glyph, "line_width", None) is not None
        and type(r.glyph).__name__ == "Line" and r.data_source is ex.sources["trail"]
    ]  # fmt: skip
    assert not trail_lines
    ex.hyper.value = "0.7"  # a change after the sweep: the sweep's last model joins the trail
    assert len(ex.sources["trail"].data["R"]) == 2 and len(sweep["R"]) == A.SWEEP_POINTS


def test_presets_stop_and_presentation_mode():
    pytest.importorskip("panel")
    ex = toyrd.explore.app().explorer
    ex.preset.value = next(k for k, v in M.PRESETS.items() if v is None)
    assert M.settings_key(ex.current.settings) == "optimal"
    assert abs(ex.current.quantities["R"] - 0.5) <= SAME_RUN_TOL
    collapse = next(k for k in M.PRESETS if k.startswith("collapse"))
    ex.preset.value = collapse
    assert ex.current.settings == M.PRESETS[collapse]
    assert ex.current.quantities["R"] < 1e-3  # collapsed: the code carries (almost) nothing
    assert ex.steps.value == str(M.PRESETS[collapse].steps)  # the controls show the preset
    ex._on_stop()
    assert 'data-state="stopped"' in ex.status.object
    ex.presentation.value = True
    assert not ex._panes["ib"].visible and ex.readout.visible
    assert ex.parts["rd"].title.text_font_size != "14px"
    current = ex.parts["rd"].select_one({"name": "rd-current"}).glyph
    assert current.size > current.tags[0]  # the models' markers grow with the type
    ex.presentation.value = False
    assert ex._panes["ib"].visible and ex.parts["rd"].title.text_font_size == "14px"
    assert current.size == current.tags[0]


def test_export_failure_is_a_message(tmp_path):
    pytest.importorskip("panel")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    ex = toyrd.explore.app(export_dir=str(blocker / "sub")).explorer
    ex._on_export()
    assert 'data-kind="error"' in ex.message.object and "export folder" in ex.message.object


# ----------------------------------------------------------------------------- real browser


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """One server and one browser for the browser tests of this module (in order)."""
    pytest.importorskip("panel")
    pytest.importorskip("selenium")
    from toyrd.explore import _browser as B

    if not all(B.binaries()):
        pytest.skip("headless browser test needs chromium and chromedriver")
    proc, url = B.start_server(tmp_path_factory.mktemp("explore") / "export")
    driver = None
    try:
        driver = B.chromium(1024, 768)
        driver.get(url)
        p = B.Page(driver, url)
        p.wait("ready", M.settings_key(M.check_settings(M.Settings())), UPDATE_TIMEOUT)
        p.proc = proc
        yield p
    finally:
        if driver is not None:
            driver.quit()
        B.stop_server(proc)


def _assert_page_shows(page, s):
    """The table's text and data-value and both plotted points are toyrd.evaluate of the model
    trained here with settings ``s``."""
    ref = _reference(s)
    for name in ("R", "D", "I_zstar"):
        text, value = page.shown(name)
        assert abs(float(text) - ref[name]) <= DISPLAY_TOL, (name, text, ref[name])
        assert abs(float(value) - ref[name]) <= SAME_RUN_TOL, (name, value, ref[name])
        assert text != "-0.000000" and "nan" not in text.lower()
    r, d = page.plotted("rd-current")
    assert abs(r - ref["R"]) <= SAME_RUN_TOL and abs(d - ref["D"]) <= SAME_RUN_TOL
    r, i = page.plotted("ib-current")
    assert abs(r - ref["R"]) <= SAME_RUN_TOL and abs(i - ref["I_zstar"]) <= SAME_RUN_TOL
    return ref


def _keys():
    from selenium.webdriver.common.keys import Keys

    return Keys


def _select_all_and_type(page, css, text, enter=True):
    box = page.focus(css)
    page.select_all()
    page.keys(text, *([_keys().ENTER] if enter else []))
    return box


def _committed_value(page, css):
    """The value the browser's Bokeh model holds for a text box (what Enter / blur commits),
    and what the box shows while typing (``value_input``)."""
    return page.d.execute_script(
        "for (const m of Bokeh.documents[0].all_models) {"
        "  if ('value_input' in m && m.css_classes.includes(arguments[0]))"
        "    return [m.value, m.value_input];"
        "} return null;",
        css.lstrip("."),
    )


@pytest.mark.browser
def test_browser_first_page_is_the_figure2_family_with_exact_values(page):
    s = M.check_settings(M.Settings())
    assert page.value(".toyrd-hyper") == "1"
    _assert_page_shows(page, s)
    assert page.message()[0] == "none"


@pytest.mark.browser
def test_browser_select_all_replaces_and_nothing_commits_before_enter(page):
    K = _keys()
    s = M.check_settings(M.Settings())
    key = M.settings_key(s)
    box = _select_all_and_type(page, ".toyrd-hyper", "0.3", enter=False)
    assert box.get_attribute("value") == "0.3"  # replaced, not appended ("10.3")
    assert _committed_value(page, ".toyrd-hyper") == ["1", "0.3"]  # typed, not committed
    assert page.status()[:2] == ["ready", key]  # nothing trained while typing
    page.keys(K.ENTER)
    page.wait("ready", M.settings_key(s := s._replace(hyper=0.3)), UPDATE_TIMEOUT)
    assert page.value(".toyrd-hyper") == "0.3"
    _assert_page_shows(page, s)


@pytest.mark.browser
def test_browser_delete_retype_and_arrow_keys(page):
    K = _keys()
    s = M.check_settings(M.Settings(hyper=0.3))
    page.focus(".toyrd-hyper")
    page.keys(K.END, K.BACKSPACE, K.BACKSPACE, K.BACKSPACE, "0.5", K.ENTER)  # delete "0.3"
    page.wait("ready", M.settings_key(s := s._replace(hyper=0.5)), UPDATE_TIMEOUT)
    assert page.value(".toyrd-hyper") == "0.5"
    _assert_page_shows(page, s)
    # "0.5" → END, LEFT (caret before 5), "4" → "0.45"; Enter
    page.keys(K.END, K.ARROW_LEFT, "4", K.ENTER)
    page.wait("ready", M.settings_key(s := s._replace(hyper=0.45)), UPDATE_TIMEOUT)
    assert page.value(".toyrd-hyper") == "0.45"
    _assert_page_shows(page, s)


@pytest.mark.browser
@pytest.mark.parametrize(
    "css, text, message",
    [
        (".toyrd-hyper", "-1", "objective beta: beta = -1.0 must be finite and >= 0"),
        (".toyrd-hyper", "1e309", "objective beta: beta = inf must be finite and >= 0"),
        (".toyrd-hyper", "1,5", "objective beta: beta = '1,5' is not a number"),
        (".toyrd-hyper", "", "β: empty; type a number >= 0"),
        (".toyrd-init-scale", "", "init scale: empty; type a number >= 0"),
        (".toyrd-seed", "1.5", "seed: '1.5', expected an integer >= 0"),
        (".toyrd-seed", "1,5", "seed: '1,5', expected an integer >= 0"),
    ],
)
def test_browser_bad_values_are_refused_and_the_last_good_one_stays(page, css, text, message):
    K = _keys()
    s = M.check_settings(M.Settings(hyper=0.45))
    good = {".toyrd-hyper": "0.45", ".toyrd-init-scale": "0.01", ".toyrd-seed": "0"}[css]
    page.wait(("ready", "error"), M.settings_key(s))  # after the previous case: either
    box = page.focus(css)
    page.select_all()
    page.keys(K.DELETE)  # select-all + Delete empties the box
    assert box.get_attribute("value") == ""
    page.keys(text, K.ENTER)
    page.wait_message("error", message, UPDATE_TIMEOUT)
    page.wait("error", M.settings_key(s))
    end = time.monotonic() + UPDATE_TIMEOUT  # the box goes back to the value in force
    while page.value(css) != good and time.monotonic() < end:
        time.sleep(0.02)
    assert page.value(css) == good
    _assert_page_shows(page, s)
    assert _committed_value(page, css)[0] == good  # in force in the browser's model too


#: The steps box's starting value: the explorer's default, toyrd's (docs/cli.md, "Defaults").
STEPS = str(M.Settings().steps)


@pytest.mark.browser
def test_browser_huge_steps_are_refused_at_once(page):
    s = M.check_settings(M.Settings(hyper=0.45))
    _select_all_and_type(page, ".toyrd-steps", "200010003000")
    message = (
        f"steps: 200010003000, expected at most {M.MAX_STEPS} (the explorer's bound: about "
        f"{M.MAX_STEPS * M._STEP_S:.1f} s of training)"
    )
    page.wait_message("error", message, timeout=REFUSE_S)  # from Enter
    page.wait("error", M.settings_key(s))
    assert page.value(".toyrd-steps") in ("200010003000", STEPS)  # reverting, then reverted
    _assert_page_shows(page, s)


@pytest.mark.browser
def test_browser_stop_drops_a_long_run_at_once(page):
    s = M.check_settings(M.Settings(hyper=0.45))
    key = M.settings_key(s)
    page.wait("error", key, UPDATE_TIMEOUT)  # the refused steps; the box holds STEPS again
    end = time.monotonic() + UPDATE_TIMEOUT
    while page.value(".toyrd-steps") != STEPS and time.monotonic() < end:
        time.sleep(0.02)
    _select_all_and_type(page, ".toyrd-steps", str(M.MAX_STEPS))  # a new compile + 1.5 s
    long = M.settings_key(s._replace(steps=M.MAX_STEPS))
    page.wait("compiling", long, UPDATE_TIMEOUT)
    page.click(".toyrd-stop")
    page.wait("stopped", key, timeout=REFUSE_S)
    end = time.monotonic() + UPDATE_TIMEOUT
    while page.value(".toyrd-steps") != STEPS and time.monotonic() < end:
        time.sleep(0.02)
    assert page.value(".toyrd-steps") == STEPS
    # a newer change after Stop runs after the dropped run ends; the dropped one is never shown
    # (not on the plane, so not on the trail either)
    _select_all_and_type(page, ".toyrd-hyper", "0.6")
    page.wait("ready", M.settings_key(s := s._replace(hyper=0.6)), UPDATE_TIMEOUT)
    _assert_page_shows(page, s)
    labels = page.d.execute_script(
        "return Bokeh.documents[0].get_model_by_name('trail').data.label;"
    )
    assert labels and not [x for x in labels if f"{M.MAX_STEPS} steps" in x], labels


@pytest.mark.browser
def test_browser_family_change_and_no_console_errors(page):
    s = M.check_settings(M.Settings(hyper=0.6))
    page.choose(".toyrd-family", "bump")
    page.wait("ready", M.settings_key(s := s._replace(family="bump")), UPDATE_TIMEOUT)
    _assert_page_shows(page, s)
    assert page.console_errors() == []
    urls = page.d.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert urls and all(u.startswith(page.url) for u in urls), urls  # JS served by the app
    assert page.proc.poll() is None  # the server is still up
