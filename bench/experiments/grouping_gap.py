"""Where the GNN decoder loses AP to the oracle (docs/ablations.md). Evaluates the
checkpoint with both decoders on the same images (the checkpoint's maps synthesis, `--split`,
`--seed`) into OUT, then scores both results files again:
- by crowd size (images of 1-5, 6-10, 11+ people);
- with the people who have a tag twin left out: another person in the image whose box overlaps
  theirs and whose tag (the median over the person's candidates) lies within `--twin-tag` of
  theirs. They are marked `iscrowd`, so COCOeval ignores them and the predictions matched to them.
Writes OUT/gap.json. Usage:
  python bench/experiments/grouping_gap.py --checkpoint CKPT --annotations GT.json [--split val] [--seed S]
      [--twin-tag 0.3 0.5] [--out DIR]
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

from core.atomic_io import write_json  # noqa: E402
from core.checkpoint import load_checkpoint  # noqa: E402
from core.cli import HelpFormatter  # noqa: E402
from datasets.coco import DATASET_SKELETONS, persons_by_image, quiet_coco  # noqa: E402
from tasks import grouping  # noqa: E402
from tasks.grouping.config import SPLITS  # noqa: E402
from tasks.grouping import evaluation as grouping_evaluation  # noqa: E402
from tasks.grouping.probabilities import checkpoint_scorer  # noqa: E402
from core.device import resolve_device  # noqa: E402
from tasks.coco_eval import oks_ap  # noqa: E402

DECODERS = ("gnn", "oracle")
CROWD_BINS = ((1, 5), (6, 10), (11, 10 ** 9))


def person_tags(graph, num_people: int) -> list:
    """Per ground-truth person of the image, the median tag (D,) of the candidates matched to
    it (None when none is)."""
    person, tag = graph.person.numpy(), graph.tag.numpy()
    return [np.median(tag[person == q], axis=0) if np.any(person == q) else None for q in range(num_people)]


def boxes_overlap(a, b) -> bool:
    return min(a[0] + a[2], b[0] + b[2]) > max(a[0], b[0]) and min(a[1] + a[3], b[1] + b[3]) > max(a[1], b[1])


def tag_twins(graphs, people, threshold: float) -> set:
    """Annotation ids of the people with a tag twin (see the module docstring)."""
    twins = set()
    for g in graphs:
        anns = people[int(g.image_id)][2]
        tags = person_tags(g, len(anns))
        for i in range(len(anns)):
            for j in range(i + 1, len(anns)):
                if (tags[i] is not None and tags[j] is not None and np.linalg.norm(tags[i] - tags[j]) < threshold
                        and boxes_overlap(anns[i]["bbox"], anns[j]["bbox"])):
                    twins |= {anns[i]["id"], anns[j]["id"]}
    return twins


def scored(gt_dict: dict, image_ids, results: dict, ignore=frozenset()) -> dict:
    """AP of each decoder's results on `image_ids`, the annotations in `ignore` marked crowd."""
    keep = set(image_ids)
    d = copy.deepcopy(gt_dict)
    d["images"] = [img for img in d["images"] if img["id"] in keep]
    d["annotations"] = [dict(a, iscrowd=1) if a["id"] in ignore else a
                        for a in d["annotations"] if a["image_id"] in keep]
    gt = quiet_coco(d)
    return {k: oks_ap(gt, [r for r in res if r["image_id"] in keep], "coco")[0]["AP"] for k, res in results.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--checkpoint", required=True, help="best.pt of train.py grouping")
    p.add_argument("--annotations", required=True, help="COCO-format ground truth (.json)")
    p.add_argument("--split", default="val", choices=list(SPLITS), help="images to score")
    p.add_argument("--seed", type=int, default=None, help="synthesis seed (None: the checkpoint's + 1)")
    p.add_argument("--twin-tag", type=float, nargs="+", default=[0.3, 0.5], help="tag-twin thresholds")
    p.add_argument("--out", default="runs/grouping_gap", help="writes OUT/<decoder>/results.json, OUT/gap.json")
    a = p.parse_args(argv)
    out = Path(a.out)
    ckpt = load_checkpoint(a.checkpoint, "grouping")
    saved = grouping.GroupingConfig.from_dict(ckpt["config"])
    cfg = grouping_evaluation.eval_config(saved, maps=None, device="auto")
    synth_seed = a.seed if a.seed is not None else grouping_evaluation.default_synth_seed(saved)
    results = {}
    scorer = checkpoint_scorer(ckpt, a.checkpoint, resolve_device(cfg.device))
    for d in DECODERS:
        ev = grouping_evaluation.evaluate_grouping(cfg, a.annotations, synth_seed, a.split, d, scorer, ckpt, a.checkpoint)
        (out / d).mkdir(parents=True, exist_ok=True)
        write_json(out / d / "results.json", ev.results)
        results[d] = ev.results
    data, graphs = ev.data, ev.graphs  # the same images and candidates for both decoders
    ids = sorted(int(g.image_id) for g in graphs)
    people = persons_by_image(data.gt, DATASET_SKELETONS[cfg.dataset].num_joints)
    gt_dict = data.gt.dataset
    report = {"all": {"images": len(ids), "people": sum(len(people[i][2]) for i in ids),
                      **scored(gt_dict, ids, results)}}
    for low, high in CROWD_BINS:
        part = [i for i in ids if low <= len(people[i][2]) <= high]
        if part:
            key = f"{low}-{high}" if high < 10 ** 9 else f"{low}+"
            report[f"people {key}"] = {"images": len(part), "people": sum(len(people[i][2]) for i in part),
                                       **scored(gt_dict, part, results)}
    for t in a.twin_tag:
        twins = tag_twins(graphs, people, t)
        report[f"tag twins < {t} left out"] = {"images": len(ids), "people left out": len(twins),
                                               **scored(gt_dict, ids, results, twins)}
    print(f"{'scored on':<26} {'images':>6} {'people':>6} {'left out':>8}   gnn AP  oracle AP  gap (AP points)")
    for name, r in report.items():
        people_text = str(r["people"]) if "people" in r else ""
        print(f"{name:<26} {r['images']:>6} {people_text:>6} {r.get('people left out', ''):>8}   {r['gnn']:.3f}   "
              f"{r['oracle']:.3f}      {100 * (r['oracle'] - r['gnn']):.1f}")
    write_json(out / "gap.json", report)


if __name__ == "__main__":
    main()
