#!/bin/bash
# The grouping accuracy table of docs/results.md: two lanes of 1-thread runs, then the seed, 600-scene and 2-D tag rows (about 3 hours on a
# 2-core CPU; M80=path/to/a COCO annotation file for the mini80 rows). Usage: [OUT=folder] [M80=file] bash bench/experiments/grouping_table.sh
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
PY=.venv/bin/python
mkdir -p "${OUT:-runs/gtable3}"
M80=${M80:-../shared/data/coco/person_keypoints_train2017_mini80.json}  # 80 COCO train2017 images
O=${OUT:-runs/gtable3}
run() {  # name, annotations (empty: built-in), split, train args...
  local n=$1 ann=$2 split=$3; shift 3
  local annarg=(); [ -n "$ann" ] && annarg=(--annotations "$ann")
  $PY train.py grouping "${annarg[@]}" --out $O/$n --no-progress "$@" > $O/$n.log 2>&1
  local evann=${ann:-$O/$n/annotations.json}
  for d in gnn ae oracle; do
    $PY evaluate.py grouping --checkpoint $O/$n/best.pt --annotations $evann --split $split --decoder $d --out $O/$n/eval_$d > $O/$n/eval_$d.log 2>&1
  done
}
lane1() {
  run b_edgeconv "" val --model edgeconv --synth-copies 4
  run b_attr "" val --model edgeconv-attr --synth-copies 4
  run m_edgeconv $M80 all --model edgeconv --synth-copies 10 --val-fraction 0
  run m_attr_pair $M80 all --model edgeconv-attr --pair-attr --synth-copies 10 --val-fraction 0
  run b_default "" val
  run s600 "" val --num-scenes 600 --model edgeconv-attr --pair-attr --synth-copies 4 --type-nearest 4
  run b_edgeconv_k4 "" val --model edgeconv --synth-copies 4 --type-nearest 4
  run m_attr_pair_k4 $M80 all --model edgeconv-attr --pair-attr --synth-copies 10 --val-fraction 0 --type-nearest 4
}
lane2() {
  run b_dsnorm "" val --model edgeconv --feature-norm dataset --synth-copies 4
  run b_attr_pair "" val --model edgeconv-attr --pair-attr --synth-copies 4
  run m_attr $M80 all --model edgeconv-attr --synth-copies 10 --val-fraction 0
  run b_attr_pair8 "" val --model edgeconv-attr --pair-attr --synth-copies 8
  run s1000 "" val --num-scenes 1000 --model edgeconv-attr --pair-attr --synth-copies 4 --type-nearest 4
  run b_attr_pair8_k4 "" val --model edgeconv-attr --pair-attr --synth-copies 8 --type-nearest 4
  run b_attr_pair16 "" val --model edgeconv-attr --pair-attr --synth-copies 16
}
lane3() {  # the same setting on other seeds (other scenes, split, noise, initialisation)
  run seed1 "" val --model edgeconv-attr --pair-attr --synth-copies 8 --seed 1 &
  run seed2 "" val --model edgeconv-attr --pair-attr --synth-copies 8 --seed 2 &
  wait
  run s600x8 "" val --num-scenes 600 --model edgeconv-attr --pair-attr --synth-copies 8
}
lane4() {  # the same scenes with 2-D tags (seeds 0, 1, 2)
  run d2x8 "" val --model edgeconv-attr --pair-attr --synth-copies 8 --synth tag_dim=2 &
  run d2x8_s1 "" val --model edgeconv-attr --pair-attr --synth-copies 8 --synth tag_dim=2 --seed 1 &
  wait
  run d2x8_s2 "" val --model edgeconv-attr --pair-attr --synth-copies 8 --synth tag_dim=2 --seed 2
}
lane1 & lane2 & wait
lane3
lane4
echo done > $O/DONE
