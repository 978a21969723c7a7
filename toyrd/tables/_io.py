"""Model files: an ``.npz`` with ``encoder`` ``(n_x, n_z)``, ``decoder`` ``(n_z, n_x)``,
``marginal`` ``(n_z,)``, optionally ``px`` (``(n_x,)``, default: the toy's p*) and ``pzx`` (``(2,
n_x)``, the true joint :math:`p(z^*, x)`), and
optionally the log-tables ``log_encoder``, ``log_decoder``, ``log_marginal`` of a model defined by
logits: a table entry below ~1e-308 underflows to 0 in float64 while its log stays finite, and
``toyrd evaluate`` computes from the logs when the file has them (R and D stay finite).
"""

from __future__ import annotations

import json
import math
from typing import NamedTuple

import numpy as np

from toyrd._output import atomic_write, check_out_file
from toyrd._validate import as_conditional, as_joint, check_model, read_real_array
from toyrd.errors import TableError, ToyrdError

__all__ = [
    "Model",
    "load_model",
    "save_model",
    "dumps",
    "MAX_ARRAY_BYTES",
    "LOG_NAMES",
    "LOG_AGREE_TOL",
]

#: The optional log-tables of a model file, in the order (encoder, decoder, marginal).
LOG_NAMES = ("log_encoder", "log_decoder", "log_marginal")


class Model(NamedTuple):
    """A validated finite VAE: float64 tables and the data they are evaluated on.

    Attributes:
        px: :math:`p^*(x)`, shape ``(n_x,)``.
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, rows summing to 1.
        decoder: :math:`d(x|z)`, shape ``(n_z, n_x)``, rows summing to 1.
        marginal: :math:`m(z)`, shape ``(n_z,)``.
        pzx: the true joint :math:`p(z^*, x)`, shape ``(n_class, n_x)``, or None when unknown.
        logs: (log e, log d, log m) when the file stores them, else None.
    """

    px: np.ndarray
    encoder: np.ndarray
    decoder: np.ndarray
    marginal: np.ndarray
    pzx: np.ndarray | None = None
    logs: tuple | None = None

    def underflowed(self) -> dict:
        """{table name: entries that are 0 in the table but finite in its log} (empty when
        nothing underflowed or there are no logs)."""
        if self.logs is None:
            return {}
        tables = (self.encoder, self.decoder, self.marginal)
        counts = {
            name: int(np.count_nonzero((t == 0) & np.isfinite(lt)))
            for name, t, lt in zip(("encoder", "decoder", "marginal"), tables, self.logs)
        }
        return {k: v for k, v in counts.items() if v}


def load_model(path, *, normalize: bool = False) -> Model:
    """Read and validate a model file.

    Without ``px`` the file's p* is the column sum of its ``pzx`` or, failing that, the toy's
    p* (then the encoder must have the toy's 30 rows, and the toy's ``pzx`` is used too).

    Args:
        path: the ``.npz`` file (a path or path-like), with arrays ``encoder`` ``(n_x, n_z)``,
            ``decoder`` ``(n_z, n_x)``, ``marginal`` ``(n_z,)``, optionally ``px`` ``(n_x,)`` and
            ``pzx`` ``(n_class, n_x)``.
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
        low = sorted(k for k, a in arrays.items() if a.dtype.kind == "f" and a.itemsize < 8)
        hint = (
            f" (the file stores {', '.join(low)} as {arrays[low[0]].dtype}, whose rounding "
            "~1e-7 breaks the rule: toyrd's tables are float64 — save them as float64 rows "
            "renormalised in float64, or pass normalize=True to toyrd.load_model)"
            if low and "sums to" in str(exc)
            else ""
        )
        raise TableError(f"{path}: {exc}{hint}") from None


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
    present = [k for k in LOG_NAMES if k in arrays]
    if present and len(present) < 3:
        missing = next(k for k in LOG_NAMES if k not in arrays)
        raise TableError(f"has {present[0]!r} but not {missing!r}: store all three log-tables")
    logs = _check_logs([arrays[k] for k in LOG_NAMES], (e, d, m)) if present else None
    return Model(px, e, d, m, pzx, logs)


#: How far exp(log-table) may sit from the stored table, entry by entry: the rule of the sums
#: (SUM_TOL = 1e-10); a float64 softmax and exp of its log_softmax differ by a few ulps.
LOG_AGREE_TOL = 1e-10


def _check_logs(logs, tables) -> tuple:
    """The log-tables as float64, each entry finite or -inf and exp(log) equal to its table."""
    out = []
    for name, lt, t in zip(LOG_NAMES, logs, tables):
        lt = np.asarray(read_real_array(name, lt), dtype=np.float64)
        if lt.shape != t.shape:
            raise TableError(f"{name}: shape {lt.shape}, expected {t.shape} like its table")
        bad = np.isnan(lt) | (lt == np.inf)
        if bad.any():
            at = tuple(int(i) for i in np.argwhere(bad)[0])
            raise TableError(f"{name}: entry {at} is {lt[at]}, expected a log (finite or -inf)")
        gap = np.abs(np.exp(lt) - t)
        if not gap.max() <= LOG_AGREE_TOL:
            at = tuple(int(i) for i in np.argwhere(gap == gap.max())[0])
            raise TableError(
                f"{name}: exp of entry {at} is {np.exp(lt[at]):.17g}, its table holds "
                f"{t[at]:.17g} (they must agree to {LOG_AGREE_TOL:g})"
            )
        out.append(lt)
    return tuple(out)


def save_model(path, encoder, decoder, marginal, *, px=None, pzx=None, logs=None) -> str:
    """Write a model file after validating it (so every saved file loads); return its path.

    The file is written whole or not at all (a temporary file renamed into place).

    Args:
        path: where to write (numpy appends ``.npz`` when the name lacks it).
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, rows summing to 1.
        decoder: :math:`d(x|z)`, shape ``(n_z, n_x)``, rows summing to 1.
        marginal: :math:`m(z)`, shape ``(n_z,)``.
        px: :math:`p^*(x)`, shape ``(n_x,)``; default the column sums of ``pzx``, else the toy's p*.
        pzx: the true joint :math:`p(z^*, x)`, shape ``(n_class, n_x)``, stored when given.
        logs: (log e, log d, log m), the log-tables of a model defined by logits, stored when
            given (exp of each must equal its table to ``LOG_AGREE_TOL``).

    Returns:
        str: the path written (``.npz`` appended when missing); the file holds encoder,
        decoder, marginal, px (always), pzx and the log-tables (if given).

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
    if logs is not None:
        arrays.update(zip(LOG_NAMES, _check_logs(logs, (e, d, m))))
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
        head = fh.read(6)
        if head == b"\x93NUMPY":  # refused before numpy reads (maybe huge) array data
            raise ToyrdError(
                f"{path}: holds a single array, expected an .npz archive with "
                f"encoder, decoder, marginal"
            )
        if not head.startswith(b"PK"):  # every .npz is a zip archive; say what it is instead
            kind = "an empty file" if not head else f"a file starting with {head!r}"
            raise ToyrdError(
                f"{path}: not an .npz archive ({kind}); a model file is the zip that "
                "numpy.savez or toyrd.save_model writes, with encoder, decoder, marginal"
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
