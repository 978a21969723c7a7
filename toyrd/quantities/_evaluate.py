"""Every exact quantity of a model in one call: :func:`evaluate` and the true-joint check."""

from __future__ import annotations

import re

import numpy as np

from toyrd import _formulas as F
from toyrd._validate import SUM_TOL, as_joint, check_model, read_real_array, sums_match
from toyrd.errors import TableError
from toyrd.quantities._distributions import bayes_posterior, model_posterior
from toyrd.quantities._info import reference_density, scaled
from toyrd.quantities._logeval import log_quantities, log_table

__all__ = ["QUANTITY_NAMES", "evaluate", "evaluate_logs", "check_log_tables", "check_true_joint"]


# ----------------------------------------------------------------------------- everything at once

#: The scalar keys of :func:`evaluate`, in display order.
QUANTITY_NAMES = (
    "H",
    "D",
    "R",
    "ELBO",
    "I_e",
    "I_d",
    "E",
    "G",
    "U",
    "S",
    "kl_q_m",
    "kl_pstar_g",
    "kl_pstar_dbar",
    "I_zstar",
)


def evaluate(
    px, encoder, decoder, marginal, *, pzx=None, r=None, base=None, distributions: bool = False
) -> dict:
    r"""Every exact quantity of one model, as a dict of floats (nats, or ``base`` units).

    The reference density for G, U, S is ``r`` (default p*).

    Args:
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.
        encoder: :math:`e(z|x)`, shape ``(n_x, n_z)``, each row a distribution over z.
        decoder: :math:`d(x|z)`, shape ``(n_z, n_x)``, each row a distribution over x.
        marginal: :math:`m(z)`, the prior over the code, shape ``(n_z,)``.
        pzx: the true joint :math:`p(z^*, x)`, shape ``(n_class, n_x)``; adds ``I_zstar``.
        r: the reference density for G, U and S, shape ``(n_x,)``; default p*.
        base: logarithm base of the result: None (default) for nats, 2 for bits.
        distributions: also return the arrays (see Returns).

    Returns:
        dict: floats keyed ``H``, ``D``, ``R``, ``ELBO``, ``I_e``, ``I_d``, ``E``, ``G``, ``U``,
            ``S``, ``kl_q_m`` = :math:`\mathrm{KL}(q \Vert m)`, ``kl_pstar_g`` =
            :math:`\mathrm{KL}(p^* \Vert g)`, ``kl_pstar_dbar`` =
            :math:`\mathrm{KL}(p^* \Vert \bar d)` (the keys of ``QUANTITY_NAMES``), and
            ``I_zstar`` = :math:`I(z; z^*)` when ``pzx`` is given. With ``distributions=True``
            also the float64 arrays ``q`` ``(n_z,)``, ``g`` ``(n_x,)``, ``dbar`` ``(n_x,)``,
            ``recon_channel`` ``(n_x, n_x)``, ``bayes_posterior`` ``(n_z, n_x)`` and
            ``model_posterior`` ``(n_x, n_z)``.

    Raises:
        TableError: a table is not a probability table (a negative or non-finite entry, a sum
            off 1 by more than ``SUM_TOL`` = 1e-10) or the sizes of the tables do not match.
            Also when ``pzx``'s columns do not sum to ``px`` (:func:`check_true_joint`).

    Example:
        >>> import numpy as np, toyrd
        >>> px = np.array([0.25, 0.75]); e = np.eye(2)
        >>> out = toyrd.evaluate(px, e, np.eye(2), px)
        >>> round(out["R"] + out["D"] - out["H"], 12)   # identity encoder, optimal m, d: R + D = H
        0.0
    """
    px, e, d, m = check_model(px, encoder, decoder, marginal)
    logs = tuple(log_table(t) for t in (e, d, m))
    return _evaluate(px, (e, d, m), logs, pzx, r, base, distributions)


def evaluate_logs(
    px, log_encoder, log_decoder, log_marginal, *, pzx=None, r=None, base=None,
    distributions: bool = False,
) -> dict:  # fmt: skip
    r""":func:`evaluate` of the model whose tables are exp(log_encoder), exp(log_decoder),
    exp(log_marginal): finite R and D for a model defined by logits even where a table entry
    underflows to 0 in float64 (:math:`\log d(x|z) < -745` meeting posterior mass ~1e-87).

    Args and Returns as :func:`evaluate`; the logs may hold −inf (a zero entry), never NaN or
    +inf, and each row of exp(log) must sum to 1 within ``SUM_TOL``.

    Example:
        >>> import numpy as np, toyrd
        >>> px = np.array([0.5, 0.5]); le = np.log(np.eye(2) * 0.98 + 0.01)
        >>> ld = np.array([[0.0, -800.0], [-800.0, 0.0]])   # exp(-800) underflows to 0
        >>> round(toyrd.evaluate_logs(px, le, ld, np.log(px))["D"], 6)   # 0.01 · 800, finite
        8.0
    """
    px, tables, logs = check_log_tables(px, log_encoder, log_decoder, log_marginal)
    return _evaluate(px, tables, logs, pzx, r, base, distributions)


def check_log_tables(px, log_encoder, log_decoder, log_marginal):
    """(px, (e, d, m), (log e, log d, log m)) validated: each log entry finite or −inf, and the
    tables exp(log) probability tables of matching sizes (the rules of :func:`check_model`)."""
    logs = []
    for name, a in (("log_encoder", log_encoder), ("log_decoder", log_decoder),
                    ("log_marginal", log_marginal)):  # fmt: skip
        a = np.asarray(read_real_array(name, a), dtype=np.float64)
        bad = np.isnan(a) | (a == np.inf)
        if bad.any():
            at = tuple(int(i) for i in np.argwhere(bad)[0])
            raise TableError(f"{name}: entry {at} is {a[at]}, expected a log (finite or -inf)")
        logs.append(a)
    try:
        px, *tables = check_model(px, *(np.exp(a) for a in logs))
    except TableError as exc:  # name the logs the caller gave, with the rule broken
        raise TableError(
            re.sub(r"^(encoder|decoder|marginal)\b", r"exp(log_\1)", str(exc))
        ) from None
    return px, tuple(tables), tuple(logs)


def _evaluate(px, tables, logs, pzx, r, base, distributions) -> dict:
    e, d, m = tables
    ref = reference_density(r, px)
    if ref.shape != px.shape:
        raise TableError(f"r: has {ref.shape[0]} entries, expected n_x = {px.shape[0]}")
    joint = None if pzx is None else check_true_joint(pzx, px)
    values = log_quantities(px, *logs, None if r is None else ref, joint)
    out = values if base is None else {k: scaled(v, base) for k, v in values.items()}
    if distributions:
        q = F.encoder_joint(px, e).sum(0)
        out.update(
            q=q,
            g=m @ d,
            dbar=q @ d,
            recon_channel=e @ d,
            bayes_posterior=bayes_posterior(px, e),
            model_posterior=model_posterior(d, m),
        )
    return out


def check_true_joint(pzx, px) -> np.ndarray:
    """Validate the true joint :math:`p(z^*, x)` against :math:`p^*(x)`: its columns must sum to px.

    Args:
        pzx: the true joint :math:`p(z^*, x)`, shape ``(n_class, n_x)``.
        px: :math:`p^*(x)`, the data distribution, shape ``(n_x,)``.

    Returns:
        ndarray: ``pzx`` as float64, shape ``(n_class, n_x)``.

    Raises:
        TableError: ``pzx`` has the wrong number of columns, is not a joint table, or its
            column sums differ from ``px`` by more than ``SUM_TOL``.
    """
    shape = np.shape(pzx)
    if len(shape) == 2 and shape[1] != px.shape[0]:  # the size rule first: it names the cause
        raise TableError(f"pzx: has {shape[1]} columns, expected n_x = {px.shape[0]}")
    joint = as_joint("pzx", pzx)
    if sums_match(joint.sum(0), px):  # the column sums within the rule (the common case)
        return joint
    gap = np.abs(joint.sum(0) - px)  # otherwise the rule itself, entry by entry
    if not gap.max() <= SUM_TOL:
        x = int(np.argmax(gap))
        raise TableError(
            f"pzx: its column sums (the x-marginal) differ from px by more than "
            f"{SUM_TOL:g} (column {x}: {joint[:, x].sum():.15g} vs px {px[x]:.15g})"
        )
    return joint
