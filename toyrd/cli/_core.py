"""``toyrd data`` and ``toyrd evaluate``."""

from __future__ import annotations

import numpy as np

from toyrd.data import toy_data
from toyrd.quantities import QUANTITY_NAMES, evaluate, evaluate_logs, optimize_generative
from toyrd.tables import dumps, load_model

__all__ = ["register", "cmd_data", "cmd_evaluate", "print_underflow", "DATA_BYTES_PER_BIN"]


def print_underflow(under: dict) -> None:
    """One line per table whose float64 entries underflowed to 0 while their logs are finite."""
    for name, n in under.items():
        print(
            f"note: the stored {name} table has {n} entries that underflow to 0 in float64; "
            "every value is computed from its log-table (finite there)"
        )


def register(sub, common):
    p = sub.add_parser("data", parents=[common], help="the toy's parameters, H, I(x;z*), px, pzx")
    p.add_argument("--bins", type=int, default=30, help="number of bins (default 30)")
    p.add_argument("--p0", type=float, default=0.7, help="p(z*=0) (default 0.7)")
    p.add_argument("--info", type=float, default=0.5, help="target I(x;z*) in nats (default 0.5)")
    p.add_argument("--tails", choices=["fold", "truncate"], default="fold")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("evaluate", parents=[common], help="every exact quantity of a model .npz")
    p.add_argument("model", help="npz with encoder, decoder, marginal [, px, pzx]")
    p.add_argument("--bits", action="store_true", help="report in bits instead of nats")
    p.add_argument(
        "--optimal",
        action="store_true",
        help="also report the values with m and d replaced by their optima for this encoder",
    )
    p.set_defaults(func=cmd_evaluate)


#: Peak bytes of ``toyrd data --json`` per bin (measured ~300 at 10^6 bins: the calibration's
#: arrays and the JSON text of px and pzx), rounded up.
DATA_BYTES_PER_BIN = 512


def cmd_data(args) -> int:
    if args.bins > 0:  # sizes first: refuse what cannot fit before computing anything
        from toyrd._memory import available_bytes, check_fits

        fit = available_bytes() // DATA_BYTES_PER_BIN
        check_fits(f"--bins {args.bins}", args.bins * DATA_BYTES_PER_BIN, f"use --bins <= {fit}")
    toy = toy_data(n_bins=args.bins, p0=args.p0, target_info=args.info, tails=args.tails)
    out = toy.summary()
    if args.json:
        print(dumps(out))
        return 0
    print(f"toy data: {toy.n_bins} bins on [{toy.low}, {toy.high}), tails {toy.tails}")
    print(
        f"  p(z*=0) = {toy.p0}, means = {toy.means[0]:.6f}, {toy.means[1]:.6f}, "
        f"solved noise s = {toy.noise:.12f}"
    )
    print(f"  H(x) = {toy.entropy:.12f} nats   I(x;z*) = {toy.info:.12f} nats")
    print("  p*(x) = " + np.array2string(toy.px, precision=5, max_line_width=100, separator=" "))
    return 0


def cmd_evaluate(args) -> int:
    model = load_model(args.model)
    base = 2 if args.bits else None
    unit = "bits" if args.bits else "nats"
    if model.logs is not None:  # a model defined by logits: evaluated from its log-tables
        values = evaluate_logs(model.px, *model.logs, pzx=model.pzx, base=base)
    else:
        values = evaluate(
            model.px, model.encoder, model.decoder, model.marginal, pzx=model.pzx, base=base
        )
    under = model.underflowed()
    out = {"unit": unit, **values, "underflowed": under}
    if args.optimal:
        d, m = optimize_generative(model.px, model.encoder)
        out["optimal"] = evaluate(model.px, model.encoder, d, m, pzx=model.pzx, base=base)
    if args.json:
        print(dumps(out))
        return 0
    print_underflow(under)
    keys = [k for k in QUANTITY_NAMES if k in out]
    print(
        f"{'quantity':>14}  {'model':>18}"
        + (f"  {'optimal m, d':>18}" if args.optimal else "")
        + f"   ({unit})"
    )
    for k in keys:
        row = f"{k:>14}  {out[k]:>18.12f}"
        if args.optimal:
            row += f"  {out['optimal'][k]:>18.12f}"
        print(row)
    return 0
