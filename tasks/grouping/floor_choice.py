"""The person floor of a trained classifier, chosen on validation images: the highest score
floor at which AP and AR@OKS stay within `TOLERANCE` of writing every person. Dropping the
lowest-scored persons only cuts the tail of the precision-recall curve, so AP and AR fall
(almost) monotonically with the floor, and a binary search over the decoded scores finds it.
A floor relative to the image's strongest candidate (`floor_reference` image) is capped at 1 / K:
a person scored as one keypoint at the image's peak is never dropped (on a few images the search
can land far higher, dropping real people the images held too few of to show)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from torch_geometric.data import Data

from core.checkpoint import save_checkpoint
from datasets.coco import DATASET_SKELETONS
from tasks.coco_eval import oks_ap
from tasks.grouping.config import GroupingConfig
from tasks.grouping.decoders import decode_all
from tasks.grouping.persons import floor_reference
from tasks.grouping.results import subset_gt

TOLERANCE = 0.005  # AP and AR points (x100) a floor may cost on the validation images


def choose_person_floor(graphs: list[Data], probs: list[np.ndarray], cfg: GroupingConfig, gt) -> dict:
    """-> {"floor", "persons_before", "persons_after", "AP_before", "AP_after", "AR_before",
    "AR_after", "images"} on `graphs` (with features; their pair probabilities `probs`) scored
    against `gt` (pycocotools COCO holding at least their images)."""
    results, level = [], []  # COCO entries; each one's score over its image's floor reference
    for g, p in zip(graphs, probs):
        entries = decode_all([g], "gnn", dataclasses.replace(cfg, person_floor=None), [p])
        results += entries
        level += [r["score"] / floor_reference(g, cfg.floor_reference) for r in entries]
    sub = subset_gt(gt, [int(g.image_id) for g in graphs])

    def scored(floor: float) -> tuple[float, float, int]:
        kept = [r for r, s in zip(results, level) if s >= floor]
        if not kept:
            return 0.0, 0.0, 0
        stats = oks_ap(sub, kept, cfg.dataset)[0]
        return stats["AP"], stats["AR"], len(kept)

    ap0, ar0, n0 = scored(0.0)
    if ar0 == 0:  # nobody found: no evidence for any floor (every floor would "keep" AP and AR at 0)
        return {"floor": 0.0, "images": len(graphs), "persons_before": n0, "persons_after": n0,
                "AP_before": ap0, "AP_after": ap0, "AR_before": ar0, "AR_after": ar0}
    scores = np.unique(level)
    low, high = 0, len(scores) - 1  # the largest index whose floor keeps AP and AR
    while low < high:
        mid = (low + high + 1) // 2
        ap, ar, _ = scored(float(scores[mid]))
        if ap >= ap0 - TOLERANCE and ar >= ar0 - TOLERANCE:
            low = mid
        else:
            high = mid - 1
    floor = 0.0 if low == 0 or not len(scores) else float((scores[low - 1] + scores[low]) / 2)
    if cfg.floor_reference == "image":  # at most one keypoint at the image's peak (a share 1 / K): no
        floor = min(floor, 1.0 / DATASET_SKELETONS[cfg.dataset].num_joints)  # person that strong is debris
    ap, ar, n = scored(floor)
    return {"floor": floor, "images": len(graphs), "persons_before": n0, "persons_after": n,
            "AP_before": ap0, "AP_after": ap, "AR_before": ar0, "AR_after": ar}


def record_floor(path: Path, ckpt: dict, choice: dict) -> None:
    """Write the chosen floor into checkpoint `ckpt` (read from `path`) and replace the file atomically."""
    ckpt["config"]["person_floor"] = choice["floor"]
    ckpt["person_floor_choice"] = choice
    save_checkpoint(path, ckpt)
