#!/usr/bin/env bash
# The real-data table of docs/variants.md: the same time budget for each run, one BLAS thread.
#   benchmarks/variants.sh OUT [BUDGET_SECONDS] [SEEDS...]      e.g. benchmarks/variants.sh /tmp/variants 120 0 1
# DATA (default /work/shared/data) holds char_lm/tinyshakespeare.txt and ner/eng.{train,testa,testb}.
set -euo pipefail
OUT=${1:?give an output directory}; BUDGET=${2:-120}; shift $(( $# > 1 ? 2 : 1 )); SEEDS=${*:-0 1}
DATA=${DATA:-/work/shared/data}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1
mkdir -p "$OUT"
# validation on the first 1000 sentences of eng.testa (a whole pass of it would eat the budget); test: all of eng.testb
awk -v RS= -v ORS='\n\n' 'NR <= 1001' "$DATA/ner/eng.testa" > "$OUT/testa-1000.conll"

declare -A CHARLM=(
  [plain]=""
  [awd]="--weight-drop 0.3 --recurrent-dropout 0.2 --tie-weights"
  [layernorm]="--layer-norm"
)
declare -A TAG=([plain]="" [variational]="--recurrent-dropout 0.25")

for seed in $SEEDS; do
  for name in plain awd layernorm; do
    rnnkit train charlm "$DATA/char_lm/tinyshakespeare.txt" --layers 2 --hidden 128 --embed 128 \
      --time-limit "$BUDGET" --eval-every 100 --seed "$seed" --quiet ${CHARLM[$name]} --out "$OUT/charlm-$name-$seed"
  done
  for name in plain variational; do
    rnnkit train tag "$DATA/ner/eng.train" --val "$OUT/testa-1000.conll" \
      --time-limit "$BUDGET" --eval-every 150 --seed "$seed" --quiet ${TAG[$name]} --out "$OUT/tag-$name-$seed"
    rnnkit evaluate "$OUT/tag-$name-$seed" "$DATA/ner/eng.testb" --json > "$OUT/tag-$name-$seed.testb.json"
  done
done
python - "$OUT" <<'PY'
import json, pathlib, sys
for run in sorted(p for p in pathlib.Path(sys.argv[1]).iterdir() if p.is_dir()):
    s = json.loads((run / "summary.json").read_text())
    best = {k: v for k, v in s.items() if k.startswith("best_") and k != "best_step"}
    test = run.with_name(run.name + ".testb.json")
    extra = f" eng.testb F1 {json.loads(test.read_text())['f1']:.4f}" if test.exists() else ""
    rate = next(f"{v:7.0f} {k[:-6]}/s" for k, v in s.items() if k.endswith("_per_s"))
    print(f"{run.name:24s} steps {s['steps']:5d} time {s['time_s']:6.1f}s {rate} {best}{extra}")
PY
