"""Retrain the models of the robustness and remedies data and check that ``toyrd evaluate`` of
each saved model is finite wherever the trainer's own R and D were (issue 29, item 1).

For every run: train it again (same configuration, same seed), save the model file as
``toyrd train`` does (tables and log-tables), read it back as ``toyrd evaluate`` does and evaluate
it; compare with the trainer's final R and D (its float64 log-domain history) and with the old
evaluation of the tables alone. Writes one JSON report with the counts.

    python tools/check_log_evaluation.py --out /tmp/logeval.json            # both data sets
    python tools/check_log_evaluation.py --only robustness --limit 64 ...   # a quick part
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import toyrd  # noqa: E402
from toyrd.tables import load_model, save_model  # noqa: E402

GROUP_KEYS = ("objective", "hyper", "family", "init_scale", "steps", "lr", "schedule", "warmup",
              "n_z", "dtype")  # fmt: skip


def _check_result(res, tag, counts, worst, folder):
    """Count one TrainResult's rows: trainer finite, evaluate (file, logs) finite, tables finite."""
    for i in range(len(res.configs)):
        r_t, d_t = float(res.history["R"][i, -1]), float(res.history["D"][i, -1])
        trainer_ok = math.isfinite(r_t) and math.isfinite(d_t)
        tables = (res.encoder[i], res.decoder[i], res.marginal[i])
        logs = tuple(t[i] for t in res.logs)
        old = toyrd.evaluate(res.px, *tables)
        path = save_model(Path(folder) / "m.npz", *tables, px=res.px, pzx=res.pzx, logs=logs)
        m = load_model(path)  # what `toyrd evaluate` reads, and evaluates from m.logs
        new = toyrd.evaluate_logs(m.px, *m.logs, pzx=m.pzx)
        new_ok = math.isfinite(new["R"]) and math.isfinite(new["D"])
        counts["runs"] += 1
        counts["trainer_finite"] += trainer_ok
        counts["evaluate_finite"] += new_ok
        counts["tables_only_finite"] += math.isfinite(old["R"]) and math.isfinite(old["D"])
        counts["underflowed_files"] += bool(m.underflowed())
        if trainer_ok and not new_ok:
            counts["finite_trainer_infinite_evaluate"] += 1
            print(f"{tag} row {i}: trainer R, D = {r_t}, {d_t}; evaluate {new['R']}, {new['D']}")
        if trainer_ok and new_ok:
            gap = max(abs(new["R"] - r_t), abs(new["D"] - d_t)) / max(1.0, abs(r_t) + abs(d_t))
            worst["rel_gap_to_trainer"] = max(worst["rel_gap_to_trainer"], gap)


def _new_counts():
    keys = ("runs", "trainer_finite", "evaluate_finite", "tables_only_finite",
            "underflowed_files", "finite_trainer_infinite_evaluate")  # fmt: skip
    return dict.fromkeys(keys, 0), {"rel_gap_to_trainer": 0.0}


def robustness(limit, folder):
    from toyrd.train import TrainConfig
    from toyrd.train.jax import train_configs

    rows = [json.loads(line) for line in (ROOT / "docs/data/robustness.jsonl").open()]
    rows = rows[:limit] if limit else rows
    groups = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in GROUP_KEYS), []).append(r)
    counts, worst = _new_counts()
    for key, members in groups.items():
        base = TrainConfig(**dict(zip(GROUP_KEYS, key)))
        configs = [base._replace(seed=r["seed"]) for r in members]
        res = train_configs(configs, progress=False, on_divergence="keep")
        _check_result(res, f"robustness {key}", counts, worst, folder)
        print(f"robustness: {counts['runs']} of {len(rows)} runs checked", flush=True)
    return {**counts, **worst}


def remedies(folder):
    import toyrd.train.jax as tj
    from toyrd.experiments import remedies as rm

    data = json.loads((ROOT / "docs/data/remedies/remedies.json").read_text())
    fields = set(rm.Settings._fields)
    settings = rm.Settings(**{k: (tuple(v) if isinstance(v, list) else v)
                              for k, v in data["settings"].items() if k in fields})  # fmt: skip
    counts, worst = _new_counts()
    original = tj.train_configs

    def recording(*args, **kw):
        res = original(*args, **kw)
        _check_result(res, "remedies", counts, worst, folder)
        return res

    tj.train_configs = recording
    try:
        rm.run_remedies(settings)
    finally:
        tj.train_configs = original
    return {**counts, **worst, "settings": data["settings"]}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=["robustness", "remedies"], default=None)
    p.add_argument("--limit", type=int, default=0, help="robustness: first N runs only")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    t0 = time.time()
    report = {"command": "python tools/check_log_evaluation.py " + " ".join(argv or sys.argv[1:])}
    with tempfile.TemporaryDirectory() as folder:
        if args.only in (None, "robustness"):
            report["robustness"] = robustness(args.limit, folder)
        if args.only in (None, "remedies"):
            report["remedies"] = remedies(folder)
    report["wall_s"] = round(time.time() - t0, 1)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    bad = sum(v.get("finite_trainer_infinite_evaluate", 0) for v in report.values()
              if isinstance(v, dict))  # fmt: skip
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
