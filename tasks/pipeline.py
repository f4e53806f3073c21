"""Multi-person 3D from AE maps: the grouping stages give each image's persons (COCO results),
each person is converted to the lifter's Human3.6M joints (`datasets.coco_to_h36m`) and lifted.
The image size a lifter's screen normalisation needs is the maps' extent in image pixels."""
from __future__ import annotations

import numpy as np

from datasets.keypoints_2d import Persons2D, to_persons


def image_size_of_maps(extent: list[float]) -> tuple[float, float]:
    """`heatmap_background`'s extent (left, right, bottom, top) -> (width, height) in pixels."""
    left, right, bottom, top = extent
    return float(right - left), float(bottom - top)


def results_persons(results: list[dict], sizes: dict, dataset: str, skeleton, min_score: float = 0.1) -> Persons2D:
    """COCO results of any images (`sizes`: image id -> (width, height)) -> the persons to lift
    (`Persons2D.source`: each one's index in `results`), in the lifter's Human3.6M joints."""
    K = len(results[0]["keypoints"]) // 3 if results else 0
    kps = np.array([r["keypoints"] for r in results], dtype=np.float64).reshape(len(results), K, 3)
    return to_persons([r["image_id"] for r in results], kps, [r["score"] for r in results],
                      lambda n, image_id: sizes[image_id], dataset, skeleton.num_joints, min_score)

