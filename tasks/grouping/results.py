"""Stage 5, persons -> COCO results entries; the ground truth of a subset of images."""
from __future__ import annotations

import numpy as np

from datasets.coco import quiet_coco


def coco_results(image_id: int, persons) -> list[dict]:
    """Persons of one image -> COCO results entries (category 1, keypoints in image pixels to
    1e-3, scores to 1e-5), rounded for all persons at once."""
    if not persons:
        return []
    kps = np.round(np.stack([k for k, _ in persons]).reshape(len(persons), -1), 3).tolist()  # (P, 3K)
    scores = np.round(np.array([s for _, s in persons], dtype=np.float64), 5).tolist()
    return [{"image_id": int(image_id), "category_id": 1, "keypoints": k, "score": s} for k, s in zip(kps, scores)]


def subset_gt(gt, image_ids):
    """A COCO object holding only `image_ids` (for evaluating a split)."""
    keep = set(image_ids)
    d = {"images": [gt.imgs[i] for i in sorted(keep)],
         "annotations": [a for a in gt.dataset["annotations"] if a["image_id"] in keep],
         "categories": gt.dataset["categories"]}
    return quiet_coco(d)
