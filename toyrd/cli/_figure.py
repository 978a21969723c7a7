"""``toyrd figure2`` and ``toyrd rdplane``: the paper's Figure 2 and the rate–distortion plane."""

from __future__ import annotations

from toyrd._output import check_out_dir
from toyrd.cli import FAMILY_HELP, family_name
from toyrd.cli._outputs import stage_printer, write_outputs

__all__ = ["register", "cmd_figure2", "cmd_rdplane"]

_FORMATS = ("png", "pdf", "svg")


def _training_options(p, *, name: str, quick_help: str, defaults):
    p.add_argument("--out", default=None, help=f"output folder (default ./{name})")
    p.add_argument("--format", choices=_FORMATS, default="png", help="figure format (default png)")
    p.add_argument("--quick", action="store_true", help=quick_help)
    if "family" in defaults._fields:
        p.add_argument(
            "--family",
            type=family_name,
            default=None,
            help=f"{FAMILY_HELP}; default {defaults.family}",
        )
    p.add_argument(
        "--steps", type=int, default=None, help=f"Adam steps per run (default {defaults.steps})"
    )
    p.add_argument(
        "--lr", type=float, default=None, help=f"peak learning rate (default {defaults.lr:g})"
    )
    p.add_argument(
        "--init-scale",
        type=float,
        default=None,
        help=f"initialisation scale of the family (default {defaults.init_scale:g})",
    )
    p.add_argument(
        "--warmup",
        type=int,
        default=None,
        help=f"steps fitting only m and d to the initial encoder first (default {defaults.warmup})",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress lines or bar on stderr")


def register(sub, common):
    from toyrd.experiments.figure2 import Settings as F2
    from toyrd.experiments.rdplane import Settings as RD

    p = sub.add_parser(
        "figure2",
        parents=[common],
        help="Figure 2: optimal, ELBO and target-rate models, exact numbers over seeds",
    )
    _training_options(
        p, name="figure2", quick_help="4 seeds instead of 32 (for tests)", defaults=F2()
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="random initialisations per trained model (default 32)",
    )
    p.add_argument("--sigma", type=float, default=None, help="target rate in nats (default 0.5)")
    p.set_defaults(func=cmd_figure2)

    p = sub.add_parser(
        "rdplane",
        parents=[common],
        help="the exact rate–distortion plane: feasible region, β-sweep frontiers, IB panel",
    )
    _training_options(
        p,
        name="rdplane",
        quick_help="tabular, β ∈ {0.5, 1, 2}, 1 seed, 600 steps (tests)",
        defaults=RD(),
    )
    p.add_argument(
        "--families",
        default=None,
        help="comma-separated families to sweep (default tabular, bump and the Figure 2 family)",
    )
    p.add_argument("--betas", default=None, help="comma-separated β values of the sweep")
    p.add_argument("--seeds", type=int, default=None, help="seeds per β (default 2)")
    p.set_defaults(func=cmd_rdplane)


def cmd_figure2(args) -> int:
    from toyrd.experiments import figure2 as f2

    base = f2.QUICK if args.quick else f2.Settings()
    over = {
        k: v
        for k, v in dict(
            n_seeds=args.seeds,
            family=args.family,
            steps=args.steps,
            lr=args.lr,
            init_scale=args.init_scale,
            sigma=args.sigma,
            warmup=args.warmup,
        ).items()
        if v is not None
    }
    settings = base._replace(first_seed=args.seed, **over)
    if isinstance(settings.n_seeds, int) and settings.n_seeds > 0:  # sizes before any work
        from toyrd._memory import check_train_batch

        check_train_batch(2 * settings.n_seeds, 30, 30, f"--seeds {settings.n_seeds}")
    check_out_dir("--out", args.out or "figure2")
    result = f2.run_figure2(settings, progress=stage_printer(args.no_progress))
    from toyrd.plot import figure2_figure

    return write_outputs(f2, figure2_figure, result, args, "figure2")


def cmd_rdplane(args) -> int:
    from toyrd.experiments import rdplane as rd

    base = rd.QUICK if args.quick else rd.Settings()
    over = {}
    if args.families is not None:
        over["families"] = tuple(s.strip() for s in args.families.split(",") if s.strip())
    if args.betas is not None:
        over["betas"] = tuple(rd.parse_floats("betas", args.betas))
    for key in ("steps", "lr", "warmup", "init_scale"):
        if getattr(args, key) is not None:
            over[key] = getattr(args, key)
    if args.seeds is not None:
        over["n_seeds"] = args.seeds
    settings = base._replace(first_seed=args.seed, **over)
    check_out_dir("--out", args.out or "rdplane")
    result = rd.run_rdplane(settings, progress=stage_printer(args.no_progress))
    from toyrd.plot import rdplane_figure

    return write_outputs(rd, rdplane_figure, result, args, "rdplane")
