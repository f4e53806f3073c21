"""A fourth AE map generator, the transfer VALIDATION generator: settings of the training
synthesiser's randomisation are chosen on its maps (with the second generator's), so that the
third generator (`ae_maps_third`) stays a generator nothing was trained or chosen on (the defaults
never train on it; `--synth-generators project,fourth` can, and then it validates nothing). Written
before any of those choices, from what bottom-up models such as HigherHRNet produce, and unlike
the other three:

- geometry: heatmaps at half the image's resolution (long side at most 320 px), tag maps at half
  the heatmaps' (HigherHRNet's two output resolutions);
- peaks: one Gaussian width for the whole image (a model's training target, not the person's
  size), max-combined; heights = per-image calibration (0.4-1.0) x a per-type confidence drawn
  per image (0.5-1.0) x a factor that falls for small people; position noise that grows with
  the person's size;
- misses: more likely for small people (p = 0.02 + 0.4 exp(-size / 40 px));
- tags: people's tags Normal(0, spread), spread 0.5-3 per image; a per-type bias shared by the
  image's people (tags differ systematically by joint type), per-joint noise; each tag pixel
  takes the tag of the strongest peak within 3 px (winner takes all), elsewhere a smooth zero-mean
  background; the whole map then box-blurred (3 x 3), so that nearby people's tags bleed;
- false positives: "background people", partial skeletons (3-7 joints of a person of the image,
  shrunk and moved elsewhere) with low peaks and their own tag, as models fire on posters,
  reflections and crowds; no isolated random peaks.
"""
from __future__ import annotations

import numpy as np

from datasets.ae_maps import AEMaps
from datasets.synthetic.ae_maps import _box_blur, _gaussian
from datasets.skeleton import Skeleton


def _blur(a: np.ndarray) -> np.ndarray:
    """(K, h, w) maps, 3 x 3 box-blurred (the synthesiser's blur of (K, h, w, D) tags)."""
    return _box_blur(a[..., None])[..., 0]


def synthesize_maps_fourth(width: int, height: int, annotations: list[dict], skeleton: Skeleton,
                           rng: np.random.Generator, max_side: int = 320) -> AEMaps:
    """Render AE maps of one image from its COCO annotations with the fourth noise model."""
    K = skeleton.num_joints
    f = min(0.5, max_side / max(width, height))
    W, H = max(2, int(round(width * f))), max(2, int(round(height * f)))
    w, h = max(1, W // 2), max(1, H // 2)
    factor = np.array([width / W, height / H])
    hm = np.zeros((K, H, W), np.float32)
    owner = np.zeros((K, h, w))  # strength of the peak whose tag each tag pixel holds
    tags = np.zeros((K, h, w))
    sigma = rng.uniform(1.5, 2.5)
    calibration, confidence = rng.uniform(0.4, 1.0), rng.uniform(0.5, 1.0, size=K)
    spread = rng.uniform(0.5, 3.0)
    type_bias = rng.normal(0, 0.15 * spread, size=K)
    people = [a for a in annotations if np.any(np.asarray(a["keypoints"]).reshape(K, 3)[:, 2] > 0)]

    def paint(k, x, y, peak, tag):
        _gaussian(hm[k], x, y, sigma, peak)
        tx, ty = x * w / W, y * h / H
        for yy in range(max(0, int(ty) - 3), min(h, int(ty) + 4)):
            for xx in range(max(0, int(tx) - 3), min(w, int(tx) + 4)):
                if (xx - tx) ** 2 + (yy - ty) ** 2 <= 9 and peak > owner[k, yy, xx]:
                    owner[k, yy, xx], tags[k, yy, xx] = peak, tag

    def person(kps, size, tag, strength, keep):
        for k in np.nonzero(keep)[0]:
            x, y = kps[k, :2] * f + rng.normal(0, 0.03 * size * f, size=2)
            paint(k, x, y, strength * calibration * confidence[k] * rng.uniform(0.7, 1.0),
                  tag + type_bias[k] + rng.normal(0, 0.08 * spread))

    for ann in people:
        kps = np.asarray(ann["keypoints"], dtype=float).reshape(K, 3)
        size = np.sqrt(max(float(ann.get("area", 0.0)), 1.0))
        keep = (kps[:, 2] > 0) & (rng.random(K) >= 0.02 + 0.4 * np.exp(-size / 40.0))
        person(kps, size, rng.normal(0, spread), 1.0 - 0.5 * np.exp(-size / 60.0), keep)
    for _ in range(rng.poisson(0.7) if people else 0):  # background people: partial, small, faint
        src = people[rng.integers(len(people))]
        kps = np.asarray(src["keypoints"], dtype=float).reshape(K, 3).copy()
        seen = np.nonzero(kps[:, 2] > 0)[0]
        shrink = rng.uniform(0.3, 0.8)
        centre = kps[seen, :2].mean(axis=0)
        kps[:, :2] = (kps[:, :2] - centre) * shrink + rng.uniform([0, 0], [width, height])
        keep = np.zeros(K, bool)
        keep[rng.choice(seen, size=min(len(seen), int(rng.integers(3, 8))), replace=False)] = True
        keep &= (kps[:, 0] >= 0) & (kps[:, 0] < width) & (kps[:, 1] >= 0) & (kps[:, 1] < height)
        size = np.sqrt(max(float(src.get("area", 0.0)), 1.0)) * shrink
        person(kps, size, rng.normal(0, spread), rng.uniform(0.25, 0.6), keep)
    background = _blur(_blur(rng.normal(0, 0.3 * spread, size=(K, h, w))))
    tag_map = _blur(np.where(owner > 0, tags, background))
    return AEMaps(np.clip(hm, 0, 1), tag_map.astype(np.float32)[..., None], factor, np.zeros(2))
