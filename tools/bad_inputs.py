"""Count bad inputs toyrd handles cleanly (issue 13, items 1-5).

Run: ``PYTHONPATH=. python tools/bad_inputs.py [-v]``. Every case is a bad input; "clean" means:

* Python API: raises :class:`toyrd.errors.ToyrdError` whose message is one line, or (for the
  IWAE underflow cases) returns a finite value >= the ELBO;
* CLI (``toyrd.cli.main`` in-process): exit status 2 and exactly one line on stderr, and
  nothing written that claims success.

Prints ``tried N, clean M`` and, with ``-v``, each case that is not clean and why.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import stat
import sys
import tempfile

import numpy as np


def _api(fn):
    from toyrd.errors import ToyrdError

    try:
        fn()
    except ToyrdError as exc:
        return (True, "") if "\n" not in str(exc) else (False, f"multi-line: {exc!r}")
    except Exception as exc:  # noqa: BLE001 (anything else is "not clean")
        return False, f"{type(exc).__name__}: {str(exc)[:120]}"
    return False, "no error raised"


def _cli(argv):
    from toyrd.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code
        except Exception as exc:  # noqa: BLE001 (anything else is "not clean")
            return False, f"traceback {type(exc).__name__}: {str(exc)[:120]}"
    lines = [s for s in err.getvalue().splitlines() if s.strip() and not s.startswith("[toyrd]")]
    if rc != 2:
        return False, f"exit {rc}"
    if len(lines) != 1:
        return False, f"{len(lines)} stderr lines"
    return True, ""


def _iwae_ok(px, e, d, m, k, method):
    from toyrd.quantities import elbo, iwae_bound

    def run():
        v = iwae_bound(px, e, d, m, k, method=method).value
        lb = elbo(px, e, d, m)
        if not (math.isfinite(v) and v >= lb - 1e-12):
            return False, f"{method}: IWAE {v} vs ELBO {lb}"
        return True, ""

    try:
        return run()
    except Exception as exc:  # noqa: BLE001 (anything else is "not clean")
        return False, f"{type(exc).__name__}: {str(exc)[:120]}"


def cases(tmp):
    """(label, thunk -> (clean, why)) for every bad input."""
    ro = os.path.join(tmp, "ro")
    os.mkdir(ro)
    os.chmod(ro, stat.S_IRUSR | stat.S_IXUSR)
    if os.geteuid() == 0:  # root writes anywhere on disk; /sys refuses even root
        ro = "/sys"
    afile = os.path.join(tmp, "afile")
    open(afile, "w").close()
    fast = ["--steps", "2", "--warmup", "0"]
    commands = {
        "figure2": [
            "figure2",
            "--quick",
            "--seeds",
            "1",
            "--steps",
            "2",
            "--warmup",
            "0",
            "--no-progress",
        ],
        "rdplane": [
            "rdplane",
            "--quick",
            "--seeds",
            "1",
            "--steps",
            "2",
            "--warmup",
            "0",
            "--no-progress",
        ],
        "train": ["train", *fast, "--json"],
        "sweep": ["sweep", "--seeds", "1", *fast, "--no-progress"],
        "train-torch": ["train-torch", "--steps", "2"],
        "bench": ["bench", "--quick", "--only", "eval"],
    }
    out = []
    for cmd, argv in commands.items():
        outs = {
            "missing folder": os.path.join(tmp, "no", cmd, "x"),
            "file as folder": os.path.join(afile, "x"),
            "unwritable": os.path.join(ro, f"toyrd-{cmd}"),
        }
        for why, path in outs.items():
            out.append((f"cli {cmd} --out {why}", lambda a=argv, p=path: _cli(a + ["--out", p])))
        if cmd in ("train", "sweep", "train-torch"):
            for dev in ("/dev/full", "/dev/null"):
                out.append((f"cli {cmd} --out {dev}", lambda a=argv, d=dev: _cli(a + ["--out", d])))
    # sweep reading its output file
    bad_utf8 = os.path.join(tmp, "bad.jsonl")
    with open(bad_utf8, "wb") as f:
        f.write(b'{"a": "\xff\xfe"}\n')
    huge = os.path.join(tmp, "huge.jsonl")
    with open(huge, "wb") as f:
        f.write(b"x" * (4 << 20) + b"\n")
    sw = ["sweep", "--seeds", "1", *fast, "--no-progress", "--out"]
    out.append(("cli sweep non-UTF-8 output file", lambda: _cli(sw + [bad_utf8])))
    out.append(("cli sweep 4 MiB line in output file", lambda: _cli(sw + [huge])))
    locked = os.path.join(tmp, "locked.jsonl")
    out.append(("cli sweep while another sweep holds the file", lambda: _locked_sweep(sw, locked)))
    out.append(
        (
            "cli train --out mymodel reports mymodel.npz",
            lambda: _reports_npz(["train", *fast, "--out", os.path.join(tmp, "mymodel")]),
        )
    )
    out.append(
        (
            "cli train diverging (bump, lr 50)",
            lambda: _cli(
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
                ]
            ),
        )
    )
    # model files
    for label, data in (
        ("empty", b""),
        ("garbage", b"\x00garbage" * 100),
        ("zip header only", b"PK\x03\x04" + b"\x00" * 40),
        ("npy", None),
    ):
        p = os.path.join(tmp, f"m_{label.replace(' ', '_')}.npz")
        if data is None:
            np.save(p, np.zeros(3))
            os.replace(p + ".npy", p) if os.path.exists(p + ".npy") else None
        else:
            with open(p, "wb") as f:
                f.write(data)
        out.append((f"cli evaluate {label} model file", lambda p=p: _cli(["evaluate", p])))
    bomb = os.path.join(tmp, "bomb.npz")
    _zip_bomb(bomb, 300 << 20)
    out.append(("cli evaluate zip bomb (300 MB member)", lambda: _cli(["evaluate", bomb])))
    nanmodel = os.path.join(tmp, "nan.npz")
    np.savez(nanmodel, encoder=np.full((30, 30), np.nan), decoder=np.eye(30), marginal=np.ones(30))
    out.append(("cli evaluate nan model", lambda: _cli(["evaluate", nanmodel])))
    # train-torch seeds
    for s in ("-1", str(2**64), str(2**63)):
        out.append(
            (
                f"cli train-torch --seed {s}",
                lambda s=s: _cli(["train-torch", "--steps", "2", "--seed", s]),
            )
        )
    for s in ("-1", str(2**64)):
        out.append((f"cli train --seed {s}", lambda s=s: _cli(["train", *fast, "--seed", s])))

    # ---------------------------------------------------------------- Python API
    import toyrd
    from toyrd.tables import Family, tabular
    from toyrd.train import _em as em
    from toyrd.train.jax import train

    px2 = np.array([0.5, 0.5])
    out.append(
        (
            "evaluate base=1",
            lambda: _api(lambda: toyrd.evaluate(px2, np.eye(2), np.eye(2), px2, base=1)),
        )
    )
    out.append(
        (
            "evaluate base=nan",
            lambda: _api(lambda: toyrd.evaluate(px2, np.eye(2), np.eye(2), px2, base=float("nan"))),
        )
    )
    out.append(
        (
            "evaluate base=-2",
            lambda: _api(lambda: toyrd.evaluate(px2, np.eye(2), np.eye(2), px2, base=-2)),
        )
    )
    out.append(
        (
            "evaluate base='2'",
            lambda: _api(lambda: toyrd.evaluate(px2, np.eye(2), np.eye(2), px2, base="2")),
        )
    )
    out.append(("entropy base=0", lambda: _api(lambda: toyrd.entropy(px2, base=0))))
    masked = np.ma.masked_array([0.5, 0.5, 7.0], mask=[0, 0, 1])
    out.append(("entropy masked array", lambda: _api(lambda: toyrd.entropy(masked))))
    out.append(
        (
            "evaluate masked encoder",
            lambda: _api(
                lambda: toyrd.evaluate(
                    px2, np.ma.masked_array(np.eye(2), mask=[[0, 1], [0, 0]]), np.eye(2), px2
                )
            ),
        )
    )
    out.append(("entropy np.matrix", lambda: _api(lambda: toyrd.entropy(np.matrix([[0.5, 0.5]])))))
    out.append(("train steps=2.5", lambda: _api(lambda: train(steps=2.5, progress=False))))
    out.append(("train n_z=3.5", lambda: _api(lambda: train(n_z=3.5, steps=2, progress=False))))
    out.append(
        ("train warmup=1.5", lambda: _api(lambda: train(warmup=1.5, steps=2, progress=False)))
    )
    out.append(("em iters=2.7", lambda: _api(lambda: em.em(iters=2.7))))
    out.append(("em n_z=3.5", lambda: _api(lambda: em.em(n_z=3.5, iters=1))))
    out.append(("em seed=-1", lambda: _api(lambda: em.em(seed=-1, iters=1))))
    out.append(("em seed=1.5", lambda: _api(lambda: em.em(seed=1.5, iters=1))))
    out.append(("em init_scale=nan", lambda: _api(lambda: em.em(init_scale=float("nan"), iters=1))))
    out.append(
        (
            "iwae k=2.0",
            lambda: _api(lambda: toyrd.quantities.iwae_bound(px2, np.eye(2), np.eye(2), px2, 2.0)),
        )
    )
    out.append(
        (
            "iwae mc n_samples=3.5",
            lambda: _api(
                lambda: toyrd.quantities.iwae_bound(
                    px2, np.eye(2), np.eye(2), px2, 2, method="mc", n_samples=3.5
                )
            ),
        )
    )
    out.append(
        (
            "iwae max_terms=1.5",
            lambda: _api(
                lambda: toyrd.quantities.iwae_bound(
                    px2, np.eye(2), np.eye(2), px2, 2, max_terms=1.5
                )
            ),
        )
    )
    toy = toyrd.data.toy_data()
    bad_pzx = toy.pzx * 2
    out.append(
        (
            "train pzx sums to 2",
            lambda: _api(lambda: train(pzx=bad_pzx, steps=2, warmup=0, progress=False)),
        )
    )
    out.append(
        (
            "train pzx wrong shape",
            lambda: _api(
                lambda: train(pzx=np.ones((2, 5)) / 10, steps=2, warmup=0, progress=False)
            ),
        )
    )
    out.append(
        (
            "train pzx nan",
            lambda: _api(
                lambda: train(pzx=np.full((2, 30), np.nan), steps=2, warmup=0, progress=False)
            ),
        )
    )

    def unnorm_tables(params, n_x):
        e, d, m = tabular.tables(params, n_x)
        return 2 * e, d, m

    fam = Family("unnormalised", tabular.init, unnorm_tables)
    out.append(
        (
            "train custom family unnormalised",
            lambda: _api(lambda: train(family=fam, steps=2, warmup=0, progress=False)),
        )
    )

    def nan_tables(params, n_x):
        e, d, m = tabular.tables(params, n_x)
        return e * np.nan, d, m

    fam2 = Family("nan", tabular.init, nan_tables)
    out.append(
        (
            "train custom family nan",
            lambda: _api(lambda: train(family=fam2, steps=2, warmup=0, progress=False)),
        )
    )
    out.append(
        (
            "train bump init_scale=1e4 diverges",
            lambda: _api(
                lambda: train(
                    family="bump", init_scale=1e4, steps=20, warmup=0, lr=10.0, progress=False
                )
            ),
        )
    )

    def nan_loss(px, enc, dec, mar, hyper):
        return (enc * np.nan).sum()

    out.append(
        (
            "autonomy NaN encoder loss",
            lambda: _api(
                lambda: toyrd.train.train_autonomous(nan_loss, steps=2, warmup=0, progress=False)
            ),
        )
    )
    # IWAE underflow
    e = np.array([[1.0, 0.0], [1.0, 0.0]])
    d = np.array([[1e-200, 1 - 1e-200], [0.5, 0.5]])
    m = np.array([1e-200, 1 - 1e-200])
    pxu = np.array([1.0, 0.0])
    for method in ("exact", "quad"):
        out.append(
            (
                f"iwae underflow case ({method})",
                lambda method=method: _iwae_ok(pxu, e, d, m, 2, method),
            )
        )
    e3 = np.array([[0.5, 0.5], [0.3, 0.7]])
    d3 = np.array([[1e-300, 1 - 1e-300], [1 - 1e-300, 1e-300]])
    m3 = np.array([1e-200, 1 - 1e-200])
    for method in ("exact", "quad"):
        out.append(
            (
                f"iwae tiny weights ({method})",
                lambda method=method: _iwae_ok(px2, e3, d3, m3, 3, method),
            )
        )
    e4 = np.array([[5e-324, 1 - 5e-324], [0.5, 0.5]])
    for method in ("exact", "quad"):
        out.append(
            (
                f"iwae subnormal encoder ({method})",
                lambda method=method: _iwae_ok(px2, e4, np.eye(2) * 0.5 + 0.25, px2, 2, method),
            )
        )
    # torch trainer with extreme logits
    out.append(("torch extreme logits one step", lambda: _torch_extreme()))
    return out


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


def _locked_sweep(argv, path):
    import fcntl

    with open(path, "ab") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        ok, why = _cli(argv + [path])
    if ok and os.path.getsize(path):
        return False, "wrote lines while locked"
    return ok, why


def _reports_npz(argv):
    from toyrd.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        try:
            rc = main(argv)
        except Exception as exc:  # noqa: BLE001 (anything else is "not clean")
            return False, f"{type(exc).__name__}: {exc}"
    if rc != 0 or f"{argv[-1]}.npz" not in buf.getvalue():
        return False, f"exit {rc}, reported {buf.getvalue().splitlines()[-1:]}"
    return True, ""


def _torch_extreme():
    try:
        import torch

        from toyrd.train import TORCH_DEFAULTS
        from toyrd.train.torch import TorchVAE, train
    except ImportError as exc:
        return False, f"no torch ({exc})"
    model = TorchVAE("tabular", seed=0, n_x=30, n_z=30, scale=1.0, dtype=torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1e4)
    try:
        res = train(TORCH_DEFAULTS._replace(steps=1, estimator="exact"), model=model)
    except Exception as exc:  # noqa: BLE001 (anything else is "not clean")
        from toyrd.errors import DivergenceError

        if isinstance(exc, DivergenceError):
            return False, f"diverged: {exc}"
        return False, f"{type(exc).__name__}: {str(exc)[:120]}"
    ok = all(np.all(np.isfinite(t)) for t in res.tables)
    return (True, "") if ok else (False, "non-finite tables")


def main():
    import resource

    verbose = "-v" in sys.argv
    # a sweep that reads an endless file must fail, not take the shared machine's memory
    resource.setrlimit(resource.RLIMIT_DATA, (6 << 30, 6 << 30))
    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            results = []
            for label, fn in cases(tmp):
                results.append((label, *fn()))
                if verbose:
                    print(label, results[-1][1:], file=sys.__stderr__, flush=True)
        finally:
            os.chdir(cwd)
            os.chmod(os.path.join(tmp, "ro"), stat.S_IRWXU)
    clean = sum(ok for _, ok, _ in results)
    if verbose:
        for label, ok, why in results:
            if not ok:
                print(f"NOT CLEAN  {label}: {why}")
    print(f"tried {len(results)}, clean {clean}")


if __name__ == "__main__":
    main()
