"""Model files: an ``.npz`` with ``encoder`` (n_x×n_z), ``decoder`` (n_z×n_x), ``marginal`` (n_z),
optionally ``px`` (n_x, default: the toy's p*) and ``pzx`` (2×n_x, the true joint p(z*, x)).
"""

from __future__ import annotations

import json
import math
from typing import NamedTuple

import numpy as np

from toyrd._output import atomic_write, check_out_file
from toyrd._validate import as_conditional, as_joint, check_model
from toyrd.errors import TableError, ToyrdError

__all__ = ["Model", "load_model", "save_model", "dumps", "MAX_ARRAY_BYTES"]


class Model(NamedTuple):
    """A validated finite VAE: float64 tables and the data they are evaluated on.

    Attributes:
        px: p*(x), shape (n_x,).
        encoder: e(z|x), shape (n_x, n_z), rows summing to 1.
        decoder: d(x|z), shape (n_z, n_x), rows summing to 1.
        marginal: m(z), shape (n_z,).
        pzx: the true joint p(z*, x), shape (n_class, n_x), or None when unknown.
    """

    px: np.ndarray
    encoder: np.ndarray
    decoder: np.ndarray
    marginal: np.ndarray
    pzx: np.ndarray | None = None


def load_model(path, *, normalize: bool = False) -> Model:
    """Read and validate a model file.

    Without ``px`` the file's p* is the column sum of its ``pzx`` or, failing that, the toy's
    p* (then the encoder must have the toy's 30 rows, and the toy's ``pzx`` is used too).

    Args:
        path: the ``.npz`` file (a path or path-like), with arrays ``encoder`` (n_x, n_z),
            ``decoder`` (n_z, n_x), ``marginal`` (n_z,), optionally ``px`` (n_x,) and
            ``pzx`` (n_class, n_x).
        normalize: divide each table by its sums instead of rejecting sums off 1 (never
            silent: only when asked).

    Returns:
        Model: the validated float64 tables.

    Raises:
        ToyrdError: the file is missing, unreadable or not an ``.npz`` archive.
        TableError: an array is missing, a table is not a probability table, or the sizes do not
            match (including no ``px`` and an encoder without the toy's 30 rows).
    """
    arrays = _read_npz(path)
    missing = [k for k in ("encoder", "decoder", "marginal") if k not in arrays]
    if missing:
        raise TableError(f"{path}: missing array {missing[0]!r} (has {sorted(arrays)})")
    try:
        return _validated(path, arrays, normalize)
    except TableError as exc:  # name the file: the user gave a path, not the tables
        raise TableError(f"{path}: {exc}") from None


def _validated(path, arrays, normalize) -> Model:
    n_x = as_conditional("encoder", arrays["encoder"], normalize=normalize).shape[0]
    pzx = arrays.get("pzx")
    if pzx is not None:
        pzx = _check_pzx(pzx, n_x, normalize=normalize)
    px = arrays.get("px")
    if px is None:
        if pzx is not None:
            px = pzx.sum(0)
        else:
            from toyrd.data import toy_data

            toy = toy_data()
            if n_x != toy.n_bins:
                raise TableError(
                    f"no 'px' array, and the default p* (the toy's, {toy.n_bins} "
                    f"states) does not fit an encoder with {n_x} rows; store px in the file"
                )
            px, pzx = toy.px, toy.pzx
    px, e, d, m = check_model(
        px, arrays["encoder"], arrays["decoder"], arrays["marginal"], normalize=normalize
    )
    return Model(px, e, d, m, pzx)


def save_model(path, encoder, decoder, marginal, *, px=None, pzx=None) -> str:
    """Write a model file after validating it (so every saved file loads); return its path.

    The file is written whole or not at all (a temporary file renamed into place).

    Args:
        path: where to write (numpy appends ``.npz`` when the name lacks it).
        encoder: e(z|x), shape (n_x, n_z), rows summing to 1.
        decoder: d(x|z), shape (n_z, n_x), rows summing to 1.
        marginal: m(z), shape (n_z,).
        px: p*(x), shape (n_x,); default the column sums of ``pzx``, else the toy's p*.
        pzx: the true joint p(z*, x), shape (n_class, n_x), stored when given.

    Returns:
        str: the path written (``.npz`` appended when missing); the file holds encoder,
        decoder, marginal, px (always) and pzx (if given).

    Raises:
        TableError: a table is not a probability table or the sizes do not match.
        ToyrdError: the location cannot be written (one line naming the path and the reason).
    """
    n_x = as_conditional("encoder", encoder).shape[0]
    if pzx is not None:
        pzx = _check_pzx(pzx, n_x)
    px_default = px if px is not None else (pzx.sum(0) if pzx is not None else None)
    if px_default is None:
        from toyrd.data import toy_data

        px_default = toy_data().px
    px_v, e, d, m = check_model(px_default, encoder, decoder, marginal)
    arrays = dict(encoder=e, decoder=d, marginal=m, px=px_v)
    if pzx is not None:
        arrays["pzx"] = pzx
    path = check_out_file("model file", path, suffix=".npz")
    with atomic_write("model file", path) as fh:
        np.savez(fh, **arrays)
    return path


#: The most bytes one array of a model file may unpack to (a 2000 × 2000 float64 table is 32 MB):
#: the sizes declared in the archive are checked before anything is decompressed, so a hostile
#: file (a zip bomb, a header claiming 10^12 entries) is refused without using the memory.
MAX_ARRAY_BYTES = 1 << 28


def _read_npz(path) -> dict:
    """Every array of an .npz archive, or a one-line :class:`ToyrdError` saying why not.

    The file is opened here and handed to ``np.load`` as a file object, so it is closed even when
    numpy fails half-way (given a path, numpy leaks the handle of a damaged zip).
    """
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise ToyrdError(f"{path}: no such file") from None
    except OSError as exc:  # a directory, no permission, ...
        raise ToyrdError(
            f"{path}: cannot be opened ({type(exc).__name__}: {exc.strerror or exc})"
        ) from None
    with fh:
        if fh.read(6) == b"\x93NUMPY":  # refused before numpy reads (maybe huge) array data
            raise ToyrdError(
                f"{path}: holds a single array, expected an .npz archive with "
                f"encoder, decoder, marginal"
            )
        fh.seek(0)
        try:
            loaded = np.load(fh, allow_pickle=False)
        except (
            Exception
        ) as exc:  # not a zip / npy, pickled data, empty, ...: the file is unreadable
            raise ToyrdError(
                f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})"
            ) from None
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ToyrdError(
                f"{path}: holds a single array, expected an .npz archive with "
                f"encoder, decoder, marginal"
            )
        with loaded as f:
            for info in f.zip.infolist():
                if info.file_size > MAX_ARRAY_BYTES:
                    raise ToyrdError(
                        f"{path}: member {info.filename!r} unpacks to "
                        f"{info.file_size} bytes, more than the {MAX_ARRAY_BYTES} a "
                        "model table may hold; not a toyrd model file"
                    )
            try:
                return {k: f[k] for k in f.files}
            except Exception as exc:  # a damaged member (bad CRC, truncated data, object array)
                raise ToyrdError(
                    f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})"
                ) from None


def _check_pzx(pzx, n_x: int, *, normalize: bool = False) -> np.ndarray:
    """The true joint p(z*, x): a rank-2 table of n_x columns whose entries sum to 1."""
    pzx = as_joint("pzx", pzx, normalize=normalize)
    if pzx.shape[1] != n_x:
        raise TableError(
            f"pzx: has {pzx.shape[1]} columns, expected n_x = {n_x} (the encoder's rows)"
        )
    return pzx


def _plain(obj):
    """JSON-ready: numpy → lists/floats; non-finite floats → the strings 'inf', '-inf', 'nan'."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else ("nan" if math.isnan(x) else ("inf" if x > 0 else "-inf"))
    return obj


def dumps(obj, **kw) -> str:
    """Strict JSON (no NaN/Infinity tokens): non-finite numbers are written as strings.

    Args:
        obj: dicts, lists, tuples, numpy arrays and scalars, floats, ints, strings (nested).
        **kw: passed to ``json.dumps`` (e.g. ``indent=1``).

    Returns:
        str: the JSON text; numpy arrays become lists, ±inf and nan the strings ``"inf"``,
            ``"-inf"``, ``"nan"``.
    """
    return json.dumps(_plain(obj), allow_nan=False, **kw)
