"""A second AE map generator, with a noise model unlike `ae_maps.synthesize_maps`, for measuring
how a classifier does on maps of a generator it was not trained on (the defaults never train on
it; `--synth-generators project,second` can).

What differs from the project's synthesiser:
- resolution: heatmaps and tags at one resolution, the image's aspect kept (long side 160 px);
- peaks: anisotropic Gaussians, heights from Beta(5, 2), a faint noise floor everywhere;
- tags: person tags on an evenly spaced ladder (spacing 0.8-1.6 tag units, shuffled, jittered),
  not drawn independently, each person's tag drifting along its body and per keypoint; written
  as a Gaussian-weighted blend over a smooth random background field (not a disk over white
  noise);
- misses: keypoints inside the box of a person drawn later (in front) missed with p = 0.3, others
  with p = 0.03;
- false positives: left/right "ghosts" (a keypoint's peak also at the mirrored joint's place,
  with the person's tag, p = 0.1 each) and a few random peaks with random tags.
"""
from __future__ import annotations

import numpy as np

from datasets.ae_maps import AEMaps
from datasets.skeleton import Skeleton


def _blob(hm: np.ndarray, x: float, y: float, sx: float, sy: float, peak: float) -> np.ndarray:
    """Add an axis-aligned Gaussian (max-combined) into hm; -> its weights (H, W)."""
    H, W = hm.shape
    xs, ys = np.arange(W), np.arange(H)
    g = peak * np.exp(-(xs[None] - x) ** 2 / (2 * sx ** 2) - (ys[:, None] - y) ** 2 / (2 * sy ** 2))
    np.maximum(hm, g, out=hm)
    return g / max(peak, 1e-6)


def _smooth_field(shape: tuple[int, int], std: float, rng) -> np.ndarray:
    """A smooth random field: coarse noise (8 x 8) bilinearly upsampled."""
    H, W = shape
    coarse = rng.normal(0, std, size=(8, 8))
    yi, xi = np.linspace(0, 7, H), np.linspace(0, 7, W)
    y0, x0 = np.floor(yi).astype(int).clip(0, 6), np.floor(xi).astype(int).clip(0, 6)
    fy, fx = (yi - y0)[:, None], (xi - x0)[None]
    c = coarse
    return ((1 - fy) * (1 - fx) * c[y0][:, x0] + (1 - fy) * fx * c[y0][:, x0 + 1]
            + fy * (1 - fx) * c[y0 + 1][:, x0] + fy * fx * c[y0 + 1][:, x0 + 1])


def synthesize_maps_second(width: int, height: int, annotations: list[dict], skeleton: Skeleton,
                           rng: np.random.Generator, long_side: int = 160, scale: float = 1.0) -> AEMaps:
    """Render AE maps of one image from its COCO annotations with the second noise model; `scale`:
    the model's tag unit (1: the unit the AE decoder's threshold of 1 assumes)."""
    K = skeleton.num_joints
    f = long_side / max(width, height)
    W, H = max(2, int(round(width * f))), max(2, int(round(height * f)))
    factor = np.array([width / W, height / H])
    hm = np.abs(rng.normal(0, 0.02, size=(K, H, W))).astype(np.float32)  # noise floor
    tags = np.stack([_smooth_field((H, W), 0.5 * scale, rng) for _ in range(K)]).astype(np.float32)
    weight = np.zeros((K, H, W), np.float32)  # how much of each tag pixel people have written
    people = [a for a in annotations if np.any(np.asarray(a["keypoints"]).reshape(K, 3)[:, 2] > 0)]
    spacing = rng.uniform(0.8, 1.6)  # AE training pushes the people's tags about a unit apart
    base = (rng.permutation(len(people)) - (len(people) - 1) / 2) * spacing * scale
    base = base + rng.normal(0, 0.15 * scale, size=len(people))
    mirror = skeleton.flip_permutation
    boxes = [np.asarray(a.get("bbox", [0, 0, 0, 0]), dtype=float) for a in people]
    for p, ann in enumerate(people):
        kps = np.asarray(ann["keypoints"], dtype=float).reshape(K, 3)
        size = np.sqrt(max(float(ann.get("area", 0.0)), 1.0)) * f
        sigma = float(np.clip(2.0 * size / 50.0, 1.0, 4.0))
        vis = kps[:, 2] > 0
        yc, ext = kps[vis, 1].mean() * f, max(np.ptp(kps[vis, 1]) * f, 1.0)
        for k in range(K):
            if not vis[k]:
                continue
            x, y = kps[k, 0], kps[k, 1]
            front = any(b[0] <= x <= b[0] + b[2] and b[1] <= y <= b[1] + b[3] for b in boxes[p + 1:])
            if rng.random() < (0.3 if front else 0.03):
                continue
            hx, hy = x / factor[0] + rng.normal(0, 0.8), y / factor[1] + rng.normal(0, 0.8)
            sx, sy = sigma * rng.uniform(0.7, 1.4), sigma * rng.uniform(0.7, 1.4)
            tag = base[p] + scale * (0.1 * rng.normal() + 0.05 * (hy - yc) / ext)
            g = _blob(hm[k], hx, hy, sx, sy, float(rng.beta(5, 2)))
            tags[k] = tags[k] * (1 - g) + tag * g  # blended over the background field
            weight[k] = np.maximum(weight[k], g)
            j = mirror[k]
            if j != k and rng.random() < 0.1:  # a left/right ghost with this person's tag
                g = _blob(hm[j], hx, hy, sx, sy, float(rng.uniform(0.2, 0.5)))
                tags[j] = tags[j] * (1 - g) + tag * g
    for k in range(K):
        for _ in range(rng.poisson(0.5)):
            x, y = rng.uniform(0, W - 1), rng.uniform(0, H - 1)
            g = _blob(hm[k], x, y, rng.uniform(1, 3), rng.uniform(1, 3), float(rng.uniform(0.15, 0.5)))
            tags[k] = tags[k] * (1 - g) + rng.normal(0, scale) * g
    return AEMaps(hm, tags[..., None], factor, np.zeros(2))
