#!/bin/bash
# The grouping transfer table (README, docs/results.md "Grouping, third pass"): the 80 real COCO
# train2017 layouts of ../shared split in two halves (seed 0): A (40 images) to train on, B (40)
# to test on with the maps of three generators: the project's synthesiser (what training
# draws from), the second generator (settings were tuned against it) and the third (test only).
# Trains the defaults (seeds 0 and 1) and --preset reference on A; scores gnn / ae / oracle on B.
#   [OUT=runs/gtransfer] [M80=file] bash bench/grouping_transfer.sh
cd "$(dirname "$0")/.."
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
for name, part in (("A", order[:40]), ("B", order[40:])):
    keep = {ids[i] for i in part}
    json.dump({"images": [i for i in d["images"] if i["id"] in keep], "categories": d["categories"],
               "annotations": [a for a in d["annotations"] if a["image_id"] in keep]},
              open(f"{sys.argv[2]}/{name}.json", "w"))
PY
for g in "project 101" "second 202" "third 303"; do
  set -- $g
  [ -d "$O/maps_$1" ] || $PY bench/write_maps.py --annotations "$O/B.json" --generator $1 --seed $2 --out "$O/maps_$1" > /dev/null
done
run() {  # name, train args
  local n=$1; shift
  $PY train.py grouping --annotations "$O/A.json" --out "$O/$n" --no-progress --overwrite "$@" > "$O/$n.log" 2>&1 &&
  $PY bench/grouping_transfer.py --checkpoint "$O/$n/best.pt" --annotations "$O/B.json" --maps project="$O/maps_project" \
    --maps second="$O/maps_second" --maps third="$O/maps_third" --json "$O/$n/transfer.json" > "$O/$n.transfer.log" 2>&1
}
run default --seed 0 & run default_seed1 --seed 1 & wait
run reference --preset reference & run artifacts --synth-artifacts & wait
run artifacts_seed1 --synth-artifacts --seed 1 & wait
for n in default default_seed1 reference artifacts artifacts_seed1; do echo "== $n"; cat "$O/$n.transfer.log"; done
