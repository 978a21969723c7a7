"""``toyrd train`` (one run → a model .npz) and ``toyrd sweep`` (a resumable JSONL grid)."""

from __future__ import annotations

import sys

from toyrd.cli import FAMILY_HELP, family_name
from toyrd.cli._flags import check_hyper_flag, refuse_unused
from toyrd.tables import dumps

__all__ = ["register", "cmd_train", "cmd_sweep", "SWEEP_BYTES_PER_RUN"]

#: ``toyrd sweep``'s hyperparameter flags: (flag, the objective it belongs to, default values).
_SWEEP_HYPERS = (("--beta", "beta", 1.0), ("--lam", "rda", 1.0), ("--sigma", "target_rate", 0.5))

#: The training settings ``toyrd train`` prints (all of them are in ``--json``'s "config").
_SETTING_KEYS = ("init_scale", "warmup", "steps", "lr", "schedule", "dtype", "f64_steps", "n_z")

_RESULT_KEYS = ("H", "R", "D", "ELBO", "I_e", "I_zstar", "kl_pstar_g")


def _training_options(p, dtype_help: str):
    from toyrd.train import DTYPES, SCHEDULES, TrainConfig

    d = TrainConfig()
    p.add_argument("--steps", type=int, default=d.steps, help="Adam steps (default %(default)s)")
    p.add_argument("--lr", type=float, default=d.lr, help="learning rate (default %(default)s)")
    p.add_argument(
        "--warmup",
        type=int,
        default=d.warmup,
        help="steps fitting only m and d to the initial encoder first (default %(default)s)",
    )
    p.add_argument("--schedule", choices=SCHEDULES, default=d.schedule)
    p.add_argument("--n-z", type=int, default=d.n_z, help="latent states (default %(default)s)")
    p.add_argument(
        "--dtype",
        choices=DTYPES,
        default=None,
        help=dtype_help,
    )
    p.add_argument(
        "--f64-steps",
        type=int,
        default=None,
        help="--dtype mixed: final steps in float64 (default about 50, at most steps // 10)",
    )


def register(sub, common):
    from toyrd.objectives import KINDS
    from toyrd.train import TrainConfig

    d = TrainConfig()

    p = sub.add_parser(
        "train", parents=[common], help="train one model (JAX, exact gradients) and save it"
    )
    p.add_argument("--objective", choices=KINDS, default="elbo")
    p.add_argument("--hyper", type=float, default=None, help="β (beta), λ (rda) or σ (target_rate)")
    p.add_argument(
        "--family", type=family_name, default=d.family, help=f"{FAMILY_HELP}; default {d.family}"
    )
    p.add_argument(
        "--init-scale",
        type=float,
        default=None,
        help=f"initialisation scale (default {d.init_scale:g})",
    )
    _training_options(p, f"training precision (default {d.dtype})")
    p.add_argument(
        "--out", default=None, help="write the model .npz here (readable by toyrd evaluate)"
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "sweep",
        parents=[common],
        help="grid of runs (objective × β/λ/σ × family × init scale × seeds) → JSON lines",
    )
    p.add_argument(
        "--out", required=True, help="JSONL file; finished runs in it are skipped (resume)"
    )
    p.add_argument("--objective", nargs="+", choices=KINDS, default=["elbo"])
    for flag, kind, value in _SWEEP_HYPERS:
        p.add_argument(
            flag, nargs="+", type=float, default=None, help=f"values for '{kind}' (default {value})"
        )
    p.add_argument(
        "--family",
        nargs="+",
        type=family_name,
        default=[d.family],
        help=f"{FAMILY_HELP}; default {d.family}",
    )
    p.add_argument(
        "--init-scale",
        nargs="+",
        type=float,
        default=None,
        help=f"initialisation scales (default {d.init_scale:g})",
    )
    p.add_argument(
        "--seeds", type=int, default=4, help="seeds per configuration: --seed … --seed+N−1"
    )
    _training_options(
        p,
        "training precision (default: 'mixed' — float32, then the last steps in float64 — for "
        "elbo, beta and rda; float64 for target_rate)",
    )
    p.add_argument("--batch", type=int, default=64, help="rows per vmapped scan (default 64)")
    p.add_argument("--max-runs", type=int, default=None, help="stop after this many new runs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--cluster",
        default=None,
        metavar="local[:N] | ADDRESS",
        help="train on Dask: local:N starts N worker processes here (local: one per core); "
        "an address (tcp://host:port) joins a running scheduler; needs the cluster extra",
    )
    p.set_defaults(func=cmd_sweep)


def _check_f64_steps(f64_steps, dtypes) -> None:
    """``--f64-steps`` counts only in a mixed-precision run."""
    refuse_unused(
        "--f64-steps",
        f64_steps is not None,
        "mixed" in dtypes,
        f"it sets the float64 finish of --dtype mixed, and this run trains in {dtypes[0]} "
        "(add --dtype mixed or drop --f64-steps)",
    )


def cmd_train(args) -> int:
    from toyrd._output import check_out_file
    from toyrd.cli._core import print_underflow
    from toyrd.tables import Model, save_model
    from toyrd.train import TrainConfig
    from toyrd.train.jax import train

    check_hyper_flag(args.objective, args.hyper, "--hyper")
    dtype = args.dtype or TrainConfig().dtype
    _check_f64_steps(args.f64_steps, [dtype])
    out_path = None if args.out is None else check_out_file("--out", args.out, suffix=".npz")
    res = train(
        args.objective,
        family=args.family,
        seeds=(args.seed,),
        hyper=args.hyper,
        init_scale=args.init_scale,
        steps=args.steps,
        lr=args.lr,
        warmup=args.warmup,
        schedule=args.schedule,
        n_z=args.n_z,
        progress=not args.json,
        dtype=dtype,
        f64_steps=args.f64_steps,
    )
    q = res.evaluate()[0]  # from the log-tables: finite where a table entry underflows
    tables, logs = (res.encoder[0], res.decoder[0], res.marginal[0]), tuple(t[0] for t in res.logs)
    if out_path:
        out_path = save_model(out_path, *tables, px=res.px, pzx=res.pzx, logs=logs)
    under = Model(res.px, *tables, res.pzx, logs).underflowed()
    out = {"config": res.configs[0], **q, "underflowed": under, "model": out_path}
    if args.json:
        print(dumps(out))
        return 0
    c = res.configs[0]
    print(
        f"trained {c['objective']} (hyper {c['hyper']}) {c['family']} seed {c['seed']}: "
        f"{c['steps']} steps in {res.wall_s:.2f} s"
    )
    print("settings: " + " ".join(f"{k}={c[k]}" for k in _SETTING_KEYS if k in c))
    for k in _RESULT_KEYS:
        if k in q:
            print(f"{k:>12}  {q[k]:.12f}")
    print_underflow(under)
    if out_path:
        print(f"model written to {out_path}")
    return 0


#: Bytes a sweep holds per run of its grid before training any (measured 516 B for the config
#: dict, plus its identity key, the to-do list and the batch grouping: ~2 KB, rounded up).
SWEEP_BYTES_PER_RUN = 2048


def _check_sweep_size(args, hypers: dict) -> None:
    """Refuse, before the grid is built, a sweep whose list of runs cannot fit in memory
    (``hypers``: each objective kind's list of values, "elbo" having none)."""
    from toyrd._memory import available_bytes, check_fits

    values = sum(len(hypers.get(o, [None])) for o in dict.fromkeys(args.objective))
    runs = values * len(args.family) * len(args.init_scale or [None]) * args.seeds
    fit = available_bytes() // SWEEP_BYTES_PER_RUN // max(1, runs // args.seeds)
    check_fits(
        f"--seeds {args.seeds} ({runs} runs)",
        runs * SWEEP_BYTES_PER_RUN,
        f"use --seeds <= {fit} (a sweep resumes: run it in parts with --seed)",
    )


def cmd_sweep(args) -> int:
    from toyrd._output import check_out_file
    from toyrd.errors import ToyrdError
    from toyrd.train import default_dtype, grid, run_sweep

    check_out_file("--out", args.out)
    if args.seeds < 1:
        raise ToyrdError(f"--seeds: {args.seeds} must be >= 1")
    values = {}
    for flag, kind, default in _SWEEP_HYPERS:
        given = getattr(args, flag[2:])
        refuse_unused(
            flag,
            given is not None,
            kind in args.objective,
            f"it sets {kind}'s values; add {kind} to --objective or drop {flag}",
        )
        values[kind] = [default] if given is None else given
    _check_f64_steps(
        args.f64_steps, [args.dtype or default_dtype(k) for k in dict.fromkeys(args.objective)]
    )
    _check_sweep_size(args, values)
    configs = grid(
        args.objective,
        betas=values["beta"],
        lams=values["rda"],
        sigmas=values["target_rate"],
        families=args.family,
        init_scales=args.init_scale,
        seeds=range(args.seed, args.seed + args.seeds),
        steps=args.steps,
        lr=args.lr,
        schedule=args.schedule,
        warmup=args.warmup,
        n_z=args.n_z,
        dtype=args.dtype,
        f64_steps=args.f64_steps,
    )
    summary = run_sweep(
        configs,
        args.out,
        batch=args.batch,
        max_runs=args.max_runs,
        progress=not (args.no_progress or args.json),
        cluster=args.cluster,
    )
    if summary.get("rejected"):
        print(
            f"sweep: the incomplete last line of {args.out} was moved to {summary['rejected']}",
            file=sys.stderr,
        )
    if args.json:
        print(dumps(summary))
        return 0
    print(
        f"sweep: {summary['ran']} runs done now, {summary['done_before']} already in {args.out}, "
        f"{summary['remaining']} left of {summary['total']} ({summary['wall_s']:.1f} s)"
    )
    return 0
