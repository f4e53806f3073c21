"""Stage 5, persons -> COCO results entries; the ground truth of a subset of images."""
from __future__ import annotations

import numpy as np

from datasets.coco import quiet_coco


FRAGMENT_BELOW = 5  # a decoded "person" with fewer keypoints is a fragment (debris, not a person)


def is_fragment(keypoints) -> bool:
    """One definition everywhere (counts, pictures): fewer than `FRAGMENT_BELOW` keypoints
    present (v > 0) in a COCO results entry's flat `[x, y, v] * K` list or a (K, 3) array."""
    k = np.asarray(keypoints, dtype=float).reshape(-1, 3)
    return int((k[:, 2] > 0).sum()) < FRAGMENT_BELOW


def count_persons(results: list[dict]) -> tuple[int, int]:
    """COCO results entries -> (persons, fragments) (`is_fragment`)."""
    fragments = sum(is_fragment(r["keypoints"]) for r in results)
    return len(results) - fragments, fragments


def describe_counts(results: list[dict]) -> str:
    persons, fragments = count_persons(results)
    return (f"{persons} person{'s' if persons != 1 else ''} + {fragments} fragment{'s' if fragments != 1 else ''} "
            f"(fewer than {FRAGMENT_BELOW} keypoints)")


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
