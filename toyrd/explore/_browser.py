"""Driving ``toyrd explore`` in headless Chromium (selenium + the system chromedriver), shared by
the browser tests, the docs screenshot and the explorer benchmark. Needs the ``test`` extra.

Not left to chance on a loaded machine:

* **Driver connection.** Every WebDriver command opens a fresh HTTP connection to chromedriver
  (``keep_alive=False``: no reuse of a socket chromedriver may have closed — the source of
  "Connection reset by peer"), and a connection that fails before the command was sent is
  retried (:data:`CONNECT_RETRIES`, with back-off). A command that was sent is never re-sent
  (it may have acted: a key press twice is a different test). Commands get
  :data:`COMMAND_TIMEOUT` seconds. Starting the browser (nothing done yet) is retried whole.
* **Waits.** :meth:`Page.wait` polls the page's own status element until it names the expected
  state and model; no fixed sleeps.

Only loopback is reachable from the browser: other host names do not resolve and any other
address goes to a dead proxy.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time

__all__ = [
    "binaries",
    "chromium",
    "start_server",
    "stop_server",
    "Page",
    "DEEP",
    "CONNECT_RETRIES",
    "COMMAND_TIMEOUT",
    "START_TIMEOUT",
]

#: Connection attempts per WebDriver command that fail before the request is sent.
CONNECT_RETRIES = 6
#: Seconds one WebDriver command may take (a page load on a loaded 2-core machine included).
COMMAND_TIMEOUT = 180
#: Seconds for the server to print its address (imports panel, bokeh, jax) and for the browser.
START_TIMEOUT = 120

#: A JavaScript helper: the first element matching a selector, searched through shadow roots.
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


def binaries():
    """(chromium, chromedriver) paths, or None where missing."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None
    )
    return binary, driver


def chromium(width: int = 1280, height: int = 900, *, attempts: int = 3):
    """A headless Chromium WebDriver (loopback only) whose commands survive connection resets
    (see the module docstring). ``driver.quit()`` also stops chromedriver."""
    import urllib3
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.chromium.remote_connection import ChromiumRemoteConnection
    from selenium.webdriver.remote.client_config import ClientConfig

    binary, driver_path = binaries()
    if not (binary and driver_path):
        raise RuntimeError("needs chromium and chromedriver (Debian: apt install chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--proxy-server=http://127.0.0.1:9",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    retry = urllib3.Retry(
        total=None,
        connect=CONNECT_RETRIES,
        read=0,  # sent: may have acted, never re-sent
        status=0,
        other=0,
        redirect=0,
        backoff_factor=0.25,
        allowed_methods=None,
        raise_on_status=False,
    )
    last = None
    for _ in range(attempts):
        service = Service(driver_path)
        try:
            service.start()
            config = ClientConfig(
                remote_server_addr=service.service_url,
                keep_alive=False,
                timeout=COMMAND_TIMEOUT,
                init_args_for_pool_manager={"init_args_for_pool_manager": {"retries": retry}},
            )
            executor = ChromiumRemoteConnection(
                service.service_url, "goog", "chrome", client_config=config
            )
            d = webdriver.Remote(command_executor=executor, options=opts)
        except Exception as exc:  # noqa: BLE001 -- nothing has run yet: start again
            last = exc
            service.stop()
            continue
        quit_ = d.quit

        def quit_all(quit_=quit_, service=service):
            try:
                quit_()
            finally:
                service.stop()

        d.quit = quit_all
        # --window-size counts the window's frame: make the viewport the size asked for
        iw, ih = d.execute_script("return [window.innerWidth, window.innerHeight]")
        if (iw, ih) != (width, height):
            d.set_window_size(2 * width - iw, 2 * height - ih)
        d.set_page_load_timeout(COMMAND_TIMEOUT)
        d.set_script_timeout(60)
        return d
    raise RuntimeError(f"chromium did not start in {attempts} attempts: {last}")


def start_server(out_dir, *, extra_env=None, timeout: float = START_TIMEOUT):
    """``python -m toyrd.cli explore --port 0 --no-browser --out OUT_DIR`` in a subprocess
    (this checkout's toyrd first on the path); returns (process, url) once it listens."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(
        os.environ,
        PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""),
        JAX_PLATFORMS="cpu",
        **(extra_env or {}),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "toyrd.cli", "explore", "--port", "0", "--no-browser"]
        + ["--out", str(out_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines = queue.Queue()
    proc.reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True)
    proc.reader.start()
    proc.lines = lines
    end, seen = time.monotonic() + timeout, []
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
    stop_server(proc)
    raise RuntimeError("server did not start:\n" + "".join(seen))


def stop_server(proc):
    """Ctrl-C (the server's own way out), then kill if it hangs; close the pipe."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)
    proc.reader.join(timeout=5)
    proc.stdout.close()


class Page:
    """The explorer in the browser; elements are found through Panel's shadow roots."""

    def __init__(self, driver, url):
        self.d, self.url = driver, url

    def find(self, host, inner=None):
        js = (
            DEEP + "const h = deep(document, arguments[0]); if (!h || !arguments[1]) return h;"
            "return deep(h.shadowRoot || h, arguments[1]);"
        )
        return self.d.execute_script(js, host, inner)

    def status(self):
        """[state, key, text] of the status line (None before it exists)."""
        return self.d.execute_script(
            DEEP + "const e = deep(document, '#toyrd-status');"
            "return e ? [e.dataset.state, e.dataset.key, e.textContent] : null;"
        )

    def wait(self, state, key=None, timeout: float = 120):
        """Poll until the status is ``state`` (a name or a tuple of names) and names model
        ``key`` if given."""
        states = (state,) if isinstance(state, str) else tuple(state)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st = self.status()
            if st and st[0] in states and (key is None or st[1] == key):
                return st
            time.sleep(0.02)
        raise AssertionError(f"page did not reach {state} {key!r} in {timeout} s: {self.status()}")

    def message(self):
        """(data-kind, text) of the message line."""
        return self.d.execute_script(
            DEEP + "const e = deep(document, '#toyrd-message');"
            "return [e.dataset.kind, e.textContent];"
        )

    def wait_message(self, kind, text, timeout: float = 120):
        """Poll until the message line is ``[kind, text]``; returns it (or raises with the last)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = self.message()
            if got == [kind, text]:
                return got
            time.sleep(0.02)
        raise AssertionError(f"message not {kind} {text!r} in {timeout} s: {self.message()}")

    def box(self, css):
        """The <input> of a text box control (by its ``toyrd-…`` class)."""
        return self.find(css, "input")

    def value(self, css) -> str:
        return self.box(css).get_attribute("value")

    def shown(self, name):
        """(displayed text, data-value) of a table entry, or None before the table has it."""
        return self.d.execute_script(
            DEEP + "const e = deep(document, '#q-' + arguments[0]);"
            "return e ? [e.textContent, e.dataset.value] : null;",
            name,
        )

    def plotted(self, renderer):
        """(x, y) of the one point a named Bokeh renderer draws, as the browser holds them."""
        return self.d.execute_script(
            "const r = Bokeh.documents[0].get_model_by_name(arguments[0]);"
            "const s = r.data_source.data, g = r.glyph;"
            "if (s[g.x.field].length !== 1) return null;"
            "return [s[g.x.field][0], s[g.y.field][0]];",
            renderer,
        )

    def keys(self, *keys):
        """Key presses to whatever has the focus, as a keyboard sends them. (WebDriver's
        element.send_keys moves the caret to the end first when the element is not the
        document's active element — always the case inside Panel's shadow roots — so it cannot
        type over a selection.)"""
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.d).send_keys(*keys).perform()

    def select_all(self):
        """Ctrl+A in the focused box."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        a = ActionChains(self.d)
        a.key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()

    def focus(self, css):
        """Click a text box (the caret goes where the click lands); returns its <input>."""
        box = self.box(css)
        box.click()
        return box

    def choose(self, css, label):
        from selenium.webdriver.support.ui import Select

        Select(self.find(css, "select")).select_by_visible_text(label)

    def click(self, css):
        self.find(css, "button").click()

    def console_errors(self):
        """Severe entries of the browser console since the last call."""
        from selenium.webdriver.remote.command import Command

        log = self.d.execute(Command.GET_LOG, {"type": "browser"})["value"]
        return [e for e in log if e.get("level") == "SEVERE"]
