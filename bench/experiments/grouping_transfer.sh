#!/bin/bash
# The grouping transfer table (README, docs/results.md "Grouping, third pass"). The 80 real COCO
# train2017 layouts of ../shared are split in two halves (seed 0): A (40 images) is trained on;
# B (40 images, 41 people) is scored, each image with three map draws (120 images, 123 people)
# of each of four generators: the project's synthesiser (what training draws from), the second
# (settings were tuned against it), the fourth (the validation generator: settings were chosen on
# its maps of A's layouts) and the third (test only: nothing trained or chosen on it). Settings
# are chosen on A's own images ("tune": project and second-generator maps; "val": two draws of
# second- and fourth-generator maps; later passes chose on layout-disjoint folds of A,
# bench/experiments/grouping_folds.sh). Runs (seeds 0, 1, 2): the defaults, the previous defaults (the
# fifth pass's: pairs merged from probability 0.5); --preset reference (seed 0); with
# VARIANTS=1 also the fourth pass's variants of the previous defaults, --synth-extras
# calibration,blur and --builtin-scenes 200 (about 15 minutes a run, the others 1-2). About 10
# minutes, 50 with the variants.
#   [OUT=runs/gtransfer] [M80=file] [VARIANTS=1] bash bench/experiments/grouping_transfer.sh
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
O=${OUT:-runs/gtransfer}
M80=${M80:-../shared/data/coco/person_keypoints_train2017_mini80.json}
mkdir -p "$O"
$PY - "$M80" "$O" <<'PY'
import json, sys
import numpy as np
d = json.load(open(sys.argv[1]))
ids = sorted(i["id"] for i in d["images"])
order = np.random.default_rng(0).permutation(len(ids))
for name, part, draws in (("A", order[:40], 1), ("A2", order[:40], 2), ("B3", order[40:], 3)):
    keep = {ids[i] for i in part}
    out = {"images": [], "annotations": [], "categories": d["categories"]}
    for c in range(draws):  # draw c of image i is image 10 i + c (A2, B3), i itself (A)
        new = (lambda i: i) if draws == 1 else (lambda i, c=c: 10 * i + c)
        out["images"] += [{**i, "id": new(i["id"])} for i in d["images"] if i["id"] in keep]
        out["annotations"] += [{**a, "id": new(a["id"]), "image_id": new(a["image_id"])}
                               for a in d["annotations"] if a["image_id"] in keep]
    json.dump(out, open(f"{sys.argv[2]}/{name}.json", "w"))
PY
maps() {  # annotations generator seed folder
  [ -d "$4" ] || $PY bench/write_maps.py --annotations "$1" --generator $2 --seed $3 --out "$4" > /dev/null
}
maps "$O/B3.json" project 111 "$O/maps3_project"; maps "$O/B3.json" second 212 "$O/maps3_second"
maps "$O/B3.json" third 313 "$O/maps3_third"; maps "$O/B3.json" fourth 414 "$O/maps3_fourth"
maps "$O/A2.json" fourth 404 "$O/val_fourth"; maps "$O/A2.json" second 405 "$O/val_second"
maps "$O/A.json" project 506 "$O/tune_project"; maps "$O/A.json" second 505 "$O/tune_second"
run() {  # name, train args
  local n=$1; shift
  $PY train.py grouping --annotations "$O/A.json" --out "$O/$n" --no-progress --overwrite "$@" > "$O/$n.log" 2>&1 &&
  $PY bench/experiments/grouping_transfer.py --checkpoint "$O/$n/best.pt" --annotations "$O/A.json" --maps tune_project="$O/tune_project" \
    --maps tune_second="$O/tune_second" --json "$O/$n/tune.json" > "$O/$n.tune.log" 2>&1 &&
  $PY bench/experiments/grouping_transfer.py --checkpoint "$O/$n/best.pt" --annotations "$O/A2.json" --maps val_fourth="$O/val_fourth" \
    --maps val_second="$O/val_second" --json "$O/$n/val.json" >> "$O/$n.tune.log" 2>&1 &&
  $PY bench/experiments/grouping_transfer.py --checkpoint "$O/$n/best.pt" --annotations "$O/B3.json" --maps project="$O/maps3_project" \
    --maps second="$O/maps3_second" --maps fourth="$O/maps3_fourth" --maps third="$O/maps3_third" --json "$O/$n/test.json" > "$O/$n.test.log" 2>&1
}
PREVIOUS="--merge-threshold 0.5"  # the defaults of the version before (fifth pass); the fourth pass's:
# "--pairs skeleton2 --type-nearest 3 --merge-threshold 0.5"
EXTRAS="$PREVIOUS --synth-extras calibration,blur"  # the validation generator's favourite (docs/results.md)
SCENES="$PREVIOUS --builtin-scenes 200"  # more layouts (synthetic poses)
lane1() { run default_s0 --seed 0; run default_s2 --seed 2; run previous_s1 $PREVIOUS --seed 1; run reference --preset reference
          [ -n "$VARIANTS" ] && { run extras_s1 $EXTRAS --seed 1; run scenes_s0 $SCENES --seed 0; run scenes_s2 $SCENES --seed 2; }; }
lane2() { run default_s1 --seed 1; run previous_s0 $PREVIOUS --seed 0; run previous_s2 $PREVIOUS --seed 2
          [ -n "$VARIANTS" ] && { run extras_s0 $EXTRAS --seed 0; run extras_s2 $EXTRAS --seed 2; run scenes_s1 $SCENES --seed 1; }; }
lane1 & lane2 & wait
names="default_s0 default_s1 default_s2 previous_s0 previous_s1 previous_s2 reference"
[ -n "$VARIANTS" ] && names="$names extras_s0 extras_s1 extras_s2 scenes_s0 scenes_s1 scenes_s2"
for n in $names; do
  echo "== $n"; cat "$O/$n.tune.log" "$O/$n.test.log"
done
