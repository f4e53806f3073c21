"""AP@OKS of keypoint results through pycocotools' `COCOeval(..., 'keypoints')`; for CrowdPose
also its AP by crowd index (easy / medium / hard), as CrowdPose's own evaluator reports it."""
from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from datasets.coco import DATASET_SKELETONS, person_category

STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


SCORED_FIELDS = ("image_id", "category_id", "keypoints", "score")


def load_res(gt: COCO, results: list[dict]) -> COCO:
    """pycocotools' `loadRes` for keypoint results, without its prints. Each result is copied
    with only the fields keypoint scoring reads (a missing category_id: the ground truth's
    person category): pycocotools picks its code path from the first entry's fields, so a
    `bbox` or `segmentation` on some entries would otherwise change the areas or fail."""
    person = person_category(gt)
    kept = [{"category_id": person, **{k: copy.deepcopy(r[k]) for k in SCORED_FIELDS if k in r}}
            for r in results]
    with contextlib.redirect_stdout(io.StringIO()):
        return gt.loadRes(kept)


def oks_ap(gt: COCO, results: list[dict], dataset: str = "coco") -> tuple[dict, str]:
    """-> ({AP, AP50, AP75, APm, APl, AR, ...}, pycocotools' printed summary).

    COCO uses pycocotools' own 17 sigmas; CrowdPose its 14 sigmas and, when every image has a
    `crowdIndex` (CrowdPose files do), `AP_easy`, `AP_medium`, `AP_hard` (`crowd_index_ap`)."""
    dt = load_res(gt, results)
    E = _evaluated(gt, dt, dataset)
    summary = io.StringIO()
    with contextlib.redirect_stdout(summary):
        E.summarize()
    stats = {k: float(v) for k, v in zip(STAT_NAMES, E.stats)}
    if dataset == "crowdpose" and gt.imgs and all("crowdIndex" in img for img in gt.imgs.values()):
        split = crowd_index_ap(gt, dt)
        stats.update(split)
        summary.write("".join(f" CrowdPose {k:<9} @[ IoU=0.50:0.95 | crowd index {CROWD_SPLITS[k][0]:.1f}-"
                              f"{CROWD_SPLITS[k][1]:.1f} | maxDets= 20 ] = {v:0.3f}\n" for k, v in split.items()))
    return stats, summary.getvalue()


# CrowdPose's image splits by crowd index: [low, high).
CROWD_SPLITS = {"AP_easy": (0.0, 0.2), "AP_medium": (0.2, 0.8), "AP_hard": (0.8, float("inf"))}


def crowd_index_ap(gt: COCO, dt: COCO) -> dict:
    """CrowdPose's AP on the images of each crowd-index split (easy < 0.2 <= medium < 0.8 <= hard),
    computed as its evaluator does: the mean of the precision table (all OKS thresholds and
    recall points) over that split's images, rounded to 4 decimals; -1 for an empty split."""
    out = {}
    for key, (low, high) in CROWD_SPLITS.items():
        ids = sorted(i for i, img in gt.imgs.items() if low <= img["crowdIndex"] < high)
        if not ids:
            out[key] = -1.0
            continue
        E = _evaluated(gt, dt, "crowdpose", ids)
        out[key] = round(float(np.mean(E.eval["precision"][:, :, :, 0, :])), 4)
    return out


def _evaluated(gt: COCO, dt: COCO, dataset: str, image_ids=None) -> COCOeval:
    E = COCOeval(gt, dt, "keypoints")
    E.params.kpt_oks_sigmas = np.array(DATASET_SKELETONS[dataset].sigmas)
    if image_ids is not None:
        E.params.imgIds = image_ids
    with contextlib.redirect_stdout(io.StringIO()):
        E.evaluate()
        E.accumulate()
    return E
