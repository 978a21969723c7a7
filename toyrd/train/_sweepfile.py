"""The sweep file: a run's identity (:data:`CONFIG_FIELDS`, :func:`config_key`), reading the
finished runs back (:func:`read_done`, a partial last line kept or set aside), the lock that
refuses a second writer, and the one writer that appends result lines.
"""

from __future__ import annotations

import contextlib
import json
import os

from toyrd.errors import ToyrdError

__all__ = ["CONFIG_FIELDS", "MAX_LINE_BYTES", "config_key", "read_done"]

#: The configuration of one run, in output order.
CONFIG_FIELDS = (
    "objective",
    "hyper",
    "family",
    "init_scale",
    "seed",
    "steps",
    "lr",
    "schedule",
    "warmup",
    "n_z",
    "dtype",
    "f64_steps",
)
#: Fields a line written before ``f64_steps`` joined the identity may lack; read as null. That is
#: the value of a float64 or float32 run (no float64 finish), so such a line still matches its
#: run; a "mixed" run always has f64_steps >= 1, so an old mixed line (finish unknown) matches no
#: configuration: kept in the file, never reused.
_LEGACY_FIELDS = ("f64_steps",)


def config_key(config: dict) -> str:
    """The canonical identity of a run: its configuration fields as sorted, compact JSON.

    A line written before ``f64_steps`` was recorded reads it as null (see _LEGACY_FIELDS)."""
    ident = {}
    for k in CONFIG_FIELDS:
        if k in config:
            ident[k] = config[k]
        elif k in _LEGACY_FIELDS:
            ident[k] = None
        else:
            raise KeyError(k)
    return json.dumps(ident, sort_keys=True, separators=(",", ":"))


#: The longest line a sweep file may hold (a result line is ~400 bytes): a longer one is not a
#: sweep result, and reading it whole could exhaust memory.
MAX_LINE_BYTES = 1 << 16


def read_done(path) -> dict:
    """{key: status} of the finished runs in ``path`` (missing file: empty), read line by line.

    Memory is bounded by the number of finished runs, not the file: a line longer than
    :data:`MAX_LINE_BYTES`, a byte sequence that is not UTF-8 or a line that is not a sweep
    result raises a one-line :class:`ToyrdError`. A last line without its newline (an
    interrupted write) is kept when it is a complete result (its newline is added); otherwise it is
    appended to ``<path>.rejected`` and then cut from the file (see :func:`_read_done`).
    """
    return _read_done(path)[0]


def _read_done(path) -> tuple:
    """(:func:`read_done`'s dict, the side file a partial last line went to, or None)."""
    from toyrd._output import os_reason

    if not os.path.exists(path):
        return {}, None
    if not os.path.isfile(path):
        raise ToyrdError(f"{path}: not a regular file; a sweep appends to a file on disk")
    done, tail, end = {}, b"", 0
    try:
        with open(path, "rb") as f:
            n = 0
            while True:
                raw = f.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    break
                n += 1
                if not raw.endswith(b"\n"):
                    if len(raw) > MAX_LINE_BYTES:
                        raise ToyrdError(
                            f"{path}: line {n} is longer than {MAX_LINE_BYTES} "
                            "bytes, not a sweep result; refusing to append to it"
                        )
                    tail = raw  # the last line, without its newline
                    break
                end += len(raw)
                _read_line(path, n, raw, done)
        return done, _settle_tail(path, n, tail, end, done)
    except OSError as exc:
        raise ToyrdError(f"{path}: cannot be read ({os_reason(exc)})") from None


def _settle_tail(path, n: int, tail: bytes, end: int, done: dict):
    """A last line without its newline: a complete result gets its newline; anything else is
    appended to ``<path>.rejected`` (flushed to disk first) and then cut from ``path``.
    Returns the side file's path when a line went there, else None."""
    if not tail:
        return None
    if tail.strip():
        try:
            _read_line(path, n, tail, done)
        except ToyrdError:
            pass
        else:
            with open(path, "ab") as f:
                f.write(b"\n")
                f.flush()
                os.fsync(f.fileno())
            return None
        side = f"{path}.rejected"
        with open(side, "ab") as f:
            f.write(tail + b"\n")
            f.flush()
            os.fsync(f.fileno())
    else:
        side = None  # blanks only: nothing to keep
    with open(path, "r+b") as f:
        f.truncate(end)
    return side


def _read_line(path, n: int, raw: bytes, done: dict) -> None:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToyrdError(
            f"{path}: line {n} is not UTF-8 text (byte {exc.start + 1}); not a "
            "sweep file, refusing to append to it"
        ) from None
    if not line.strip():
        return
    try:
        row = json.loads(line)
        key = config_key(row)
        status = row.get("status", "ok")
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
        raise ToyrdError(
            f"{path}: line {n} is not a sweep result (JSON object with "
            f"{', '.join(CONFIG_FIELDS)}); refusing to append to it"
        ) from None
    done[key] = status


@contextlib.contextmanager
def _locked(path):
    """Hold an exclusive, non-blocking ``flock`` on ``path`` (created if missing)."""
    import fcntl

    from toyrd._output import check_out_file, os_reason

    check_out_file("out", path)
    try:
        fh = open(path, "ab")  # noqa: SIM115 (closed by the with below; open errors first)
    except OSError as exc:
        raise ToyrdError(f"{path}: cannot be opened for appending ({os_reason(exc)})") from None
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ToyrdError(
                f"another sweep is writing {path}; wait for it to finish or use another --out"
            ) from None
        except OSError as exc:
            raise ToyrdError(f"{path}: cannot be locked ({os_reason(exc)})") from None
        yield


class _Writer:
    """Appends the unfinished rows of each trained batch to the sweep file (the only writer)."""

    def __init__(self, out, keys, missing, max_runs, bar, on_write):
        self.out, self.keys, self.missing, self.bar = out, keys, missing, bar
        self.left = None if max_runs is None else int(max_runs)
        self.on_write = on_write
        self.ran = 0

    def write(self, rows, lines) -> int:
        """Append ``lines`` (of the batch ``rows``) of runs not yet written; returns how many."""
        from toyrd._output import os_reason

        new = []
        for i, line in zip(rows, lines):
            if self.missing[i] and (self.left is None or len(new) < self.left):
                new.append(line + "\n")
                self.missing[i] = False
        if not new:
            return 0
        try:
            with open(self.out, "a", encoding="utf-8") as f:
                f.write("".join(new))
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise ToyrdError(f"{self.out}: cannot append results ({os_reason(exc)})") from None
        self.ran += len(new)
        if self.left is not None:
            self.left -= len(new)
        if self.bar is not None:
            self.bar.update(len(new))
        if self.on_write is not None:
            self.on_write(len(new))
        return len(new)
