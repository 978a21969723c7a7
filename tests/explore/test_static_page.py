"""``toyrd explore --static``: the page it writes is self-contained, and in headless Chromium
every number it shows is the grid's exact value (the walk of docs/scripts/check_site.py).

The browser test starts its own Chromium through :func:`toyrd.explore._browser.chromium` (a fresh
connection per WebDriver command, connection failures retried); a driver that still fails to
start or loses its connection (seen on a loaded two-core machine: "Connection reset by peer") is
replaced and the walk — which only reads — run again, up to :data:`DRIVER_TRIES` times; the
assertions are never retried.
"""

from __future__ import annotations

import re

import pytest
from repo_scripts import load_script

from toyrd.cli import main
from toyrd.explore import _static as ST

pytest.importorskip("bokeh")

#: The issue's budget for the whole page (HTML, JavaScript, data), bytes.
MAX_PAGE_BYTES = 15 * 1024 * 1024
#: Driver start / connection attempts before a browser failure counts.
DRIVER_TRIES = 3


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    out = tmp_path_factory.mktemp("static")
    assert main(["explore", "--static", str(out)]) == 0
    return out


def test_page_is_self_contained_and_small(page):
    names = {p.name for p in page.iterdir()}
    assert names == {"index.html", "toyrd-grid.js", "toyrd-static.js", *ST.BOKEH_FILES}
    assert sum(p.stat().st_size for p in page.iterdir()) <= MAX_PAGE_BYTES
    html = (page / "index.html").read_text(encoding="utf-8")
    # every script the page loads is a file of its folder: no CDN, no absolute URL
    srcs = re.findall(r'<script src="([^"]+)"', html)
    assert sorted(srcs) == sorted([*ST.BOKEH_FILES, "toyrd-static.js"])
    # the grid is loaded by the page's script, from its own folder
    assert 'el.src = "toyrd-grid.js"' in (page / "toyrd-static.js").read_text(encoding="utf-8")
    for name in ("index.html", "toyrd-static.js"):
        assert not re.search(r"https?://", (page / name).read_text(encoding="utf-8")), name


def test_page_ships_the_committed_grid(page):
    check = load_script("docs/scripts/check_site.py", "toyrd_check_site")
    manifest, exact = check.static_grid(page)
    committed, stored, _ = ST.read_grid()
    assert manifest["sha256"] == committed["sha256"]
    assert exact.tobytes() == stored.tobytes()


@pytest.mark.parametrize("option", ["--static", "--build-grid"])
def test_an_impossible_folder_is_one_line(tmp_path, capsys, option):
    blocker = tmp_path / "file"
    blocker.write_text("")
    # --build-grid refuses before training (this test would take minutes otherwise)
    assert main(["explore", option, str(blocker / "sub")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{option} " in err[0] and "cannot be created" in err[0], err


def _in_chromium(page, url_of, read):
    """``read(driver, url)`` in a fresh Chromium, retried on driver failures only."""
    from selenium.common.exceptions import WebDriverException

    # the explorer's robust driver: fresh connection per command, connection failures retried
    from toyrd.explore._browser import chromium

    last = None
    for _ in range(DRIVER_TRIES):
        try:
            drv = chromium(1280, 1000)
        except (WebDriverException, RuntimeError) as exc:  # did not start: try a fresh one
            last = exc
            continue
        try:
            with url_of(page) as url:
                return read(drv, url)
        except (WebDriverException, ConnectionError) as exc:  # the driver's connection
            last = exc
        finally:
            drv.quit()
    raise AssertionError(f"Chromium failed {DRIVER_TRIES} times: {last}")


def _walk(check, page, url_of):
    return _in_chromium(page, url_of, lambda drv, url: check.check_static_explorer(drv, url, page))


def _browser(how: str):
    """(check_site module, url_of): ``url_of(folder)`` yields the page's URL over ``how``
    (``"http"``: a local http.server; ``"file"``: file://). Skips without Chromium."""
    pytest.importorskip("selenium")
    import contextlib
    import shutil

    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("needs Debian's chromium and chromium-driver")
    check = load_script("docs/scripts/check_site.py", "toyrd_check_site")

    @contextlib.contextmanager
    def url_of(folder):
        if how == "file":
            yield (folder / "index.html").as_uri()
        else:
            with check._serve(folder) as base:
                yield base + "index.html"

    return check, url_of


@pytest.mark.browser
@pytest.mark.parametrize("how", ["http", "file"])
def test_browser_walk_shows_the_grids_exact_values(page, how):
    check, url_of = _browser(how)
    info, problems = _walk(check, page, url_of)
    assert problems == []
    assert len(set(info["visited"])) >= 15
    # the walk shows models that test_static_grid.py retrains and evaluates (β-VAE × tabular):
    # shown == grid (here) and grid == toyrd.evaluate of the retrained tables (there)
    from toyrd.explore import _grid as G

    retrained = {ST.model_index(k) for k in G.model_keys() if (k.objective, k.family) == (1, 1)}
    assert retrained & set(info["visited"])


# Every legend entry of row (i), found through the shadow roots, by its text.
_LEGEND_ITEM_JS = """
const found = [];
const walk = (root) => {
  for (const n of root.querySelectorAll('*')) {
    if (n.classList.contains('bk-item') && n.textContent.trim() === arguments[0]) found.push(n);
    if (n.shadowRoot) walk(n.shadowRoot);
  }
};
walk(document);
return found;
"""
# Row (i)'s y range and, per renderer of its data, [column, visible, largest value shown].
_ROW_I_JS = """
const doc = Bokeh.documents[Bokeh.documents.length - 1];
const rs = doc.get_model_by_name('fig2_i').renderers
  .filter((r) => r.data_source.name === 'fig2_data');
const row = (r) => [r.glyph.y.field, r.visible, Math.max(...r.data_source.data[r.glyph.y.field])];
return [doc.get_model_by_name('fig2_i-y').end, rs.map(row)];
"""


@pytest.mark.browser
def test_browser_legend_click_hides_the_line_and_rescales(page):
    """A click on a legend entry (whose renderer is a stand-in, see toyrd.explore._redraw) hides
    the real line, the row's y range drops to the visible lines, and both stay so when the
    slider moves; a second click shows the line again."""
    check, url_of = _browser("http")
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from toyrd.explore._redraw import TOP_PAD

    def settle(drv):
        for _ in range(3):  # a few frames: the click's callbacks, then the paint
            drv.execute_async_script(
                "const done = arguments[0]; requestAnimationFrame(() => setTimeout(done, 0));"
            )

    def click(drv, label):
        (item,) = drv.execute_script(_LEGEND_ITEM_JS, label)
        drv.execute_script("arguments[0].scrollIntoView({block: 'center'})", item)
        ActionChains(drv).move_to_element(item).click().perform()
        settle(drv)

    def read(drv, url):
        drv.get(url)
        check._static_state(drv, None)
        states = [drv.execute_script(_ROW_I_JS)]
        click(drv, "g(x)")
        states.append(drv.execute_script(_ROW_I_JS))
        slider = drv.find_element(By.ID, "ctl-param")
        drv.execute_script("arguments[0].focus()", slider)
        index = check._static_state(drv, None)["index"]
        slider.send_keys(Keys.ARROW_RIGHT)  # the input event sets the page drawing at once
        assert check._static_state(drv, None)["index"] != index
        settle(drv)
        states.append(drv.execute_script(_ROW_I_JS))
        click(drv, "g(x)")
        states.append(drv.execute_script(_ROW_I_JS))
        return states

    states = _in_chromium(page, url_of, read)
    shown = [{col: visible for col, visible, _ in rs} for _, rs in states]
    assert shown == [
        {"px": True, "g": True, "dbar": True},
        {"px": True, "g": False, "dbar": True},
        {"px": True, "g": False, "dbar": True},
        {"px": True, "g": True, "dbar": True},
    ]
    for end, rs in states:
        tallest = max(top for _, visible, top in rs if visible)
        assert end == pytest.approx(TOP_PAD["fig2_i"] * tallest, rel=1e-12)
