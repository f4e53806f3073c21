"""AP@OKS of keypoint results through pycocotools' `COCOeval(..., 'keypoints')`."""
from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from datasets.coco import DATASET_SKELETONS

STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


def load_res(gt: COCO, results: list[dict]) -> COCO:
    """pycocotools' `loadRes` for keypoint results, without its prints (results are copied)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return gt.loadRes(copy.deepcopy(results))


def oks_ap(gt: COCO, results: list[dict], dataset: str = "coco") -> tuple[dict, str]:
    """-> ({AP, AP50, AP75, APm, APl, AR, ...}, pycocotools' printed summary).

    COCO uses pycocotools' own 17 sigmas; CrowdPose its 14 sigmas."""
    dt = load_res(gt, results)
    E = COCOeval(gt, dt, "keypoints")
    E.params.kpt_oks_sigmas = np.array(DATASET_SKELETONS[dataset].sigmas)
    with contextlib.redirect_stdout(io.StringIO()):
        E.evaluate()
        E.accumulate()
    summary = io.StringIO()
    with contextlib.redirect_stdout(summary):
        E.summarize()
    return {k: float(v) for k, v in zip(STAT_NAMES, E.stats)}, summary.getvalue()


