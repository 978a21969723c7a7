"""The toy data of Alemi et al. (2018), Section 4 and Appendix E, made exact.

z* ~ Bernoulli with p(z* = 0) = ``p0``; h | z* ~ N(μ_{z*}, s²); x is the index of the bin of h
among ``n_bins`` equal bins of [``low``, ``high``). The paper publishes neither μ, s nor the bin
range; toyrd's choices (all parameters, these are the defaults):

* range [0, 1), 30 bins of width 1/30;
* means μ₀ = 1/3 (class 0, 70 % of the mass) and μ₁ = 2/3 (class 1) — symmetric in the range;
* one noise scale s for both classes, solved by root finding (Brent) so that I(x; z*) equals
  ``target_info`` = 0.5 nats to 1e-12;
* tails **folded** into the end bins: bin 0 holds (-∞, 1/30), the last bin holds [29/30, ∞), so
  no probability is lost and nothing is renormalised. ``tails="truncate"`` instead conditions h
  on the range (the Gaussian restricted to [low, high), divided by its mass there).

>>> import toyrd
>>> toy = toyrd.toy_data()
>>> round(toy.info, 12), toy.pzx.shape
(0.5, (2, 30))
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import optimize, special

from toyrd import _formulas as F
from toyrd.errors import ToyrdError

__all__ = ["ToyData", "toy_data", "binned_mixture", "INFO_TOL"]

#: Root-finding tolerance on I(x;z*) (nats); Brent's method reaches it in ~40 evaluations.
INFO_TOL = 1e-12


class ToyData(NamedTuple):
    r"""The calibrated toy: parameters, the joint :math:`p(z^*, x)`, and its summaries.

    Attributes:
        pzx: the joint :math:`p(z^*, x)`, float64, shape ``(2, n_bins)``; all entries sum to 1.
        px: :math:`p^*(x) = \sum_{z^*} p(z^*, x)`, float64, shape ``(n_bins,)``.
        p0: :math:`p(z^* = 0)`, the class-0 weight (0.7).
        means: the class means :math:`(\mu_0, \mu_1)` of h, in the units of [low, high).
        noise: the solved noise scale s, same units.
        low: the left end of the binned range.
        high: the right end of the binned range.
        tails: ``"fold"`` or ``"truncate"`` (see the module docstring).
        info: :math:`I(x; z^*)` in nats (the calibration target, to ``INFO_TOL``).
        entropy: H(x) in nats.
    """

    pzx: np.ndarray  # (2, n_bins) joint p(z*, x)
    px: np.ndarray  # (n_bins,) p*(x)
    p0: float
    means: tuple[float, float]
    noise: float  # the solved s
    low: float
    high: float
    tails: str
    info: float  # I(x; z*) in nats
    entropy: float  # H(x) in nats

    @property
    def n_bins(self) -> int:
        """The number of data states ``n_x`` (30 for the paper's toy)."""
        return self.px.shape[0]

    @property
    def bin_centers(self) -> np.ndarray:
        """The centre of each bin, float64, shape (n_bins,), units of [low, high)."""
        edges = np.linspace(self.low, self.high, self.n_bins + 1)
        return 0.5 * (edges[:-1] + edges[1:])

    def summary(self) -> dict:
        """JSON-ready description: parameters, H, :math:`I(x; z^*)`, px and pzx.

        Returns:
            dict: n_bins, p0, means, noise, low, high, tails, I_x_zstar and H (nats) as numbers,
                px (n_bins floats) and pzx (2 lists of n_bins floats).
        """
        return {
            "n_bins": self.n_bins,
            "p0": self.p0,
            "means": list(self.means),
            "noise": self.noise,
            "low": self.low,
            "high": self.high,
            "tails": self.tails,
            "I_x_zstar": self.info,
            "H": self.entropy,
            "px": self.px.tolist(),
            "pzx": self.pzx.tolist(),
        }


def binned_mixture(
    noise: float,
    *,
    n_bins: int = 30,
    p0: float = 0.7,
    means=(1 / 3, 2 / 3),
    low: float = 0.0,
    high: float = 1.0,
    tails: str = "fold",
) -> np.ndarray:
    r"""The joint :math:`p(z^*, x)` of the binned two-Gaussian mixture with noise ``noise``.

    Args:
        noise: the noise scale s of :math:`h \mid z^* \sim N(\mu_{z^*}, s^2)`, > 0, units of
            [low, high).
        n_bins: the number of equal bins of [low, high), ``n_x``.
        p0: :math:`p(z^* = 0)`, in (0, 1).
        means: the two class means :math:`(\mu_0, \mu_1)`.
        low: the left end of the binned range.
        high: the right end of the binned range.
        tails: ``"fold"`` puts the mass outside the range into the end bins; ``"truncate"``
            conditions h on [low, high).

    Returns:
        ndarray: p(z*, x), float64, shape (2, n_bins); row c sums to p(z* = c).

    Raises:
        ToyrdError: ``tails`` is not ``"fold"`` or ``"truncate"``, or (``"truncate"``) a class
            leaves no mass in the range.
    """
    edges = np.linspace(low, high, n_bins + 1)
    rows = []
    for mu in means:
        cdf = special.ndtr((edges - mu) / noise)
        if tails == "fold":
            cdf[0], cdf[-1] = 0.0, 1.0
            mass = np.diff(cdf)
        elif tails == "truncate":
            mass = np.diff(cdf)
            total = mass.sum()
            if not total > 0:
                raise ToyrdError(
                    f"means: class mean {mu!r} leaves no mass in [{low!r}, {high!r}) at "
                    f"noise {noise:.6g}, so tails='truncate' cannot condition on the range"
                )
            mass = mass / total  # the model: h conditioned on [low, high)
        else:
            raise ToyrdError(f"tails: {tails!r} is not one of 'fold', 'truncate'")
        rows.append(mass)
    return np.array([p0, 1.0 - p0])[:, None] * np.array(rows)


def toy_data(
    *,
    n_bins: int = 30,
    p0: float = 0.7,
    target_info: float = 0.5,
    means=(1 / 3, 2 / 3),
    low: float = 0.0,
    high: float = 1.0,
    tails: str = "fold",
) -> ToyData:
    r"""Build the toy with the noise s solved so that :math:`I(x; z^*)` = ``target_info`` nats.

    The target must lie in :math:`(0, H(z^*))`, and :math:`H(z^*) = 0.611` nats for p0 = 0.7,
    reached only when the bins separate the classes. Brent's method searches the noise s in
    [1e-4, 1e2] × (high − low) and stops when s is known to 1e-15; a target that needs a noise
    outside that bracket is refused as beyond what the bins can carry.

    Args:
        n_bins: the number of data states ``n_x``, an integer ≥ 2.
        p0: :math:`p(z^* = 0)`, in (0, 1).
        target_info: :math:`I(x; z^*)` to reach, nats (0.5 in the paper).
        means: the two class means :math:`(\mu_0, \mu_1)`.
        low: the left end of the binned range.
        high: the right end of the binned range, > ``low``.
        tails: ``"fold"`` (default) or ``"truncate"``; see the module docstring.

    Returns:
        ToyData: the toy; ``info`` equals ``target_info`` to ``INFO_TOL`` = 1e-12 nats.

    Raises:
        ToyrdError: a parameter is out of range (n_bins < 2, p0 outside (0, 1), high ≤ low, not
            two means, a mean outside the range with ``tails="truncate"``), or the target is
            outside (0, H(z*)) or beyond what these bins can carry.
    """
    if not (isinstance(n_bins, (int, np.integer)) and n_bins >= 2):
        raise ToyrdError(f"n_bins: {n_bins!r}, expected an integer >= 2")
    if not 0.0 < p0 < 1.0:
        raise ToyrdError(f"p0: {p0!r}, expected 0 < p0 < 1")
    if not high > low:
        raise ToyrdError(f"high: {high!r} must exceed low: {low!r}")
    if len(means) != 2:
        raise ToyrdError(f"means: expected two class means, got {len(means)}")
    means = (float(means[0]), float(means[1]))
    if tails == "truncate" and not all(low <= mu <= high for mu in means):
        raise ToyrdError(
            f"means: {means} must lie in [low, high] = [{low!r}, {high!r}] with tails='truncate'"
        )
    h_class = -(p0 * math.log(p0) + (1 - p0) * math.log(1 - p0))

    def info(s):
        return F.mutual_information(
            binned_mixture(s, n_bins=n_bins, p0=p0, means=means, low=low, high=high, tails=tails)
        )

    width = high - low
    s_lo, s_hi = width * 1e-4, width * 1e2
    i_max, i_min = info(s_lo), info(s_hi)
    if not 0.0 < target_info < h_class:
        raise ToyrdError(
            f"target_info: {target_info!r} nats, expected 0 < I(x;z*) < H(z*) = {h_class:.6f}"
        )
    if not i_min < target_info < i_max:
        raise ToyrdError(
            f"target_info: {target_info!r} nats is outside what these bins can carry "
            f"({i_min:.6g} .. {i_max:.6g}); move the means apart or add bins"
        )
    noise = optimize.brentq(
        lambda s: info(s) - target_info, s_lo, s_hi, xtol=1e-15, rtol=4 * np.finfo(float).eps
    )
    pzx = binned_mixture(noise, n_bins=n_bins, p0=p0, means=means, low=low, high=high, tails=tails)
    px = pzx.sum(0)
    return ToyData(
        pzx=pzx,
        px=px,
        p0=float(p0),
        means=means,
        noise=float(noise),
        low=float(low),
        high=float(high),
        tails=tails,
        info=float(F.mutual_information(pzx)),
        entropy=float(F.entropy(px)),
    )
