r"""Model families: maps from a parameter pytree (a dict of arrays) to the three tables.

A family is a :class:`Family` with

* ``init(seed, n_x, n_z, scale) -> dict`` of float64 numpy arrays (reproducible from the seed),
* ``tables(params, n_x) -> (encoder, decoder, marginal)`` (``n_x`` static: the bump maps
  cannot read it off their parameter shapes), written once for numpy, jax.numpy and
  torch (the softmax dispatches on the array type), so every trainer shares the same map;
* optionally ``log_tables(params, n_x) -> (log e, log d, log m)`` by ``log_softmax`` of the same
  logits: finite wherever the logits are, even where ``tables`` underflows to an exact 0
  (bump slopes with logit gaps > ~745). :meth:`Family.logs` returns them, or the log of
  ``tables`` for a family built without them. The JAX trainer's loss uses :meth:`Family.logs`
  with :func:`toyrd._formulas.rate_distortion_log`;
* optionally ``logits(params, n_x) -> (enc logits, dec logits, mar logits)`` (shapes
  ``(n_x, n_z)``, ``(n_z, n_x)``, ``(n_z,)``) when the tables are the softmax over the last axis
  of these: the JAX trainer then takes its fast path (one shared exp per entry, closed-form gradient
  w.r.t. the logits).

Composition. A family is three independent choices (:meth:`Family.compose`): the encoder map,
the decoder map (each a :class:`TableMap`) and the marginal (free logits π,
:math:`m = \mathrm{softmax}(\pi)`, :math:`\pi \sim N(0, \mathrm{scale}^2)`). Its name is
"encoder/decoder", e.g. ``"bump/tabular"``. The maps, with :math:`\mathrm{logit}(z_i, x_j)` the
logit of :math:`e(z_i|x_j)` (softmax over i) or of :math:`d(x_j|z_i)` (softmax over j):

``tabular``
    One free logit per entry; init :math:`N(0, \mathrm{scale}^2)`. The paper's "very flexible
    nonparametric" reading: every table with positive entries is reachable. As a decoder it can
    autodecode (:math:`d(\cdot|z) = p^*` for every z), so the collapsed model is an ELBO optimum.

``bump`` (Appendix E, :math:`x_j` read as the bin coordinate :math:`t_j = (j + 1/2)/n_x \in (0, 1)`)
    :math:`\mathrm{logit} = -(w_i t_j - b_i)^2`, a Gaussian bump over the bins centred at
    :math:`b_i/w_i`, width :math:`\sim 1/|w_i|` (2 parameters per latent state). Init: centres
    :math:`c_i \sim U(0, 1)`, slopes :math:`w_i = w_0 \exp(\mathrm{scale} \cdot N(0, 1)/2)`,
    :math:`b_i = w_i c_i`; w0 = 3 (``bump``) or any w0 > 0 (``bump(w0=1)``, :func:`bump_map`):
    w0 sets the initial information of a bump encoder (median :math:`I_e` over seeds ≈ 0.18 nats
    at w0 = 3, 0.005 at w0 = 1), ``scale`` only spreads
    the widths. As an encoder it is *local* (each state covers a contiguous range of bins); as a
    decoder each row is one bump, so no row can be the bimodal p*. The paper's sign erratum is
    fixed: the minus belongs inside the exponent.

``onehot`` (Appendix E read literally: :math:`x_j` one-hot, so :math:`w_i \cdot x_j = W_{ij}`)
    :math:`\mathrm{logit} = -(W_{ij} - b_i)^2`, W of shape ``(n_z, n_x)`` for either part (one
    weight vector :math:`w_i` per latent state), b of shape ``(n_z,)``. Every logit vector is
    :math:`\le 0`, hence (softmax being shift-invariant) every positive table is reachable: as
    flexible as tabular, through a quadratic parameterisation. Init
    :math:`W_{ij} = 1/2 + \mathrm{scale} \cdot N(0, 1)`, :math:`b_i = 0`: the logits are
    :math:`-1/4 - \mathrm{scale}\, \epsilon - \mathrm{scale}^2 \epsilon^2`, the tabular init of
    the same scale to first order.

``bump+free`` (a bump plus the power to autodecode, Section 4)
    Each row mixes its own bump with one distribution softmax(v) shared by every row:
    :math:`d(x_j|z_i) \propto \exp[-(w_i t_j - b_i)^2] + \exp(a_i + v_j)` (gate :math:`a_i`;
    2K + K + ``n_x`` parameters). softmax(v) can be p*, so the collapsed model is an ELBO optimum
    (−ELBO = H), but the z-dependent part of a row is one bump: a code whose rows are not single
    bumps (or p*) costs D. Init: the bump init (w0 = 3), then :math:`a \sim N(0, \mathrm{scale}^2)`,
    :math:`v \sim N(0, \mathrm{scale}^2)`. As an encoder the
    roles swap (gate per x, shared distribution over z).

Init: one numpy stream ``default_rng(seed)``, drawn encoder first, then decoder, then marginal,
so ``compose("tabular", "tabular")`` and ``compose("bump", "bump")`` draw exactly what the
families ``tabular`` and ``bump`` always drew (they are those compositions, under their old names;
"tabular/tabular" and "bump/bump" are aliases). :meth:`Family.describe` gives each part's map and
init as a JSON-ready dict.

Users plug in their own family with ``Family(name, init, tables)`` (``log_tables`` and ``logits``
optional) or their own :class:`TableMap` in :meth:`Family.compose`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from toyrd._backend import backend, log, log_softmax, softmax
from toyrd.errors import ToyrdError

__all__ = [
    "Family",
    "TableMap",
    "FAMILIES",
    "MAPS",
    "get_family",
    "get_map",
    "bump_map",
    "tabular",
    "bump",
    "softmax",
    "log_softmax",
    "bin_coordinates",
    "TABULAR",
    "BUMP",
    "ONEHOT",
    "BUMPFREE",
    "MARGINALS",
    "FIGURE2_FAMILY",
    "READINGS",
]


def bin_coordinates(n_x: int, like=None):
    """:math:`t_j = (j + 1/2) / n_x`, the scalar coordinate of bin j (as the array type of
    ``like``)."""
    t = (np.arange(n_x) + 0.5) / n_x
    if like is None:
        return t
    mod = backend(like)
    if mod == "jax":
        import jax.numpy as jnp

        return jnp.asarray(t, dtype=like.dtype)
    if mod == "torch":
        import torch

        return torch.as_tensor(t, dtype=like.dtype, device=like.device)
    return t.astype(like.dtype)


# ----------------------------------------------------------------------------- table maps


class TableMap(NamedTuple):
    """One conditional table's parameter map (encoder or decoder), composable into a Family.

    ``init(rng, part, n_x, n_z, scale) -> {key: float64 array}`` draws the part's parameters
    from ``rng`` (keys prefixed by ``part``, "enc" or "dec"); ``logits(params, part, n_x)`` gives
    the part's logits in table orientation: ``(n_x, n_z)`` for "enc" (softmax over z),
    ``(n_z, n_x)`` for "dec" (softmax over x). ``init_doc`` says what the initialiser draws.
    """

    name: str
    init: Callable[..., dict]
    logits: Callable[..., object]
    init_doc: str


def _oriented(grid, part):
    """A latent-by-bin ``(n_z, n_x)`` array in ``part``'s table orientation."""
    return grid.T if part == "enc" else grid


def _tabular_map_init(rng, part, n_x, n_z, scale):
    shape = (n_x, n_z) if part == "enc" else (n_z, n_x)
    return {f"{part}_logits": scale * rng.standard_normal(shape)}


def _tabular_map_logits(params, part, n_x=None):
    return params[f"{part}_logits"]


#: Free logits, one per table entry: every row-stochastic table with positive entries is
#: reachable (the paper's "very flexible nonparametric" reading).
TABULAR = TableMap(
    "tabular", _tabular_map_init, _tabular_map_logits, "logits ~ N(0, scale²) per entry"
)


def _bump_map_init(rng, part, n_x, n_z, scale, slope=3.0):
    centres = rng.uniform(0.0, 1.0, n_z)
    w = slope * np.exp(0.5 * scale * rng.standard_normal(n_z))
    return {f"{part}_w": w, f"{part}_b": w * centres}


def _bump_grid(w, b, t):
    return -((w[:, None] * t[None, :] - b[:, None]) ** 2)  # (n_z, n_x)


def _bump_map_logits(params, part, n_x):
    w = params[f"{part}_w"]
    return _oriented(_bump_grid(w, params[f"{part}_b"], bin_coordinates(int(n_x), like=w)), part)


def _bump_init_doc(slope):
    return f"centres c_i ~ U(0, 1), slopes w_i = {slope:g}·exp(scale·N(0, 1)/2), b_i = w_i c_i"


#: Appendix E with x_j read as the bin coordinate t_j: logit(z_i, x_j) = −(w_i t_j − b_i)², a
#: Gaussian bump over the bins centred at b_i/w_i, width ~1/|w_i| (2 parameters per latent
#: state); initial slopes w0 = 3. Local as an encoder; as a decoder no row can be bimodal.
BUMP = TableMap("bump", _bump_map_init, _bump_map_logits, _bump_init_doc(3.0))


@functools.cache
def bump_map(w0: float = 3.0) -> TableMap:
    r"""The bump map with initial slopes :math:`w_i = w_0 \exp(\mathrm{scale} \cdot N(0, 1)/2)`:
    :data:`BUMP` for w0 = 3,
    else a map named "bump(w0=<w0>)" (the same object for the same w0)."""
    w0 = float(w0)
    if not (np.isfinite(w0) and w0 > 0):
        raise ToyrdError(f"bump map: w0 = {w0!r} must be a finite number > 0")
    if w0 == 3.0:
        return BUMP
    return TableMap(
        f"bump(w0={w0:g})",
        functools.partial(_bump_map_init, slope=w0),
        _bump_map_logits,
        _bump_init_doc(w0),
    )


def _onehot_map_init(rng, part, n_x, n_z, scale):
    return {f"{part}_W": 0.5 + scale * rng.standard_normal((n_z, n_x)), f"{part}_b": np.zeros(n_z)}


def _onehot_map_logits(params, part, n_x=None):
    return _oriented(-((params[f"{part}_W"] - params[f"{part}_b"][:, None]) ** 2), part)


#: Appendix E read literally: x_j one-hot, so w_i·x_j = W_ij and logit(z_i, x_j) = −(W_ij − b_i)²
#: (n_z·n_x + n_z parameters). Every logit vector ≤ 0, hence (softmax being shift-invariant)
#: every positive table, is reachable: as flexible as tabular, with a quadratic parameterisation.
#: The init W = ½ + scale·ε, b = 0 gives logits −¼ − scale·ε − scale²ε², the tabular init of the
#: same scale to first order (ε → −ε), so onehot vs tabular compares parameterisations only.
ONEHOT = TableMap(
    "onehot", _onehot_map_init, _onehot_map_logits, "W_ij = 1/2 + scale·N(0, 1), b_i = 0"
)


def _logaddexp(a, b):
    """log(exp(a) + exp(b)) elementwise for numpy, jax.numpy and torch arrays."""
    mod = backend(a)
    if mod == "jax":
        import jax.numpy as jnp

        return jnp.logaddexp(a, b)
    if mod == "torch":
        import torch

        return torch.logaddexp(a, b)
    return np.logaddexp(a, b)


def _bumpfree_map_init(rng, part, n_x, n_z, scale):
    out = _bump_map_init(rng, part, n_x, n_z, scale)
    n_cond, n_out = (n_x, n_z) if part == "enc" else (n_z, n_x)
    out[f"{part}_a"] = scale * rng.standard_normal(n_cond)
    out[f"{part}_v"] = scale * rng.standard_normal(n_out)
    return out


def _bumpfree_map_logits(params, part, n_x):
    bumps = _bump_map_logits(params, part, n_x)  # table orientation: (conditioning, outcome)
    return _logaddexp(bumps, params[f"{part}_a"][:, None] + params[f"{part}_v"][None, :])


#: The Appendix E bump plus one shared free distribution: a decoder row is the two-component
#: mixture d(x_j|z_i) ∝ exp[−(w_i t_j − b_i)²] + exp(a_i + v_j), its own bump and softmax(v),
#: shared by every latent state, with a per-state gate a_i (2K + K + n_x parameters). softmax(v)
#: alone can be p*, so this decoder can autodecode (the collapsed model is an ELBO optimum,
#: −ELBO = H), while the z-dependent part of each row is still one bump. As an encoder the roles
#: swap: e(z_i|x_j) ∝ exp[−(w_i t_j − b_i)²] + exp(a_j + v_i). Init: the bump init (w0 = 3), then
#: a ~ N(0, scale²), v ~ N(0, scale²).
BUMPFREE = TableMap(
    "bump+free",
    _bumpfree_map_init,
    _bumpfree_map_logits,
    _bump_init_doc(3.0) + "; gates a ~ N(0, scale²), shared logits v ~ N(0, scale²)",
)


#: The encoder / decoder maps by name; :func:`get_map` also reads "bump(w0=<number>)".
MAPS = {m.name: m for m in (TABULAR, BUMP, ONEHOT, BUMPFREE)}
#: The marginal maps: free logits π, m = softmax(π), π ~ N(0, scale²).
MARGINALS = ("tabular",)


def get_map(spec, role: str = "map") -> TableMap:
    """A :class:`TableMap` by name (a key of :data:`MAPS`, or "bump(w0=<number>)") or itself."""
    if isinstance(spec, TableMap):
        return spec
    if isinstance(spec, str) and spec in MAPS:
        return MAPS[spec]
    if isinstance(spec, str) and spec.startswith("bump(w0=") and spec.endswith(")"):
        try:
            w0 = float(spec[len("bump(w0=") : -1])
        except ValueError:
            w0 = None
        if w0 is not None:
            return bump_map(w0)
    raise ToyrdError(f"{role}: {spec!r} is not one of {sorted(MAPS)} or 'bump(w0=<number>)'")


@functools.cache
def _compose(enc: TableMap, dec: TableMap, marginal: str, name: str) -> Family:
    def init(seed: int = 0, n_x: int = 30, n_z: int = 30, scale: float = 1.0) -> dict:
        rng = np.random.default_rng(seed)  # one stream: encoder, then decoder, then marginal
        out = {**enc.init(rng, "enc", n_x, n_z, scale), **dec.init(rng, "dec", n_x, n_z, scale)}
        out["mar_logits"] = scale * rng.standard_normal(n_z)
        return out

    def logits(params, n_x):
        return enc.logits(params, "enc", n_x), dec.logits(params, "dec", n_x), params["mar_logits"]

    def tables(params, n_x):
        return tuple(softmax(a, -1) for a in logits(params, n_x))

    def log_tables(params, n_x):
        return tuple(log_softmax(a, -1) for a in logits(params, n_x))

    init.__doc__ = (
        f"{name}: encoder {enc.init_doc}; decoder {dec.init_doc}; marginal logits "
        f"~ N(0, scale²); drawn in that order from default_rng(seed)."
    )
    return Family(name, init, tables, log_tables, logits, (enc, dec, marginal))


class Family(NamedTuple):
    """A model family: a seeded initialiser, a parameter → tables map and (optionally) the
    parameter → log-tables map (``None``: derived as the log of ``tables``), the logits map
    (the trainer's fast path) and, for a composed family, its ``parts``
    (encoder map, decoder map, marginal map name)."""

    name: str
    init: Callable[..., dict]
    tables: Callable[[dict, int], tuple]
    log_tables: Callable[[dict, int], tuple] | None = None
    logits: Callable[[dict, int], tuple] | None = None
    parts: tuple | None = None

    def logs(self, params, n_x):
        """(log e, log d, log m): ``log_tables`` if given, else the log_softmax of ``logits`` if
        given, else the log of ``tables``."""
        if self.log_tables is not None:
            return self.log_tables(params, n_x)
        if self.logits is not None:
            return tuple(log_softmax(a, -1) for a in self.logits(params, n_x))
        return tuple(log(t) for t in self.tables(params, n_x))

    @staticmethod
    def compose(encoder="tabular", decoder="tabular", marginal="tabular", name=None) -> Family:
        r"""The family with encoder map ``encoder`` and decoder map ``decoder`` (names in
        :data:`MAPS`, "bump(w0=<number>)", or :class:`TableMap` objects) and free marginal
        logits.

        Name: "encoder/decoder" unless given. The same arguments return the same object (so
        the trainer's compiled runs are cached per family). Init: one numpy stream from the
        seed, encoder draws first, then decoder, then the marginal
        :math:`\pi \sim N(0, \mathrm{scale}^2)` — so ``compose("tabular", "tabular")`` and
        ``compose("bump", "bump")`` draw exactly what :data:`tabular` and :data:`bump` draw.
        """
        enc, dec = get_map(encoder, "encoder"), get_map(decoder, "decoder")
        if marginal not in MARGINALS:
            raise ToyrdError(f"marginal: {marginal!r} is not one of {list(MARGINALS)}")
        return _compose(enc, dec, marginal, f"{enc.name}/{dec.name}" if name is None else str(name))

    def describe(self) -> dict:
        """JSON-ready description: name and, for a composed family, each part's map and init."""
        if self.parts is None:
            return {"name": self.name}
        enc, dec, mar = self.parts
        return {
            "name": self.name,
            "encoder": {"map": enc.name, "init": enc.init_doc},
            "decoder": {"map": dec.name, "init": dec.init_doc},
            "marginal": {"map": mar, "init": "logits ~ N(0, scale²)"},
        }


#: Free logits for e (n_x × n_z), d (n_z × n_x) and m (n_z): ``compose("tabular", "tabular")``.
tabular = Family.compose("tabular", "tabular", name="tabular")
#: Appendix E bumps for encoder and decoder, free marginal: ``compose("bump", "bump")``.
bump = Family.compose("bump", "bump", name="bump")

#: Every family by name: "tabular" and "bump" (also as "tabular/tabular", "bump/bump") and
#: each "encoder/decoder" pair of :data:`MAPS`.
FAMILIES = {"tabular": tabular, "bump": bump}
FAMILIES.update(
    {
        f"{e}/{d}": Family.compose(e, d)
        for e in MAPS
        for d in MAPS
        if (e, d) not in (("tabular", "tabular"), ("bump", "bump"))
    }
)
FAMILIES.update({"tabular/tabular": tabular, "bump/bump": bump})


#: Families composed from parameterised names (e.g. "bump(w0=2)/bump+free"), one object per name.
_COMPOSED: dict = {}

#: The family of the Figure 2 reproduction (see docs/figure2.md): listed with the others.
FIGURE2_FAMILY = "bump(w0=2)/bump+free"
#: One family per reading of the paper's model family, the ones the studies compare (remedies,
#: robustness, the explorer's menu): free tables; Appendix E as written; a local encoder with a
#: free decoder, and the reverse; the literal one-hot reading; the Figure 2 default.
READINGS = ("tabular", "bump", "bump/tabular", "tabular/bump", "onehot/onehot", FIGURE2_FAMILY)


def get_family(family) -> Family:
    """A :class:`Family` by name or the Family itself. Names: the keys of :data:`FAMILIES`, or
    any "encoder/decoder" pair of :func:`get_map` names, e.g. "bump(w0=1)/tabular"."""
    if isinstance(family, Family):
        return family
    if isinstance(family, str) and family in FAMILIES:
        return FAMILIES[family]
    if isinstance(family, str) and family in _COMPOSED:
        return _COMPOSED[family]
    if isinstance(family, str) and family.count("/") == 1:
        enc, dec = family.split("/")
        try:
            fam = Family.compose(enc, dec)
        except ToyrdError:
            fam = None
        if fam is not None:
            # "bump/bump" etc. resolve to the named family; one object per name, so a compiled
            # training run keyed by the family is reused by the next call with the same name
            return _COMPOSED.setdefault(family, FAMILIES.get(fam.name, fam))
    raise ToyrdError(
        f"family: {family!r} is not one of {sorted(FAMILIES)} "
        f"(or an 'encoder/decoder' pair of {sorted(MAPS)}, 'bump(w0=<number>)')"
    )


FAMILIES[FIGURE2_FAMILY] = get_family(FIGURE2_FAMILY)
