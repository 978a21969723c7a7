#!/usr/bin/env bash
# Regenerates docs/data/robustness.jsonl, the data of docs/robustness.md, then the page's figure
# and tables (docs/scripts/robustness.py). `toyrd sweep` is resumable: finished runs already in
# the file are skipped, so re-running this script on the committed file only redraws; delete the
# file to redo every run (about 20 minutes on a shared 2-core CPU).
#
# (A) The family study (issue 11): ELBO and target rate (σ = 0.5) × every reading of Appendix E
#     below × init scale {0.01, 0.3, 1} × 32 seeds, at the Figure 2 settings (3000 steps, lr 0.01,
#     cosine, warm-up 500).
# (B) The default family's window: lr {0.005, 0.02} and steps {2000, 4000} at init scale 0.01.
# A run whose training ends non-finite is written with "status": "diverged" (the sweep goes on);
# robustness.py counts such runs on the page. Any other error stops this script.
set -euo pipefail
cd "$(dirname "$0")/../.."
export JAX_PLATFORMS=cpu
OUT=docs/data/robustness.jsonl
FAMILIES=(tabular bump bump/tabular tabular/bump onehot/onehot onehot/tabular
          "bump(w0=1)/tabular" bump/bump+free "bump(w0=2)/bump+free")

sweep() {  # steps lr init-scales... ; families from $FAMS
  local steps=$1 lr=$2; shift 2
  toyrd sweep --out "$OUT" --objective elbo target_rate --sigma 0.5 --family "${FAMS[@]}" \
    --seeds 32 --seed 0 --steps "$steps" --lr "$lr" --warmup 500 --init-scale "$@" --no-progress
}

FAMS=("${FAMILIES[@]}"); sweep 3000 0.01 0.01 0.3 1
FAMS=("bump(w0=2)/bump+free")
sweep 3000 0.005 0.01; sweep 3000 0.02 0.01; sweep 2000 0.01 0.01; sweep 4000 0.01 0.01
python docs/scripts/robustness.py
