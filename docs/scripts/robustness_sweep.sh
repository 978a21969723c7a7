#!/usr/bin/env bash
# Regenerates docs/data/robustness.jsonl, the data of docs/robustness.md (a few minutes on a
# shared 2-core CPU: the 96 bump init-scale-2 runs took 73 s), then the page's figure and tables
# (docs/scripts/robustness.py).
# `toyrd sweep` is resumable: finished runs already in the file are skipped, so re-running this
# script on the committed file only redraws; delete the file to redo every run.
#
# Grid: ELBO and target rate (σ = 0.5) × {tabular, bump} × init scale {0.01, 0.3, 1, 2} × 8 seeds
#   at 3000 steps, for lr ∈ {0.01, 0.05} and warm-up ∈ {500, 0} (m and d fitted to the initial
#   encoder first, or not); plus steps ∈ {1000, 10000} at lr 0.01, warm-up 500.
# A run whose training ends non-finite is written with "status": "diverged" (the sweep goes on);
# robustness.py counts such runs on the page. Any other error stops this script.
set -euo pipefail
cd "$(dirname "$0")/../.."
export JAX_PLATFORMS=cpu
OUT=docs/data/robustness.jsonl

sweep() {  # family steps lr warmup
  toyrd sweep --out "$OUT" --objective elbo target_rate --sigma 0.5 --family "$1" --seeds 8 --seed 0 \
    --steps "$2" --lr "$3" --warmup "$4" --init-scale 0.01 0.3 1 2 --no-progress
}

for warmup in 500 0; do
  for lr in 0.01 0.05; do
    for fam in tabular bump; do sweep "$fam" 3000 "$lr" "$warmup"; done
  done
done
for steps in 1000 10000; do
  for fam in tabular bump; do sweep "$fam" "$steps" 0.01 500; done
done
python docs/scripts/robustness.py
