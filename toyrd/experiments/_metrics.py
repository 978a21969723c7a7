"""What the experiments report per model: the exact quantities plus the class-0 block mass."""

from __future__ import annotations

import math

import numpy as np

from toyrd.quantities import class_block_mass, evaluate

__all__ = ["REPORT_KEYS", "class_block_mass", "model_metrics", "stack_metrics"]

#: The quantities reported per seed (keys of :func:`toyrd.evaluate`, plus ``class0_mass``).
REPORT_KEYS = (
    "H",
    "R",
    "D",
    "ELBO",
    "I_e",
    "I_zstar",
    "kl_pstar_g",
    "kl_pstar_dbar",
    "class0_mass",
)


def model_metrics(toy, enc, dec, mar) -> dict:
    """The :data:`REPORT_KEYS` of one model; all NaN when training left non-finite tables."""
    if not all(np.all(np.isfinite(a)) for a in (enc, dec, mar)):
        return {k: math.nan for k in REPORT_KEYS}
    out = evaluate(toy.px, enc, dec, mar, pzx=toy.pzx)
    out["class0_mass"] = class_block_mass(toy.pzx, enc)
    return {k: out[k] for k in REPORT_KEYS}


def stack_metrics(rows) -> dict:
    return {k: np.array([r[k] for r in rows], dtype=np.float64) for k in REPORT_KEYS}
