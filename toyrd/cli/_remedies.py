"""``toyrd remedies``: every posterior-collapse remedy × every model family on the exact toy."""

from __future__ import annotations

from toyrd._output import check_out_dir
from toyrd.cli._outputs import stage_printer, write_outputs

__all__ = ["register", "cmd_remedies"]


def register(sub, common):
    from toyrd.experiments.remedies import QUICK, Settings

    d = Settings()
    p = sub.add_parser(
        "remedies",
        parents=[common],
        help="posterior-collapse remedies × families: R, I(z;z*), fit, verdicts",
    )
    p.add_argument(
        "--family",
        action="append",
        default=None,
        help="a model family (repeat or comma-separate; default: every family of "
        "toyrd.tables.READINGS)",
    )
    p.add_argument(
        "--seeds", type=int, default=None, help=f"seeds per remedy (default {d.n_seeds})"
    )
    p.add_argument(
        "--steps", type=int, default=None, help=f"Adam steps per run (default {d.steps})"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"{', '.join(QUICK.families)}; {QUICK.n_seeds} seeds, {QUICK.steps} steps (for tests)",
    )
    p.add_argument("--out", default=None, help="output folder (default ./remedies)")
    p.add_argument("--format", choices=("png", "pdf", "svg"), default="png")
    p.add_argument("--no-progress", action="store_true", help="no progress lines or bar on stderr")
    p.set_defaults(func=cmd_remedies)


def cmd_remedies(args) -> int:
    from toyrd.experiments import remedies as rm
    from toyrd.plot import remedies_figure

    base = rm.QUICK if args.quick else rm.Settings()
    over = {"first_seed": args.seed}
    if args.family:
        over["families"] = tuple(f.strip() for a in args.family for f in a.split(",") if f.strip())
    if args.seeds is not None:
        over["n_seeds"] = args.seeds
    if args.steps is not None:
        over["steps"] = args.steps
    check_out_dir("--out", args.out or "remedies")
    result = rm.run_remedies(base._replace(**over), progress=stage_printer(args.no_progress))
    return write_outputs(rm, remedies_figure, result, args, "remedies")
