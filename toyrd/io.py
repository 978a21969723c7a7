"""Model files: an ``.npz`` with ``encoder`` (n_x×n_z), ``decoder`` (n_z×n_x), ``marginal`` (n_z),
optionally ``px`` (n_x, default: the toy's p*) and ``pzx`` (2×n_x, the true joint p(z*, x)).
"""

from __future__ import annotations

import zipfile
from typing import NamedTuple

import numpy as np

from ._validate import TableError, ToyrdError, check_model

__all__ = ["Model", "load_model", "save_model"]


class Model(NamedTuple):
    """A validated finite VAE: float64 tables and the data they are evaluated on."""

    px: np.ndarray
    encoder: np.ndarray
    decoder: np.ndarray
    marginal: np.ndarray
    pzx: np.ndarray | None = None


def load_model(path, *, normalize: bool = False) -> Model:
    """Read and validate a model file. Missing arrays and bad tables raise :class:`ToyrdError`."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise ToyrdError(f"{path}: no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ToyrdError(f"{path}: not a readable .npz file ({exc})") from None
    missing = [k for k in ("encoder", "decoder", "marginal") if k not in arrays]
    if missing:
        raise TableError(f"{path}: missing array {missing[0]!r} (has {sorted(arrays)})")
    pzx = arrays.get("pzx")
    px = arrays.get("px")
    if px is None:
        from .data import toy_data

        toy = toy_data()
        px = pzx.sum(0) if pzx is not None else toy.px
        if pzx is None and np.shape(arrays["encoder"])[0] == toy.n_bins:
            pzx = toy.pzx
    px, e, d, m = check_model(px, arrays["encoder"], arrays["decoder"], arrays["marginal"],
                              normalize=normalize)
    return Model(px, e, d, m, None if pzx is None else np.asarray(pzx, dtype=np.float64))


def save_model(path, encoder, decoder, marginal, *, px=None, pzx=None) -> None:
    """Write a model file after validating it (so every saved file loads)."""
    px_default = px if px is not None else (np.asarray(pzx).sum(0) if pzx is not None else None)
    if px_default is None:
        from .data import toy_data

        px_default = toy_data().px
    px_v, e, d, m = check_model(px_default, encoder, decoder, marginal)
    arrays = dict(encoder=e, decoder=d, marginal=m, px=px_v)
    if pzx is not None:
        arrays["pzx"] = np.asarray(pzx, dtype=np.float64)
    np.savez(path, **arrays)
