#!/bin/bash
# The layout-disjoint validation of the grouping defaults (docs/results.md "Grouping, fourth
# pass" and "fifth pass"): the 40 layouts of half A of bench/experiments/grouping_transfer.sh (never its test
# half B) are split into two folds of 20 (alternating by number of people); each configuration
# trains on one fold and is scored on the other (5 runs: seeds 0 and 1 on both folds, seed 2 on
# fold 1), three map draws each (60 images), with the project's, the second and the fourth
# generator's maps. The third generator is not used. Configurations: FLAGS below (default T, D).
#   [OUT=runs/gfolds] [TRANSFER=runs/gtransfer] [CONFIGS="T D ..."] bash bench/experiments/grouping_folds.sh
#   (after grouping_transfer.sh)
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
O=${OUT:-runs/gfolds}
T=${TRANSFER:-runs/gtransfer}
mkdir -p "$O"
$PY - "$T/A.json" "$O" <<'PY'
import json, sys
import numpy as np
d = json.load(open(sys.argv[1]))
count = {i["id"]: 0 for i in d["images"]}
for a in d["annotations"]:
    count[a["image_id"]] += a["num_keypoints"] > 0
rng = np.random.default_rng(5)
ids = sorted(count, key=lambda i: (count[i], rng.random()))
for f in (0, 1):
    keep = set(ids[f::2])
    one = {"images": [i for i in d["images"] if i["id"] in keep],
           "annotations": [a for a in d["annotations"] if a["image_id"] in keep], "categories": d["categories"]}
    json.dump(one, open(f"{sys.argv[2]}/F{f}.json", "w"))
    three = {"images": [], "annotations": [], "categories": d["categories"]}
    for c in range(3):  # draw c of image i is image 10 i + c
        three["images"] += [{**i, "id": 10 * i["id"] + c} for i in one["images"]]
        three["annotations"] += [{**a, "id": 10 * a["id"] + c, "image_id": 10 * a["image_id"] + c}
                                 for a in one["annotations"]]
    json.dump(three, open(f"{sys.argv[2]}/F{f}x3.json", "w"))
PY
for f in 0 1; do
  for g in project second fourth; do
    [ -d "$O/m${f}_$g" ] || $PY bench/write_maps.py --annotations "$O/F${f}x3.json" --generator $g \
      --seed $((700 + f * 10 + ${#g})) --out "$O/m${f}_$g" > /dev/null
  done
done
run() {  # name fold train-args: train on the fold, score on the other
  local n=$1 f=$2; shift 2; local o=$((1 - f))
  $PY train.py grouping --annotations "$O/F$f.json" --out "$O/$n" --no-progress --overwrite "$@" > "$O/$n.log" 2>&1 &&
  $PY bench/experiments/grouping_transfer.py --checkpoint "$O/$n/best.pt" --annotations "$O/F${o}x3.json" \
    --maps project="$O/m${o}_project" --maps second="$O/m${o}_second" --maps fourth="$O/m${o}_fourth" \
    --json "$O/$n/test.json" > "$O/$n.test.log" 2>&1
}
# Configurations (letter: flags on top of the fifth pass's defaults, T). The fifth pass compared P, R, H, S, T, X,
# Y, Z, W, V, K, C (docs/results.md), the sixth G2, G4, G2C, FD, FN, Q8 (its feature variants ran at
# commit 6c62ba3); N and B are the fourth pass's variants of R.
declare -A FLAGS=(
  [P]="--floor-reference none --pairs skeleton2 --type-nearest 3"  # the third pass's defaults
  [R]="--pairs skeleton2 --type-nearest 3"  # the fourth pass's defaults (relative floor)
  [H]="--type-nearest 3"  # three-bone pairs, 3 nearest of each type
  [S]="--pairs skeleton2"  # two-bone pairs, 2 nearest
  [T]=""  # the fifth pass's defaults: three-bone pairs, 2 nearest
  [D]="--merge-threshold 0.02"  # the defaults since the sixth pass: T, pairs merged from probability 0.02
  [X]="--hidden 64" [Y]="--edges skeleton2" [Z]="--synth-extras calibration,blur"
  [W]="--synth-copies 32" [V]="--epochs 100" [K]="--score-norm per-map" [C]="--synth-extras calibration"
  # The sixth pass (docs/results.md): training generators left out in turn, and more of the same
  [G2]="--synth-generators project,second" [G4]="--synth-generators project,fourth"
  [G2C]="--synth-generators project,second --synth-extras calibration" [FD]="--feature-norm dataset"
  [FN]="--synth-extras fp_near" [Q8]="--synth-copies 8"
  [N]="--pairs skeleton2 --type-nearest 3 --synth-extras calibration,blur"
  [B]="--pairs skeleton2 --type-nearest 3 --builtin-scenes 200"  # slow: about 12 minutes a run
)
CONFIGS=${CONFIGS:-T D}
lane() {  # config-letter seed-fold...: train on the fold, score on the other
  local c=$1; shift
  local flags="--merge-threshold 0.5 ${FLAGS[$c]}"  # as they ran: pairs merged from 0.5 unless given
  for sf in "$@"; do run "${c}_s${sf%_*}_f${sf#*_}" "${sf#*_}" --seed "${sf%_*}" $flags; done
}
for c in $CONFIGS; do  # two lanes: 5 runs (seed_fold), about 3 minutes a configuration
  lane "$c" 0_0 1_0 2_1 & lane "$c" 0_1 1_1 & wait
done
$PY - "$O" $CONFIGS <<'PY'
import glob, json, sys
for c in sys.argv[2:]:
    runs = [json.load(open(p)) for p in sorted(glob.glob(f"{sys.argv[1]}/{c}_s*_f*/test.json"))]
    if not runs:
        continue
    line = []
    for g in ("project", "second", "fourth"):
        mean = lambda k, d: sum(r[g][d][k] for r in runs) / len(runs)
        line.append(f"{g} AP {mean('AP', 'gnn'):.3f} (ae {mean('AP', 'ae'):.3f}, oracle {mean('AP', 'oracle'):.3f}) "
                    f"{mean('per_image', 'gnn'):.1f}/image (ae {mean('per_image', 'ae'):.1f})")
    print(f"{c} ({len(runs)} runs): " + "; ".join(line))
PY
