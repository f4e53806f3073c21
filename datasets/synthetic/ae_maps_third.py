"""A third AE map generator, unlike both `ae_maps.synthesize_maps` (the training synthesiser) and
`ae_maps_second` (which settings were tuned against): used ONLY to test how the classifier does
on maps of a model it never saw. Nothing is trained or chosen on its maps.

What differs from the other two:
- geometry: heatmaps at a quarter of the image's resolution (its aspect kept, their size
  following the image's) and tag maps at an eighth (lower resolution than the heatmaps);
- peaks: widths that grow with the person's size (sigma = 6% of sqrt(area), 1-8 px), summed,
  not max-combined, so that the same joint of people standing close merges into one peak
  between them; heights scaled by a per-image calibration (0.35-1.0);
- tags: per image, an offset (-4 to 4) and a scale (0.4-2.5) of the tag unit; people's tags
  uniform in [-1, 1] times that scale (not on a ladder, not Gaussian); a per-person drift across
  the body (a gradient in the image plane) and per-joint noise; every tag pixel a blend of the
  people's tags by their peaks' weights over a constant background at the image's offset;
- confusions: a person's left and right joints of a pair swapped (p = 0.1 per pair), and a
  joint's peak also at the other end of one of its bones (p = 0.05, lower, the person's tag);
- misses: keypoints COCO labels as occluded (v = 1) missed with p = 0.35, visible ones p = 0.02;
- false positives: a few peaks near people (not uniform over the image) with tags drawn between
  two people's tags.
"""
from __future__ import annotations

import numpy as np

from datasets.ae_maps import AEMaps
from datasets.skeleton import Skeleton


def _splat(plane: np.ndarray, x: float, y: float, sigma: float, height: float) -> np.ndarray:
    """Add a Gaussian of `height` at (x, y) into `plane` (summed); -> its weights (H, W) in [0, 1]."""
    H, W = plane.shape
    g = np.exp(-((np.arange(W)[None] - x) ** 2 + (np.arange(H)[:, None] - y) ** 2) / (2 * sigma ** 2))
    plane += height * g
    return g


def synthesize_maps_third(width: int, height: int, annotations: list[dict], skeleton: Skeleton,
                          rng: np.random.Generator, stride: int = 4) -> AEMaps:
    """Render AE maps of one image from its COCO annotations with the third noise model."""
    K = skeleton.num_joints
    W, H = max(2, -(-width // stride)), max(2, -(-height // stride))
    w, h = max(1, -(-W // 2)), max(1, -(-H // 2))
    hm = np.zeros((K, H, W), np.float32)
    tag_sum = np.zeros((K, h, w), np.float64)
    tag_weight = np.zeros((K, h, w), np.float64)
    offset, unit = rng.uniform(-4, 4), rng.uniform(0.4, 2.5)
    calibration = rng.uniform(0.35, 1.0)
    mirror = skeleton.flip_permutation
    other_end = {b: a for a, b in skeleton.edges}
    people = [a for a in annotations if np.any(np.asarray(a["keypoints"]).reshape(K, 3)[:, 2] > 0)]
    tags = rng.uniform(-1, 1, size=len(people)) * unit + offset

    def write(k, x, y, sigma, peak, tag):
        _splat(hm[k], x, y, sigma, peak)
        g = _splat(np.zeros((h, w)), x * w / W, y * h / H, max(sigma * w / W, 0.7), 1.0)
        tag_sum[k] += g * tag
        tag_weight[k] += g

    for p, ann in enumerate(people):
        kps = np.asarray(ann["keypoints"], dtype=float).reshape(K, 3)
        xy = kps[:, :2] / stride
        sigma = float(np.clip(0.06 * np.sqrt(max(float(ann.get("area", 0.0)), 1.0)) / stride, 1.0, 8.0))
        for k in range(K):  # left/right confusions: the pair's positions swapped
            j = mirror[k]
            if k < j and kps[k, 2] > 0 and kps[j, 2] > 0 and rng.random() < 0.1:
                xy[[k, j]] = xy[[j, k]]
        drift = rng.normal(0, 0.15 * unit, size=2) / max(np.ptp(xy[kps[:, 2] > 0], axis=0).max(), 1.0)
        centre = xy[kps[:, 2] > 0].mean(axis=0)
        for k in range(K):
            if kps[k, 2] <= 0 or rng.random() < (0.35 if kps[k, 2] == 1 else 0.02):
                continue
            tag = tags[p] + float(drift @ (xy[k] - centre)) + rng.normal(0, 0.05 * unit)
            peak = calibration * rng.uniform(0.6, 1.0)
            write(k, *(xy[k] + rng.normal(0, 0.4, size=2)), sigma, peak, tag)
            j = other_end.get(k)
            if j is not None and kps[j, 2] > 0 and rng.random() < 0.05:  # this joint also seen at a bone's other end
                write(k, *xy[j], sigma, peak * rng.uniform(0.3, 0.6), tag)
    for _ in range(rng.poisson(1.5 * max(len(people), 1))):  # false positives near people
        if not people:
            break
        p, q = rng.integers(len(people), size=2)
        kps = np.asarray(people[p]["keypoints"], dtype=float).reshape(K, 3)
        seen = np.nonzero(kps[:, 2] > 0)[0]
        x, y = kps[rng.choice(seen), :2] / stride + rng.normal(0, 6, size=2)
        k = int(rng.integers(K))
        tag = tags[p] + rng.uniform(0, 1) * (tags[q] - tags[p])
        write(k, float(np.clip(x, 0, W - 1)), float(np.clip(y, 0, H - 1)), rng.uniform(1, 3),
              calibration * rng.uniform(0.15, 0.5), tag)
    np.clip(hm, 0, 1, out=hm)
    background = offset + rng.normal(0, 0.05 * unit, size=(K, h, w))
    tag_map = (tag_sum + background * 0.05) / (tag_weight + 0.05)
    return AEMaps(hm, tag_map.astype(np.float32)[..., None], np.array([stride, stride], np.float64), np.zeros(2))
