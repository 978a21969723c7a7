"""Bad input, as a careless or a hostile user gives it (issue 13, items 1-5): every failure is one
line naming the rule broken (a ToyrdError in Python, exit 2 on the command line), found before
any training where it can be, and nothing non-finite is returned silently.

The IWAE underflow cases (item 3) live in ``tests/quantities/test_iwae_underflow.py``;
``tools/bad_inputs.py`` counts the whole battery.
"""

import fcntl
import math
import os
import stat

import numpy as np
import pytest

import toyrd
from toyrd.cli import main
from toyrd.errors import DivergenceError, TableError, ToyrdError

FAST = ["--steps", "2", "--warmup", "0"]


def run_cli(capsys, argv):
    """(exit status, stderr lines, stdout) of ``toyrd ARGV`` run in this process."""
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    out, err = capsys.readouterr()
    lines = [s for s in err.splitlines() if s.strip() and not s.startswith("[toyrd]")]
    return rc, lines, out


def assert_one_line(capsys, argv, *needles):
    rc, lines, _ = run_cli(capsys, argv)
    assert rc == 2, (rc, lines)
    assert len(lines) == 1, lines
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


@pytest.fixture
def unwritable(tmp_path):
    """A folder nobody may create files in: /sys for root (root ignores permission bits on
    disk), else a read-only folder."""
    if os.geteuid() == 0:
        yield "/sys"
        return
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    yield str(ro)
    ro.chmod(stat.S_IRWXU)


@pytest.fixture
def no_training(monkeypatch):
    """Make every trainer (and the benchmark subprocess) fail loudly: an output error must be
    reported before any of them starts."""
    import toyrd.cli._bench
    import toyrd.train.jax
    import toyrd.train.jax._trainer
    import toyrd.train.torch

    def boom(*a, **k):
        raise AssertionError("training started before the output location was checked")

    for mod, name in [
        (toyrd.train.jax, "train"),
        (toyrd.train.jax, "train_configs"),
        (toyrd.train.jax._trainer, "train_configs"),
        (toyrd.train.torch, "train"),
    ]:
        monkeypatch.setattr(mod, name, boom)
    monkeypatch.setattr(toyrd.cli._bench.subprocess, "run", boom)


# ------------------------------------------------------------------ item 1: writing output

COMMANDS = {
    "figure2": ["figure2", "--quick", "--no-progress"],
    "rdplane": ["rdplane", "--quick", "--no-progress"],
    "remedies": ["remedies", "--quick", "--no-progress"],
    "train": ["train", *FAST],
    "sweep": ["sweep", "--seeds", "1", *FAST, "--no-progress"],
    "train-torch": ["train-torch", "--steps", "2"],
    "bench": ["bench", "--quick", "--only", "eval"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("where", ["unwritable", "missing folder", "file as folder"])
def test_every_subcommand_refuses_a_bad_out_before_training(
    capsys, tmp_path, unwritable, no_training, command, where
):
    afile = tmp_path / "afile"
    afile.write_text("")
    out = {
        "unwritable": os.path.join(unwritable, f"toyrd-{command}"),
        "missing folder": str(tmp_path / "no" / "such" / "x"),
        "file as folder": str(afile / "x"),
    }[where]
    reason = {
        "unwritable": "not writable",
        "missing folder": f"no such folder {tmp_path / 'no'}",
        "file as folder": f"{afile} is a file, not a folder",
    }[where]
    line = assert_one_line(capsys, COMMANDS[command] + ["--out", out], "--out", reason)
    assert line.startswith(f"toyrd {command}: error: ")
    assert not os.path.exists(tmp_path / "no")


@pytest.mark.parametrize("command", ["train", "sweep", "train-torch"])
@pytest.mark.parametrize("device", ["/dev/null", "/dev/full"])
def test_a_device_is_not_an_output_file(capsys, no_training, command, device):
    """fsync fails on /dev/null; it is refused up front instead of after the run."""
    assert_one_line(capsys, COMMANDS[command] + ["--out", device], device, "not a regular file")


@pytest.mark.parametrize("command", ["figure2", "rdplane"])
def test_an_existing_file_as_the_output_folder(capsys, tmp_path, no_training, command):
    f = tmp_path / "f.txt"
    f.write_text("keep me")
    assert_one_line(capsys, COMMANDS[command] + ["--out", str(f)], f"{f}: it is a file")
    assert f.read_text() == "keep me"


def test_train_reports_the_file_it_actually_wrote(capsys, tmp_path, monkeypatch):
    """np.savez appends .npz: `--out mymodel` writes mymodel.npz and must say so."""
    monkeypatch.chdir(tmp_path)
    rc, _, out = run_cli(capsys, ["train", *FAST, "--out", "mymodel"])
    assert rc == 0
    assert "model written to mymodel.npz" in out
    assert (tmp_path / "mymodel.npz").is_file() and not (tmp_path / "mymodel").exists()
    assert toyrd.tables.load_model(tmp_path / "mymodel.npz").encoder.shape == (30, 30)


def test_save_model_is_atomic_and_returns_its_path(tmp_path):
    e = np.eye(2)
    px = np.array([0.5, 0.5])
    path = toyrd.tables.save_model(tmp_path / "m", e, e, px, px=px)
    assert path == str(tmp_path / "m.npz")
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]  # no temporary file left behind
    with pytest.raises(ToyrdError, match=r"cannot write .*no/m\.npz: no such folder"):
        toyrd.tables.save_model(tmp_path / "no" / "m", e, e, px, px=px)


# ------------------------------------------------------------------ item 2: reading input

SWEEP = ["sweep", "--seeds", "1", *FAST, "--no-progress", "--out"]


def test_sweep_non_utf8_output_file(capsys, tmp_path, no_training):
    f = tmp_path / "s.jsonl"
    f.write_bytes(b'\n{"a": "\xff"}\n')
    assert_one_line(capsys, SWEEP + [str(f)], "line 2 is not UTF-8 text (byte 8)")


def test_sweep_refuses_an_overlong_line_without_reading_it_whole(capsys, tmp_path, no_training):
    from toyrd.train._sweep import MAX_LINE_BYTES

    f = tmp_path / "s.jsonl"
    f.write_bytes(b"x" * (MAX_LINE_BYTES + 10) + b"\n")
    assert_one_line(capsys, SWEEP + [str(f)], f"line 1 is longer than {MAX_LINE_BYTES} bytes")
    assert f.stat().st_size == MAX_LINE_BYTES + 11  # untouched


def test_sweep_reads_line_by_line_and_drops_a_partial_last_line(tmp_path):
    from toyrd.train._sweep import config_key, grid, read_done

    rows = grid(families=("tabular",), seeds=range(3), steps=2, warmup=0)
    f = tmp_path / "s.jsonl"
    body = "".join(toyrd.tables.dumps({**r, "status": "ok"}) + "\n" for r in rows[:2])
    f.write_text(body + '{"objective": "el')
    done = read_done(f)
    assert set(done) == {config_key(r) for r in rows[:2]}
    assert f.read_text() == body


def test_two_sweeps_on_one_file_do_not_both_run(capsys, tmp_path, no_training):
    f = tmp_path / "s.jsonl"
    with open(f, "ab") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # the other sweep
        assert_one_line(capsys, SWEEP + [str(f)], f"another sweep is writing {f}")
    assert f.read_bytes() == b""


def test_run_sweep_lock_in_python(tmp_path):
    from toyrd.train._sweep import grid, run_sweep

    f = tmp_path / "s.jsonl"
    with open(f, "ab") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ToyrdError, match="another sweep is writing"):
            run_sweep(grid(families=("tabular",), steps=2, warmup=0), f, progress=False)


def _zip_bomb(path, n_bytes):
    import zipfile

    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': ({n_bytes // 8},), }}"
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z,
        z.open("encoder.npy", "w", force_zip64=True) as f,
    ):
        f.write(b"\x93NUMPY\x01\x00v\x00" + header.ljust(117).encode() + b"\n")
        for _ in range(n_bytes >> 20):
            f.write(bytes(1 << 20))


@pytest.mark.parametrize(
    "content, needle",
    [
        (b"", "not an .npz archive (an empty file)"),
        (b"\x00garbage" * 100, "not an .npz archive (a file starting with"),
        (b"PK\x03\x04" + b"\x00" * 40, "not a readable .npz file"),
        ("pickle", "not a readable .npz file"),
        ("npy", "holds a single array"),
        ("bomb", "more than the"),
        ("nan", "encoder: entry (0, 0) is nan"),
        ("missing", "missing array 'decoder'"),
    ],
)
def test_hostile_model_files(capsys, tmp_path, content, needle):
    p = tmp_path / "m.npz"
    if content == "pickle":
        np.savez(p, encoder=np.array([{"x": 1}], dtype=object))
    elif content == "npy":
        with open(p, "wb") as f:
            np.save(f, np.zeros(3))
    elif content == "bomb":
        from toyrd.tables._io import MAX_ARRAY_BYTES

        _zip_bomb(p, MAX_ARRAY_BYTES + (1 << 20))
        assert p.stat().st_size < 2 << 20  # a small file that would unpack past the limit
    elif content == "nan":
        np.savez(p, encoder=np.full((30, 30), np.nan), decoder=np.eye(30), marginal=np.ones(30))
    elif content == "missing":
        np.savez(p, encoder=np.eye(30))
    else:
        p.write_bytes(content)
    assert_one_line(capsys, ["evaluate", str(p)], str(p), needle)


# ------------------------------------------------------------------ item 4: divergence


def test_bump_at_large_scale_raises_divergence_naming_row_step_and_fix():
    from toyrd.train.jax import train

    with pytest.raises(DivergenceError) as info:
        train(
            family="bump", init_scale=30, lr=50.0, steps=20, warmup=0, seeds=[0, 1], progress=False
        )
    msg = str(info.value)
    assert "\n" not in msg
    for needle in (
        "training diverged: row 0",
        "seed 0",
        "init_scale 30",
        "at step",
        "went non-finite",
        "lower lr (now 50)",
        "on_divergence='keep'",
    ):
        assert needle in msg, (needle, msg)


def test_on_divergence_keep_returns_the_rows():
    from toyrd.train.jax import train

    res = train(
        family="bump",
        init_scale=30,
        lr=50.0,
        steps=20,
        warmup=0,
        progress=False,
        on_divergence="keep",
    )
    assert not np.all(np.isfinite(res.history["loss"]))
    with pytest.raises(ToyrdError, match="on_divergence: 'sometimes'"):
        train(steps=2, progress=False, on_divergence="sometimes")


def test_initial_parameters_overflowing_name_init_scale():
    from toyrd.train.jax import train

    with (
        np.errstate(over="ignore"),
        pytest.raises(
            DivergenceError, match=r"initial parameter 'enc_w' is not finite; lower init_scale"
        ),
    ):
        train(family="bump", init_scale=1e4, steps=2, warmup=0, progress=False)


def test_autonomy_nan_encoder_loss_raises():
    def nan_loss(px, enc, dec, mar, hyper):
        return (enc * np.nan).sum()

    with pytest.raises(DivergenceError, match=r"row 0 \(seed 0.*loss = nan"):
        toyrd.train.train_autonomous(nan_loss, family="tabular", steps=2, warmup=0, progress=False)


def test_cli_divergence_is_not_blamed_on_the_user_encoder(capsys):
    line = assert_one_line(
        capsys,
        [
            "train",
            "--family",
            "bump",
            "--init-scale",
            "30",
            "--lr",
            "50",
            "--steps",
            "20",
            "--warmup",
            "0",
            "--json",
        ],
        "training diverged",
    )
    assert "encoder: entry" not in line


def test_sweep_keeps_diverged_rows(tmp_path):
    from toyrd.train._sweep import grid, run_sweep

    f = tmp_path / "s.jsonl"
    run_sweep(
        grid(families=["bump"], init_scales=[30.0], steps=20, warmup=0, lr=50.0), f, progress=False
    )
    assert '"status": "diverged"' in f.read_text()


@pytest.fixture
def torch_mod():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("estimator", ["exact", "enumerate", "reinforce", "gumbel"])
def test_torch_extreme_logits_no_nan_after_a_step(torch_mod, estimator):
    """Logits × 1e4 make softmax entries exact zeros; xlogy's gradient there is -inf · 0 = NaN.
    The log-domain R, D keep every parameter finite."""
    from toyrd.train import TORCH_DEFAULTS
    from toyrd.train.torch import TorchVAE, train

    model = TorchVAE("tabular", seed=0, n_x=30, n_z=30, scale=1.0, dtype=torch_mod.float64)
    with torch_mod.no_grad():
        for p in model.parameters():
            p.mul_(1e4)
    res = train(
        TORCH_DEFAULTS._replace(steps=2, estimator=estimator, history_stride=1), model=model
    )
    assert all(torch_mod.isfinite(p).all() for p in model.parameters())
    assert all(np.all(np.isfinite(t)) for t in res.tables)


def test_torch_divergence_error(torch_mod, monkeypatch):
    """A minibatch R that goes NaN at step 2 stops the run with the step and what to change."""
    import toyrd.train.torch._trainer as tt
    from toyrd.train import TORCH_DEFAULTS

    calls = []

    def nan_at_step_two(*a, **k):
        r, d = real(*a, **k)
        calls.append(1)
        return (r * math.nan if len(calls) == 3 else r), d

    real = tt.estimate_rd
    monkeypatch.setattr(tt, "estimate_rd", nan_at_step_two)
    with pytest.raises(
        DivergenceError,
        match=r"seed 0, elbo, family tabular, estimator exact: "
        r"the minibatch R = nan, loss = nan went non-finite"
        r" at step 2 of 5; lower lr \(now 0.01\)",
    ):
        tt.train(TORCH_DEFAULTS._replace(steps=5, estimator="exact"))


# ------------------------------------------------------------------ item 5: arguments


def _unnormalised(params, n_x):
    e, d, m = toyrd.tables.tabular.tables(params, n_x)
    return 2 * e, d, m


@pytest.mark.parametrize(
    "kwargs, error, needle",
    [
        (dict(steps=2.5), ToyrdError, "steps: 2.5, expected an integer >= 1"),
        (dict(n_z=3.5), ToyrdError, "n_z: 3.5, expected an integer >= 1"),
        (dict(warmup=1.5), ToyrdError, "warmup: 1.5, expected an integer >= 0"),
        (dict(seeds=[-1]), ToyrdError, "seeds: -1, expected an integer >= 0"),
        (dict(pzx="double"), TableError, "pzx: entries sum to 2"),
        (dict(pzx=np.full((2, 5), 0.1)), TableError, "pzx: has 5 columns, expected n_x = 30"),
        (dict(pzx=np.full((2, 30), np.nan)), TableError, "pzx: entry (0, 0) is nan"),
        (
            dict(family=toyrd.tables.Family("unnorm", toyrd.tables.tabular.init, _unnormalised)),
            TableError,
            (
                "family 'unnorm' (row seed 0, init_scale 0.01): its initial tables are not "
                "valid: encoder row 0: sums to 2"
            ),
        ),
    ],
)
def test_train_arguments(kwargs, error, needle):
    from toyrd.train.jax import train

    if isinstance(kwargs.get("pzx"), str):
        kwargs = dict(pzx=2 * toyrd.data.toy_data().pzx)
    with pytest.raises(error) as info:
        train(progress=False, **{"steps": 2, "warmup": 0, **kwargs})
    assert needle in str(info.value), str(info.value)


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(iters=2.7), "iters: 2.7, expected an integer >= 0"),
        (dict(n_z=3.5), "n_z: 3.5, expected an integer >= 1"),
        (dict(seed=-1), "seed: -1, expected an integer >= 0"),
        (dict(init_scale=math.nan), "init_scale: nan, expected a finite number"),
    ],
)
def test_em_arguments(kwargs, needle):
    with pytest.raises(ToyrdError, match=None) as info:
        toyrd.train.em(**{"iters": 1, **kwargs})
    assert needle in str(info.value)


@pytest.mark.parametrize("seed", ["-1", str(2**64), str(2**63)])
def test_train_torch_seed(capsys, seed):
    assert_one_line(capsys, ["train-torch", "--steps", "2", "--seed", seed], "seed")


PX = np.array([0.5, 0.5])


@pytest.mark.parametrize("base", [1, 1.0, math.nan, math.inf, 0, -2, "2", True])
def test_evaluate_base(base):
    with pytest.raises(
        ToyrdError,
        match=r"base: .*expected None \(nats\) or a finite number > 0 "
        r"other than 1",
    ):
        toyrd.evaluate(PX, np.eye(2), np.eye(2), PX, base=base)


def test_entropy_base_two_still_gives_bits():
    assert toyrd.entropy(PX, base=2) == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize(
    "name, call",
    [
        ("p", lambda a: toyrd.entropy(a)),
        ("encoder", lambda a: toyrd.evaluate(PX, a, np.eye(2), PX)),
    ],
)
def test_masked_arrays_are_refused_not_unmasked(name, call):
    arr = (
        np.ma.masked_array([0.5, 0.5, 7.0], mask=[0, 0, 1])
        if name == "p"
        else np.ma.masked_array(np.eye(2), mask=[[0, 1], [0, 0]])
    )
    with pytest.raises(TableError, match=f"{name}: is a masked array; toyrd does not read masks"):
        call(arr)


class _Tagged(np.ndarray):
    """An ndarray subclass with no masking semantics: read as its values."""


def test_other_ndarray_subclasses_are_read_as_their_values(tmp_path):
    assert toyrd.entropy(PX.view(_Tagged)) == pytest.approx(math.log(2), abs=1e-15)
    mm = np.memmap(tmp_path / "p.bin", dtype=np.float64, mode="w+", shape=(2,))
    mm[:] = PX
    assert toyrd.entropy(mm) == pytest.approx(math.log(2), abs=1e-15)


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(max_terms=1.5), "max_terms: 1.5"),
        (dict(method="mc", seed=-3), "seed: -3"),
        (dict(method="mc", n_samples=3.5), "n_samples: 3.5"),
    ],
)
def test_iwae_arguments(kwargs, needle):
    with pytest.raises(ToyrdError, match=needle):
        toyrd.quantities.iwae_bound(PX, np.eye(2), np.eye(2), PX, 2, **kwargs)
