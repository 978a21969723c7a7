"""Output locations, checked before any work is done, and files written whole or not at all.

Every function raises a one-line :class:`~toyrd.errors.ToyrdError` naming the path and the
reason (missing folder, a file where a folder should be, not writable, not a regular file);
never a bare ``OSError``. Writability is proven by creating (and removing) a probe file, not by
``os.access``, which says yes to root on read-only mounts such as ``/sys``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

from toyrd.errors import ToyrdError

__all__ = ["atomic_write", "check_out_dir", "check_out_file", "os_reason"]


def os_reason(exc: OSError) -> str:
    """The ``strerror`` of an OSError ("Permission denied"), else its type name."""
    return exc.strerror or type(exc).__name__


def _check_parent(what: str, path: str) -> str:
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(parent):
        # name the first missing folder, so the user knows what to create
        missing = parent
        while not os.path.exists(os.path.dirname(missing)):
            missing = os.path.dirname(missing)
        if not os.path.isdir(os.path.dirname(missing)):
            raise ToyrdError(
                f"{what}: cannot write {path}: {os.path.dirname(missing)} is a file, not a folder"
            )
        raise ToyrdError(f"{what}: cannot write {path}: no such folder {missing}")
    if not os.path.isdir(parent):
        raise ToyrdError(f"{what}: cannot write {path}: {parent} is a file, not a folder")
    _probe(what, path, parent)
    return parent


def _probe(what: str, path: str, folder: str) -> None:
    try:
        fd, probe = tempfile.mkstemp(prefix=".toyrd-probe-", dir=folder)
    except OSError as exc:
        raise ToyrdError(
            f"{what}: cannot write {path}: folder {folder} is not writable ({os_reason(exc)})"
        ) from None
    os.close(fd)
    os.unlink(probe)


def check_out_file(what: str, path, *, suffix: str | None = None) -> str:
    """The path that will be written (``suffix`` appended unless already there), after checking
    that its folder exists and is writable and that the path is not a folder or a device.

    ``what`` names the option (``"--out"``) in the message.
    """
    path = os.fspath(path)
    if not str(path).strip():
        raise ToyrdError(f"{what}: an empty path; name the file to write")
    given = path
    if suffix and not path.endswith(suffix):
        path += suffix
    if os.path.exists(given) and not os.path.isfile(given) and not os.path.isdir(given):
        raise ToyrdError(
            f"{what}: cannot write {given}: not a regular file (a device or pipe "
            "cannot be synced to disk)"
        )
    if os.path.isdir(path):
        raise ToyrdError(f"{what}: cannot write {path}: it is a folder, expected a file")
    if os.path.exists(path) and not os.path.isfile(path):
        raise ToyrdError(
            f"{what}: cannot write {path}: not a regular file (a device or pipe "
            "cannot be synced to disk)"
        )
    _check_parent(what, path)
    if os.path.exists(path):
        try:
            with open(path, "ab"):
                pass
        except OSError as exc:
            raise ToyrdError(f"{what}: cannot write {path} ({os_reason(exc)})") from None
    return path


def check_out_dir(what: str, path) -> str:
    """Make sure folder ``path`` exists (its parent must) and is writable; return it."""
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ToyrdError(f"{what}: cannot write into {path}: it is a file, not a folder")
    if not os.path.exists(path):
        _check_parent(what, path)
        try:
            os.mkdir(path)
        except OSError as exc:
            raise ToyrdError(f"{what}: cannot create folder {path} ({os_reason(exc)})") from None
    _probe(what, path, path)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(what: str, path, mode: str = "wb"):
    """Yield a file object for a temporary file beside ``path``; on success it is synced and
    renamed onto ``path``, on any error removed (``path`` is then untouched). OSErrors become
    one-line :class:`ToyrdError` s."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ToyrdError(f"{what}: cannot write {path} ({os_reason(exc)})") from None
    ok = False
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
        ok = True
    except OSError as exc:
        raise ToyrdError(f"{what}: cannot write {path} ({os_reason(exc)})") from None
    finally:
        if not ok:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
