#!/bin/bash
# Grouping on layouts and maps it was not trained on (docs/results.md, "Generalisation").
# Settings are chosen on the built-in scenes' validation images (project maps) only; the real
# COCO layouts (M80: 80 train2017 images) and the second generator's maps are test data.
#   A: trained on 200 built-in scenes, tested on all 80 real layouts (never seen).
#   B: trained on 40 of the real layouts + 200 built-in scenes, tested on the other 40 (last.pt:
#      no checkpoint chosen on them).
# Each test: gnn / ae / oracle with the project's synthesised maps (seed 101) and the second
# generator's maps (seed 202). Two lanes of 1-thread runs. Usage:
#   [OUT=runs/ggen] [M80=file] [LANE=1|2|all] bash bench/experiments/grouping_generalisation.sh
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
O=${OUT:-runs/ggen}
M80=${M80:-../shared/data/coco/person_keypoints_train2017_mini80.json}
mkdir -p "$O"
maps() {  # generator seed -> folder
  [ -d "$O/maps_$1" ] || $PY bench/write_maps.py --annotations "$M80" --generator "$1" --seed "$2" --out "$O/maps_$1" > /dev/null
}
score() {  # run-name checkpoint split
  local n=$1 ck=$2 split=$3
  for g in project second; do
    for d in gnn ae oracle; do
      $PY evaluate.py grouping --checkpoint "$ck" --annotations "$M80" --maps "$O/maps_$g" --split "$split" \
        --decoder $d --out "$O/$n/test_${g}_$d" > "$O/$n/test_${g}_$d.log" 2>&1
    done
  done
  $PY evaluate.py grouping --checkpoint "$O/$n/best.pt" --annotations "$O/$n/annotations.json" --split val \
    --out "$O/$n/builtin_val_gnn" > "$O/$n/builtin_val_gnn.log" 2>&1 || true
}
train_a() {  # name, train args (built-in scenes)
  local n=$1; shift
  $PY train.py grouping --out "$O/$n" --no-progress "$@" > "$O/$n.log" 2>&1 && score "$n" "$O/$n/best.pt" all
}
train_b() {  # name, train args (real layouts + built-in)
  local n=$1; shift
  $PY train.py grouping --annotations "$M80" --val-fraction 0.5 --builtin-scenes 200 --out "$O/$n" --no-progress "$@" \
    > "$O/$n.log" 2>&1 && score "$n" "$O/$n/last.pt" val
}
maps project 101
maps second 202
lane1() {
  train_a a_reference --model edgeconv
  train_a a_attr_pair8 --model edgeconv-attr --pair-attr --synth-copies 8
  train_b b_attr_pair8_rand --model edgeconv-attr --pair-attr --synth-copies 8 --synth-randomize
}
lane2() {
  train_a a_attr_pair8_rand --model edgeconv-attr --pair-attr --synth-copies 8 --synth-randomize
  train_a a_attr_pair8_rand_sgd --model edgeconv-attr --pair-attr --synth-copies 8 --synth-randomize --optimizer sgd --lr 0.01
  train_b b_reference --model edgeconv
}
case "${LANE:-all}" in
  1) lane1 ;;
  2) lane2 ;;
  *) lane1 & lane2; wait ;;
esac
$PY - "$O" <<'PY'
import json, sys
from pathlib import Path
O = Path(sys.argv[1])
print(f"{'run':<26} {'builtin val':>11} | {'project maps: gnn / ae / oracle':>32} | {'second generator: gnn / ae / oracle':>36}")
for run in sorted(p for p in O.iterdir() if p.is_dir() and not p.name.startswith("maps")):
    def ap(name):
        f = run / name / "eval.json"
        return f"{json.loads(f.read_text())['AP']:.3f}" if f.exists() else "  -  "
    print(f"{run.name:<26} {ap('builtin_val_gnn'):>11} | "
          + " / ".join(ap(f"test_project_{d}") for d in ("gnn", "ae", "oracle")).rjust(32) + " | "
          + " / ".join(ap(f"test_second_{d}") for d in ("gnn", "ae", "oracle")).rjust(36))
PY
