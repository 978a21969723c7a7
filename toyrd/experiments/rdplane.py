r"""The toy's exact rate–distortion plane (paper Section 2, Figure 1; Figure 3b form for −ELBO).

Three panels, every point an exactly evaluated model (:func:`toyrd.evaluate`), nats:

1. **D against R.** The feasible region of *any* model is :math:`D \ge H - R`, :math:`R \ge 0`,
   :math:`D \ge 0` (eq. 2: :math:`H - D \le I_e \le R`); its boundary D = H − R is reached by
   every encoder once m and d are optimal (R + D = H). Marked: the auto-decoding limit
   (R, D) = (0, H), the auto-encoding limit (H, 0), and the points of a β-sweep (β-VAE, loss
   D + βR) per model family — the family's own frontier.
2. **−ELBO = R + D against R.** Feasible: :math:`R + D \ge \max(H, R)`; every model on the line
   −ELBO = H is an ELBO optimum, whatever its rate (the flat valley the paper's Section 4 is
   about).
3. **:math:`I(z; z^*)` against R.** The data processing inequality bounds the code's knowledge of
   the true latent by :math:`I(z; z^*) \le I(x; z^*) = 0.5`, and the information bottleneck
   frontier bounds it by :math:`\mathrm{IB}(I_e) \le \mathrm{IB}(R)` (:math:`I_e \le R` and IB
   is nondecreasing). :func:`toyrd.quantities.ib_frontier` computes the frontier from reachable
   encoders (an inner bound, tight to its solver's accuracy); each point's ``ib_at_I_e`` is its
   value at the point's own :math:`I_e`.

ELBO-trained and target-rate-trained models (the figure2 columns) and the hand-built optimal
model of :func:`toyrd.experiments.figure2.optimal_model` are overlaid on all three.

Identity used by the tests: every trained point satisfies :math:`R + D \ge H - 10^{-12}` (eq. 2),
and the hand-built model sits on the boundary, R + D = H to 1e-12.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from toyrd._validate import check_int
from toyrd.data import ToyData, toy_data
from toyrd.errors import ToyrdError
from toyrd.experiments._metrics import model_metrics
from toyrd.quantities import ib_frontier, ib_frontier_at
from toyrd.tables import FIGURE2_FAMILY
from toyrd.train import TrainConfig, check_real

__all__ = [
    "Settings",
    "RDPlaneResult",
    "run_rdplane",
    "to_json",
    "format_table",
    "feasible_boundary",
    "parse_floats",
    "QUICK",
    "POINT_KEYS",
]

#: The quantities kept for every point.
POINT_KEYS = ("R", "D", "ELBO", "I_e", "I_zstar", "kl_pstar_g")


class Settings(NamedTuple):
    """What ``toyrd rdplane`` trains: a β-sweep per family, plus ELBO and target-rate models."""

    families: tuple = ("tabular", "bump", FIGURE2_FAMILY)
    betas: tuple = (0.2, 0.5, 0.8, 1.0, 1.25, 2.0, 5.0)
    n_seeds: int = 2  # seeds per (family, β)
    first_seed: int = 0  # seeds are first_seed, first_seed + 1, ...
    steps: int = TrainConfig().steps  # toyrd's defaults (docs/cli.md, "Defaults"), except:
    lr: float = TrainConfig().lr
    init_scale: float = 0.3  # the committed plane (docs/data/rdplane) was computed from 0.3
    sigma: float = 0.5
    warmup: int = TrainConfig().warmup

    def train_config(self) -> TrainConfig:
        """The :class:`~toyrd.train.TrainConfig` shared by every run of the plane."""
        return TrainConfig(
            steps=self.steps, lr=self.lr, init_scale=self.init_scale, warmup=self.warmup
        )


#: ``--quick`` (tests): one family, three β, one seed, few steps.
QUICK = Settings(families=("tabular",), betas=(0.5, 1.0, 2.0), n_seeds=1, steps=600)


class RDPlaneResult(NamedTuple):
    toy: ToyData
    settings: Settings
    points: list  # dicts: family, objective, hyper, seed, and POINT_KEYS
    ib: dict | None  # {"I_xz": (K,), "I_zy": (K,)} (toyrd.ib.ib_frontier) or None without toyrd.ib
    optimal: dict  # the hand-built model's POINT_KEYS


def parse_floats(name: str, text: str) -> list:
    """'0.5,1,2' -> [0.5, 1.0, 2.0]; raises :class:`ToyrdError` naming ``name`` on bad input."""
    try:
        out = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ToyrdError(f"{name}: {text!r} is not a comma-separated list of numbers") from None
    if not out or not all(math.isfinite(v) and v >= 0 for v in out):
        raise ToyrdError(f"{name}: {text!r} must list finite numbers >= 0")
    return out


#: A mutual information evaluated in float64 may come out below 0 by rounding (a sum of ~900
#: terms that cancel exactly for a collapsed code: measured −1e-17 in the default run); the
#: frontier, which rejects negative rates, is looked up at 0 for such a value.
_I_E_ROUNDING = 1e-12


def feasible_boundary(H: float, r_max: float):
    """(R, D) vertices of the lower boundary of the feasible region, D = max(H − R, 0), on
    [0, r_max]."""
    if r_max <= H:
        return np.array([0.0, r_max]), np.array([H, H - r_max])
    return np.array([0.0, H, r_max]), np.array([H, 0.0, 0.0])


def _check(settings: Settings) -> Settings:
    from toyrd.tables import get_family

    if not settings.families:
        raise ToyrdError("families: need at least one family")
    for fam in settings.families:
        get_family(fam)
    if not settings.betas:
        raise ToyrdError("betas: need at least one β")
    for b in settings.betas:
        check_real("betas", b)
    check_int("n_seeds", settings.n_seeds, 1)
    check_int("first_seed", settings.first_seed, 0)
    check_real("sigma", settings.sigma)
    settings.train_config().validate()
    return settings


def _points(res, family: str, toy: ToyData) -> list:

    out = []
    for i, cfg in enumerate(res.configs):
        q = model_metrics(toy, res.encoder[i], res.decoder[i], res.marginal[i])
        out.append(
            {
                "family": family,
                "objective": cfg["objective"],
                "hyper": cfg["hyper"],
                "seed": cfg["seed"],
                **{k: float(q[k]) for k in POINT_KEYS},
            }
        )
    return out


def run_rdplane(
    settings: Settings | None = None,
    *,
    toy: ToyData | None = None,
    progress=None,
    ib_points: int = 60,
) -> RDPlaneResult:
    """Train the β-sweeps and the ELBO / target-rate models; evaluate every point exactly.

    ``settings`` defaults to ``Settings()``.
    """
    from toyrd.experiments.figure2 import optimal_model
    from toyrd.train import jax as train_jax

    settings = Settings() if settings is None else settings
    settings = _check(settings)
    toy = toy_data() if toy is None else toy
    step = progress or (lambda stage: None)
    seeds = list(range(settings.first_seed, settings.first_seed + settings.n_seeds))
    common = dict(
        config=settings.train_config(),
        seeds=seeds,
        px=toy.px,
        pzx=toy.pzx,
        progress=False,
        on_divergence="keep",
    )  # a diverged seed is a point to report
    points = []
    for fam in settings.families:
        step(f"{fam}: β-sweep over {len(settings.betas)} β × {len(seeds)} seeds")
        points += _points(
            train_jax.train("beta", family=fam, hyper=list(settings.betas), **common), fam, toy
        )
        step(f"{fam}: target rate σ = {settings.sigma:g} × {len(seeds)} seeds")
        points += _points(
            train_jax.train("target_rate", family=fam, hyper=settings.sigma, **common), fam, toy
        )
    enc, dec, mar = optimal_model(toy, n_z=toy.n_bins)
    opt = {k: float(v) for k, v in model_metrics(toy, enc, dec, mar).items() if k in POINT_KEYS}
    step("information bottleneck frontier")
    fr = ib_frontier(toy.pzx)
    ib = {
        "I_xz": np.asarray(fr.rate, dtype=np.float64),
        "I_zy": np.asarray(fr.relevance, dtype=np.float64),
    }
    for p in points + [opt]:  # the frontier's I(z;z*) at the point's own I(x;z)
        i_e = p["I_e"]
        if -_I_E_ROUNDING < i_e < 0.0:  # a collapsed code's I(x;z) is 0 up to float64 rounding
            i_e = 0.0
        p["ib_at_I_e"] = float(ib_frontier_at(fr, i_e)) if math.isfinite(i_e) else math.nan
    return RDPlaneResult(toy, settings, points, ib, opt)


# ----------------------------------------------------------------------------- reporting


def to_json(result: RDPlaneResult) -> dict:
    """JSON-ready: settings, H, :math:`I(x; z^*)`, the limits, every point, the optimal model and
    IB curve."""
    H = result.toy.entropy
    st = result.settings
    # the published schema: "seeds" is the count and "seed" the first seed
    settings = {
        **{k: getattr(st, k) for k in st._fields[:2]},
        "seeds": st.n_seeds,
        "seed": st.first_seed,
        **{k: getattr(st, k) for k in st._fields[4:]},
    }
    return {
        "settings": settings,
        "units": "nats",
        "H": H,
        "I_x_zstar": result.toy.info,
        "limits": {"auto_decoding": {"R": 0.0, "D": H}, "auto_encoding": {"R": H, "D": 0.0}},
        "optimal": result.optimal,
        "points": result.points,
        "ib_frontier": None if result.ib is None else {k: v.tolist() for k, v in result.ib.items()},
    }


def format_table(result: RDPlaneResult) -> str:
    """One line per (family, objective, hyper): median R, D, R + D − H and :math:`I(z; z^*)` over
    seeds."""
    H = result.toy.entropy
    groups = {}
    for p in result.points:
        groups.setdefault((p["family"], p["objective"], p["hyper"]), []).append(p)

    def f5(v):  # five decimals; float64 residues (|v| < 5e-6) print as 0
        return f"{(0.0 if abs(v) < 5e-6 else v):>8.5f}"

    lines = [
        f"{'family':>8} {'objective':>11} {'hyper':>6} | {'R':>9} {'D':>9} {'R+D-H':>10} "
        f"{'I(z;z*)':>8} {'IB(I_e)':>8}   (median over seeds, nats; H = {H:.6f})"
    ]
    for (fam, obj, hyp), ps in groups.items():
        med = {
            k: _nanmedian([p.get(k, math.nan) for p in ps])
            for k in ("R", "D", "I_zstar", "ib_at_I_e")
        }
        gap = _nanmedian([p["R"] + p["D"] - H for p in ps])
        lines.append(
            f"{fam:>8} {obj:>11} {hyp:>6.3g} | {med['R']:>9.5f} {med['D']:>9.5f} "
            f"{gap:>10.2e} {f5(med['I_zstar'])} {f5(med['ib_at_I_e'])}"
        )
    o = result.optimal
    lines.append(
        f"{'optimal':>8} {'hand-built':>11} {'':>6} | {o['R']:>9.5f} {o['D']:>9.5f} "
        f"{o['R'] + o['D'] - H:>10.2e} {f5(o['I_zstar'])} {f5(o.get('ib_at_I_e', math.nan))}"
    )
    return "\n".join(lines)


def _nanmedian(values) -> float:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else math.nan
