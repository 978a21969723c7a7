"""Issue 28 item 2: no CLI argument is silently ignored. A flag that has no effect in the
combination given is refused (exit 2, one line naming the flag and what to do instead), and a
missing required hyperparameter names the flag that passes it. Every case here fails before any
training starts, so the file runs in about a second."""

import contextlib
import io

import pytest

from toyrd.cli import main


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


# (argv, words the one-line error must contain: the flag given and the remedy it names)
REFUSED = [
    (["train", "--objective", "elbo", "--hyper", "0.5"], ["--hyper:", "drop --hyper"]),
    (["train", "--objective", "target_rate"], ["needs its sigma", "pass --hyper"]),
    (
        ["train", "--objective", "target_rate", "--hyper", "0.5", "--f64-steps", "20"],
        ["--f64-steps:", "--dtype mixed"],
    ),
    (
        ["train", "--objective", "elbo", "--dtype", "float32", "--f64-steps", "20"],
        ["--f64-steps:", "float32"],
    ),
    (
        ["sweep", "--out", "OUT", "--objective", "elbo", "--sigma", "0.3"],
        ["--sigma:", "add target_rate to --objective"],
    ),
    (["sweep", "--out", "OUT", "--objective", "beta", "--lam", "2"], ["--lam:", "add rda"]),
    (
        ["sweep", "--out", "OUT", "--objective", "target_rate", "--f64-steps", "20"],
        ["--f64-steps:"],
    ),
    (["train-torch", "--objective", "elbo", "--sigma", "0.2"], ["--sigma:", "drop --sigma"]),
    (["train-torch", "--objective", "beta", "--lam", "2"], ["--lam:", "--objective rda"]),
    (["train-torch", "--objective", "target_rate"], ["needs its sigma", "pass --sigma"]),
    (["train-torch", "--baseline", "ema"], ["--baseline:", "--estimator reinforce"]),
    (["train-torch", "--estimator", "gumbel", "--baseline", "none"], ["--baseline:"]),
    (["train-torch", "--temperature", "0.5"], ["--temperature:", "--estimator gumbel"]),
    (["train-torch", "--estimator", "exact", "--batch-size", "8"], ["--batch-size:", "exact"]),
]


@pytest.mark.parametrize("argv, words", REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_a_flag_without_effect_is_refused_naming_the_flag(argv, words, tmp_path):
    argv = [str(tmp_path / "s.jsonl") if a == "OUT" else a for a in argv]
    code, err = _run(argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"toyrd {argv[0]}: error: "), err
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "s.jsonl").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--objective", "beta", "--hyper", "0.5", "--dtype", "mixed", "--f64-steps", "20"],
        [
            "train",
            "--objective",
            "target_rate",
            "--hyper",
            "0.5",
            "--dtype",
            "mixed",
            "--f64-steps",
            "20",
        ],
        ["train", "--objective", "beta"],  # β defaults to 1
    ],
)
def test_the_same_flags_pass_where_they_count(argv, monkeypatch):
    """The checks refuse only the combinations above: here the arguments reach the trainer
    (replaced by a stub recording its keywords, so nothing trains)."""
    import toyrd.train.jax as tj

    seen = {}

    class Stop(Exception):
        pass

    def fake_train(objective, **kw):
        seen.update(kw, objective=objective)
        raise Stop

    monkeypatch.setattr(tj, "train", fake_train)
    with pytest.raises(Stop):
        main(argv)
    assert seen["objective"] == argv[2]
    if "--f64-steps" in argv:
        assert seen["f64_steps"] == 20 and seen["dtype"] == "mixed"
