"""One set of training defaults (issue 28 item 1; the table in docs/cli.md, "Defaults").

* Every entry point — ``toyrd.train.jax.train``, ``toyrd train``, ``toyrd figure2`` — resolves
  to the same :class:`~toyrd.train.TrainConfig` for the same seed and family when given no
  other option (the trainer is replaced by a stub that records its rows, so this is fast).
* The long tier trains for real: ``toyrd train`` writes exactly the API's model, and
  ``toyrd figure2``'s ELBO and target-rate columns are the API's models for the same seed.
"""

import json

import numpy as np
import pytest

import toyrd
from toyrd.cli import main
from toyrd.tables import FIGURE2_FAMILY
from toyrd.train import TrainConfig

#: Fields that must agree between entry points (objective and hyper are what is asked for;
#: figure2 trains its two columns in one run under the label "elbo|target_rate").
SHARED = [f for f in TrainConfig._fields if f not in ("objective", "hyper")]

#: figure2 trains both columns in ONE compiled run with a paired loss on the generic path
#: (per-row loss vmapped, autodiff), the API one objective on the fast path (batch-last logits,
#: closed-form gradient). The two agree to rounding per step (tests/train/test_train_jax.py:
#: 1e-9 over 300 steps), but the ELBO's optimum is a flat manifold (any encoder with optimal m
#: and d), along which rounding differences drift instead of being pulled back: measured over
#: the 3500 default steps (seed 3), the ELBO tables differ by at most 1.7e-8 (Figure 2 family)
#: and 7.2e-7 (tabular), the target-rate tables (a sharp optimum at R = σ) by at most 4.7e-11.
#: ELBO: 3e-6 leaves 4x room over 7.2e-7; the nearest change of a setting measured on seed 3
#: (2000 steps instead of 3000, tabular) moves the ELBO tables by 1.2e-5, 4x beyond it (other
#: changes by 4e-3 to 0.1: init scale 0.3, warm-up 300). Target rate: 1e-9, 20x over 4.7e-11.
#: The exact agreement of the settings themselves is checked above without training.
PATH_TOL = {"elbo": 3e-6, "target_rate": 1e-9}


class _Stop(Exception):
    pass


def _capture(monkeypatch):
    """Replace the JAX trainer by a stub that records the rows it is given."""
    import toyrd.train.jax as tj
    import toyrd.train.jax._trainer as trainer

    rows = []

    def fake(configs, **kw):
        rows.extend(TrainConfig(*c) for c in configs)
        raise _Stop

    monkeypatch.setattr(trainer, "train_configs", fake)
    monkeypatch.setattr(tj, "train_configs", fake)
    return rows


def _resolved(rows):
    return [r.validate(custom_loss=True)._asdict() for r in rows]


@pytest.mark.parametrize("family", [None, "tabular"])
def test_every_entry_point_resolves_to_the_same_settings(family, monkeypatch, tmp_path):
    fam = [] if family is None else ["--family", family]
    kw = {} if family is None else {"family": family}
    rows = _capture(monkeypatch)
    with pytest.raises(_Stop):
        toyrd.train.jax.train("elbo", seeds=[3], progress=False, **kw)
    api = _resolved(rows)
    rows.clear()
    with pytest.raises(_Stop):
        main(["train", "--seed", "3", "--json", *fam])
    cli = _resolved(rows)
    rows.clear()
    with pytest.raises(_Stop):
        main(["figure2", "--seed", "3", "--seeds", "1", "--out", str(tmp_path), "--json", *fam])
    fig = _resolved(rows)
    assert len(api) == len(cli) == 1 and len(fig) == 2  # figure2: the ELBO and target-rate rows
    for f in SHARED:
        assert api[0][f] == cli[0][f] == fig[0][f] == fig[1][f], f
    assert api[0]["family"] == (family or FIGURE2_FAMILY)
    assert api[0]["dtype"] == "float64" and api[0]["seed"] == 3


def test_the_defaults_are_the_figure2_settings():
    """The values of the docs table (docs/cli.md, "Defaults")."""
    d = TrainConfig()
    assert (d.family, d.init_scale, d.steps, d.warmup, d.lr, d.schedule, d.dtype, d.n_z) == (
        FIGURE2_FAMILY,
        0.01,
        3000,
        500,
        0.01,
        "cosine",
        "float64",
        30,
    )
    from toyrd.experiments.figure2 import Settings

    s = Settings()
    assert (s.family, s.init_scale, s.steps, s.warmup, s.lr, s.schedule) == (
        d.family,
        d.init_scale,
        d.steps,
        d.warmup,
        d.lr,
        d.schedule,
    )


def test_the_sweep_grid_follows_the_defaults():
    """toyrd.train.grid, the sweep's Python entry point, takes the same defaults (it used to
    default to the tabular family while `toyrd sweep` used Figure 2's)."""
    (row,) = toyrd.train.grid(("target_rate",), dtype="float64")
    d = TrainConfig()
    for k in ("family", "init_scale", "steps", "warmup", "lr", "schedule", "n_z", "dtype"):
        assert row[k] == getattr(d, k), k


def test_toyrd_train_prints_the_settings_it_used(monkeypatch, capsys):
    """The text output names every setting (the JSON has them all under "config")."""
    assert main(["train", "--steps", "20", "--warmup", "0", "--family", "tabular"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("settings: "))
    for part in ("init_scale=0.01", "warmup=0", "steps=20", "lr=0.01", "dtype=float64"):
        assert part in line.split(), (part, line)


@pytest.mark.long
@pytest.mark.parametrize("family", [None, "tabular"])
def test_train_cli_api_and_figure2_give_the_same_model(family, tmp_path, capsys):
    """With the defaults only (seed 3): the CLI's model file is the API's model bit for bit
    (the same compiled program), and figure2's columns are the API's models to PATH_TOL."""
    from toyrd.experiments import figure2 as f2
    from toyrd.train.jax import train

    fam = [] if family is None else ["--family", family]
    kw = {} if family is None else {"family": family}
    api = {
        "elbo": train("elbo", seeds=[3], progress=False, **kw),
        "target_rate": train("target_rate", hyper=0.5, seeds=[3], progress=False, **kw),
    }
    model = tmp_path / "m.npz"
    assert main(["train", "--seed", "3", "--out", str(model), "--json", *fam]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["family"] == (family or FIGURE2_FAMILY)
    m = toyrd.load_model(model)
    for got, want in zip(
        (m.encoder, m.decoder, m.marginal),
        (api["elbo"].encoder[0], api["elbo"].decoder[0], api["elbo"].marginal[0]),
    ):
        np.testing.assert_array_equal(got, want)
    fig = f2.run_figure2(f2.Settings(n_seeds=1, first_seed=3, **kw))
    for name, res in api.items():
        run = fig.runs[name]
        for got, want in zip(
            (run.encoder[0], run.decoder[0], run.marginal[0]),
            (res.encoder[0], res.decoder[0], res.marginal[0]),
        ):
            np.testing.assert_allclose(got, want, rtol=0, atol=PATH_TOL[name])
