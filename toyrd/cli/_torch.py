"""``toyrd train-torch``: the PyTorch minibatch VAE trainer (needs torch; imported on use)."""

from __future__ import annotations

from toyrd.cli import FAMILY_HELP, family_name
from toyrd.cli._flags import check_hyper_flag, refuse_unused
from toyrd.tables import dumps

__all__ = ["register", "cmd_train_torch"]


def register(sub, common):
    from toyrd.objectives import KINDS
    from toyrd.train import BASELINES, ESTIMATORS, SCHEDULES
    from toyrd.train import TORCH_DEFAULTS as d

    p = sub.add_parser(
        "train-torch",
        parents=[common],
        help="train a VAE in PyTorch with minibatches; R and D logged exactly",
    )
    p.add_argument(
        "--objective",
        choices=KINDS,
        default="elbo",
        help="elbo: D+R, beta: D+βR, rda: R+λD, target_rate: D+|σ−R| (default elbo)",
    )
    p.add_argument("--beta", type=float, default=None, help="β of the beta objective (default 1)")
    p.add_argument("--lam", type=float, default=None, help="λ of the rda objective (default 1)")
    p.add_argument(
        "--sigma", type=float, default=None, help="σ of target_rate, nats (required there)"
    )
    p.add_argument("--family", type=family_name, default=d.family, help=FAMILY_HELP)
    p.add_argument(
        "--estimator",
        choices=ESTIMATORS,
        default="enumerate",
        help="gradient estimator for the discrete latent (default enumerate)",
    )
    p.add_argument(
        "--baseline",
        choices=BASELINES,
        default=None,
        help="--estimator reinforce: its baseline (default loo: leave-one-out batch mean)",
    )
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument(
        "--batch-size", type=int, default=None, help="minibatch size (default 64; not with exact)"
    )
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (default 0.01)")
    p.add_argument("--schedule", choices=SCHEDULES, default=d.schedule)
    p.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="--estimator gumbel / gumbel-st: the Gumbel-softmax τ (default 1)",
    )
    p.add_argument("--n-z", type=int, default=30, help="latent states (default 30)")
    p.add_argument(
        "--eval-every", type=int, default=100, help="exact evaluation stride (default 100)"
    )
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (default 1: fastest here)"
    )
    p.add_argument(
        "--progress", action="store_true", help="show a tqdm bar with R̂, D̂ and exact R, D"
    )
    p.add_argument(
        "--out",
        default=None,
        help="write the trained tables to this .npz (toyrd evaluate reads it)",
    )
    p.set_defaults(func=cmd_train_torch)


def cmd_train_torch(args) -> int:
    from toyrd.errors import ToyrdError

    if args.threads < 1:
        raise ToyrdError(f"--threads: {args.threads} must be >= 1")
    if args.n_z < 1:
        raise ToyrdError(f"--n-z: {args.n_z} must be >= 1")
    for flag, kind in (("--beta", "beta"), ("--lam", "rda"), ("--sigma", "target_rate")):
        check_hyper_flag(args.objective, getattr(args, flag[2:]), flag, needed_for=kind)
    value = {"elbo": None, "beta": args.beta, "rda": args.lam, "target_rate": args.sigma}[
        args.objective
    ]
    est = args.estimator
    refuse_unused(
        "--baseline",
        args.baseline is not None,
        est == "reinforce",
        f"only --estimator reinforce uses a baseline (this run: --estimator {est})",
    )
    refuse_unused(
        "--temperature",
        args.temperature is not None,
        est in ("gumbel", "gumbel-st"),
        f"only --estimator gumbel or gumbel-st uses it (this run: --estimator {est})",
    )
    refuse_unused(
        "--batch-size",
        args.batch_size is not None,
        est != "exact",
        "--estimator exact sums over every x and z, with no minibatch",
    )
    from toyrd.train import TORCH_DEFAULTS as d

    try:
        import torch
    except ImportError:
        raise ToyrdError("train-torch: needs PyTorch (pip install 'toyrd[torch]')") from None
    from toyrd._output import check_out_file
    from toyrd.data import toy_data
    from toyrd.train.torch import save_torch_model, train

    torch.set_num_threads(args.threads)
    cfg = d._replace(
        family=args.family,
        objective=args.objective,
        hyper=value,
        estimator=args.estimator,
        steps=args.steps,
        batch_size=d.batch_size if args.batch_size is None else args.batch_size,
        lr=args.lr,
        temperature=d.temperature if args.temperature is None else args.temperature,
        baseline=args.baseline or d.baseline,
        seed=args.seed,
        n_z=args.n_z,
        history_stride=args.eval_every,
        dtype=args.dtype,
        schedule=args.schedule,
    )
    out_path = None if args.out is None else check_out_file("--out", args.out, suffix=".npz")
    toy = toy_data()
    res = train(cfg, px=toy.px, pzx=toy.pzx, progress=args.progress)
    if out_path:
        out_path = save_torch_model(out_path, res.model, px=toy.px, pzx=toy.pzx)
    h = res.history
    out = {
        "config": res.config.as_dict(),
        "final": res.final,
        "out": out_path,
        "history": {
            "batch": {k: v[-1] if len(v) else None for k, v in h.batch.items()},
            "exact": {k: v.tolist() for k, v in h.exact.items()},
        },
    }
    if args.json:
        print(dumps(out))
        return 0
    print(
        f"train-torch: {args.family} {args.objective} estimator={args.estimator} "
        f"steps={args.steps} batch={cfg.batch_size} lr={args.lr} seed={args.seed}"
    )
    print(f"{'step':>8} {'R exact':>10} {'D exact':>10} {'loss':>10}")
    for i in range(len(h.exact["step"])):
        print(
            f"{h.exact['step'][i]:>8d} {h.exact['R'][i]:>10.5f} {h.exact['D'][i]:>10.5f} "
            f"{h.exact['loss'][i]:>10.5f}"
        )
    f = res.final
    print(
        f"final (exact, nats): R = {f['R']:.6f}  D = {f['D']:.6f}  ELBO = {f['ELBO']:.6f}  "
        f"H = {f['H']:.6f}"
    )
    if out_path:
        print(f"wrote {out_path}")
    return 0
