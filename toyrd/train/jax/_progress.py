"""A progress bar per training call, advanced from inside the compiled scan.

The compiled run calls ``jax.debug.callback(tick, token, k)`` once per history stride; ``token``
is a traced argument of the run, so one cached compiled program serves many calls, and each call
registers its own bar under a fresh token (no module-global bar shared between runs).
"""

from __future__ import annotations

import itertools
import threading

__all__ = ["RunProgress", "tick"]

_BARS: dict = {}
_LOCK = threading.Lock()
_TOKENS = itertools.count(1)


def tick(token, k) -> None:
    """Callback target: advance the bar registered under ``token`` to chunk ``k`` + 1."""
    bar = _BARS.get(int(token))
    if bar is not None:
        bar.n = int(k) + 1
        bar.refresh()


class RunProgress:
    """Context manager: a tqdm bar of ``total`` chunks (or none when ``enabled`` is false),
    registered under :attr:`token` for the duration of one training call."""

    def __init__(self, total: int, desc: str, enabled: bool):
        self.total, self.desc, self.enabled = int(total), desc, bool(enabled)
        with _LOCK:
            self.token = next(_TOKENS)
        self.bar = None

    def __enter__(self) -> RunProgress:
        if self.enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, desc=self.desc, unit="chunk", leave=False)
            _BARS[self.token] = self.bar
        return self

    def __exit__(self, *exc) -> None:
        _BARS.pop(self.token, None)
        if self.bar is not None:
            self.bar.close()
