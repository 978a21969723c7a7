"""What the experiment commands share: stage lines on stderr and the figure + JSON writer."""

from __future__ import annotations

import os
import sys

from toyrd._output import atomic_write, check_out_dir, check_out_file
from toyrd.tables import dumps

__all__ = ["stage_printer", "write_outputs"]


def stage_printer(disabled: bool):
    """Stage lines on stderr; the trainer's bar too when stderr is a terminal (None: silent)."""
    if disabled:
        return None

    def stage(name):
        print(f"[toyrd] {name} ...", file=sys.stderr, flush=True)

    return stage


def write_outputs(module, draw, result, args, stem: str) -> int:
    """Write DIR/<stem>.<format> and DIR/<stem>.json (DIR = --out, default ./<stem>), then print
    the JSON (--json) or the table and where the files are."""
    out_dir = check_out_dir("--out", args.out or stem)
    fig_path = os.path.join(out_dir, f"{stem}.{args.format}")
    json_path = os.path.join(out_dir, f"{stem}.json")
    for path in (fig_path, json_path):
        check_out_file("--out", path)
    with atomic_write("--out", fig_path) as fh:
        draw(result, fh, args.format)
    payload = module.to_json(result)
    payload["files"] = {"figure": fig_path, "json": json_path}
    with atomic_write("--out", json_path, "w") as fh:
        fh.write(dumps(payload, indent=1) + "\n")
    if args.json:
        print(dumps(payload))
    else:
        print(module.format_table(result))
        print(f"wrote {fig_path} and {json_path}")
    return 0
