"""Stage 5, persons -> COCO results entries; the ground truth of a subset of images."""
from __future__ import annotations

from datasets.coco import quiet_coco


def coco_results(image_id: int, persons) -> list[dict]:
    """Persons of one image -> COCO results entries (category 1, keypoints in image pixels)."""
    return [{"image_id": int(image_id), "category_id": 1,
             "keypoints": [round(float(v), 3) for v in kps.ravel()], "score": round(score, 5)}
            for kps, score in persons]


def subset_gt(gt, image_ids):
    """A COCO object holding only `image_ids` (for evaluating a split)."""
    keep = set(image_ids)
    d = {"images": [gt.imgs[i] for i in sorted(keep)],
         "annotations": [a for a in gt.dataset["annotations"] if a["image_id"] in keep],
         "categories": gt.dataset["categories"]}
    return quiet_coco(d)
