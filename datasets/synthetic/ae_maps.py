"""The project's AE map synthesiser: heatmaps and tag maps rendered from COCO-format annotations
(`synthesize_maps`), with every knob in `SynthConfig`, randomised draws (`randomized`) and real
AE models' artifacts (`with_artifacts`, `EXTRAS`). For training and tests; real maps are read by
`datasets.ae_maps`."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields

import numpy as np

from core.errors import InputError
from datasets.ae_maps import AEMaps


@dataclass(frozen=True)
class SynthConfig:
    """Every knob of the AE map synthesiser."""

    heatmap_size: tuple[int, int] = (128, 128)  # (H, W)
    tag_size: tuple[int, int] = (64, 64)  # (h, w)
    tag_dim: int = 1
    sigma: float = 2.0  # Gaussian sigma in heatmap pixels for a person of `sigma_ref_size`
    sigma_ref_size: float = 200.0  # image pixels (sqrt of the person's area)
    sigma_range: tuple[float, float] = (1.0, 3.0)
    tag_spread: float = 2.0  # std of per-person tag values
    tag_noise: float = 0.1  # per-pixel tag noise
    tag_radius: int = 2  # tag-map pixels written around each keypoint
    miss_prob: float = 0.05  # a labelled keypoint gets no peak
    jitter: float = 0.5  # std of keypoint position noise, heatmap pixels
    peak_range: tuple[float, float] = (0.6, 1.0)  # peak heights
    false_positives: float = 1.0  # mean false-positive blobs per keypoint type and image
    fp_peak_range: tuple[float, float] = (0.15, 0.6)
    background_scale: float = 1.0  # std of the tags away from people, in units of tag_noise
    # What real AE models also do (all off by default; `with_artifacts` draws them for training):
    ghost_prob: float = 0.0  # a keypoint's peak also in its left/right twin's map, with the person's tag
    tag_drift: float = 0.0  # std of a person's tag gradient from head to feet (tag units over the body)
    occluded_miss_prob: float = 0.0  # a keypoint inside the box of a person drawn later (in front) is missed
    calibration: float = 1.0  # every peak height times this (models' heatmaps peak at different heights)
    swap_prob: float = 0.0  # a person's left and right joints of a pair at each other's places
    merge_peaks: bool = False  # peaks summed (clipped at 1), not max-combined: close people's peaks merge
    tag_blur: int = 0  # 3 x 3 box blurs of the finished tag map (nearby people's tags bleed)
    fp_near: float = 0.0  # mean false peaks near each person (any type, a tag between two people's)
    fp_people: float = 0.0  # mean "background people" per image: 3-7 faint joints of a shrunk, moved person

    def __post_init__(self):
        def bad(name, why):
            value = getattr(self, name)
            text = ",".join(map(str, value)) if isinstance(value, tuple) else value
            raise InputError(f"{{synth.{name}}}={text}: {why}")
        for f in fields(self):
            value = getattr(self, f.name)
            if not all(math.isfinite(v) for v in (value if isinstance(value, tuple) else (value,))):
                bad(f.name, "must be finite")
        for name in ("heatmap_size", "tag_size"):
            if min(getattr(self, name)) < 2:
                bad(name, "each side must be >= 2 pixels")
        if self.tag_dim < 1:
            bad("tag_dim", "must be >= 1")
        for name in ("sigma", "sigma_ref_size"):
            if not getattr(self, name) > 0:
                bad(name, "must be positive")
        for name in ("tag_spread", "tag_noise", "tag_radius", "jitter", "false_positives", "background_scale",
                     "tag_drift", "fp_near", "fp_people", "tag_blur"):
            if getattr(self, name) < 0:
                bad(name, "must be >= 0")
        for name in ("miss_prob", "ghost_prob", "occluded_miss_prob", "swap_prob"):
            if not 0 <= getattr(self, name) <= 1:
                bad(name, "must be in [0, 1]")
        if not 0 < self.calibration <= 1:
            bad("calibration", "must be in (0, 1]")
        for name in ("sigma_range", "peak_range", "fp_peak_range"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                bad(name, "expected LOW,HIGH with 0 < LOW <= HIGH")

    @classmethod
    def clean(cls, **kw) -> "SynthConfig":
        """No noise at all: every labelled keypoint a unit peak at its exact position."""
        return cls(tag_noise=0.0, miss_prob=0.0, jitter=0.0, peak_range=(1.0, 1.0),
                   false_positives=0.0, **kw)


def randomized(base: SynthConfig, rng: np.random.Generator) -> SynthConfig:
    """A synthesiser drawn for one image around `base`, so that a classifier trained on its maps
    does not learn one model's maps: peak widths x0.6-1.6, tag spread 0.3-4 (the tag scale of
    AE models differs widely), pixel tag noise 1-15% of it and 1-10x that away from people,
    0-3 false positives per type, 0-15% misses, 0-1.2 px jitter, peak heights from 0.3-0.8 up
    to 1, heatmaps of 96-192 px and tag maps of the same or half resolution. The tag dimension
    and the person-size reference stay `base`'s."""
    side = int(rng.choice([96, 128, 160, 192]))
    tag_side = side if rng.random() < 0.5 else side // 2
    spread = float(rng.uniform(0.3, 4.0))
    return dataclasses.replace(
        base, heatmap_size=(side, side), tag_size=(tag_side, tag_side), sigma=base.sigma * float(rng.uniform(0.6, 1.6)),
        tag_spread=spread, tag_noise=spread * float(rng.uniform(0.01, 0.15)),
        background_scale=float(rng.uniform(1.0, 10.0)), miss_prob=float(rng.uniform(0.0, 0.15)),
        jitter=float(rng.uniform(0.0, 1.2)), peak_range=(float(rng.uniform(0.3, 0.8)), 1.0),
        false_positives=float(rng.uniform(0.0, 3.0)))


# More of real models' ways, drawn per training image when named (`GroupingConfig.synth_extras`).
EXTRAS = ("calibration", "swaps", "merging", "blur", "fp_near", "fp_people")


def with_artifacts(base: SynthConfig, rng: np.random.Generator, extras: tuple[str, ...] = ()) -> SynthConfig:
    """`base` with the artifacts of real AE models drawn for one training image: left/right ghost
    peaks (p 0-0.15 per keypoint), a tag drift across the body (std 0-0.5 of the tag spread), and
    keypoints occluded by a person in front missed (p 0-0.5); and those of `extras` named:
    calibration (peaks x 0.35-1), swaps (p 0-0.15 per left/right pair), merging (summed peaks,
    half the images), blur (0-2 box blurs of the tags), fp_near (0-1.5 false peaks per person),
    fp_people (0-1.5 background people per image)."""
    cfg = dataclasses.replace(base, ghost_prob=float(rng.uniform(0, 0.15)),
                              tag_drift=float(rng.uniform(0, 0.5)) * base.tag_spread,
                              occluded_miss_prob=float(rng.uniform(0, 0.5)))
    draw = {"calibration": lambda: {"calibration": float(rng.uniform(0.35, 1.0))},
            "swaps": lambda: {"swap_prob": float(rng.uniform(0, 0.15))},
            "merging": lambda: {"merge_peaks": bool(rng.random() < 0.5)},
            "blur": lambda: {"tag_blur": int(rng.integers(0, 3))},
            "fp_near": lambda: {"fp_near": float(rng.uniform(0, 1.5))},
            "fp_people": lambda: {"fp_people": float(rng.uniform(0, 1.5))}}
    for name in EXTRAS:  # in this order whatever the caller's, so that a set draws the same
        if name in extras:
            cfg = dataclasses.replace(cfg, **draw[name]())
    return cfg


def _gaussian(hm: np.ndarray, x: float, y: float, sigma: float, peak: float, add: bool = False):
    H, W = hm.shape
    r = int(np.ceil(3 * sigma))
    x0, x1 = max(0, int(np.floor(x)) - r), min(W, int(np.floor(x)) + r + 2)
    y0, y1 = max(0, int(np.floor(y)) - r), min(H, int(np.floor(y)) + r + 2)
    if x0 >= x1 or y0 >= y1:
        return
    xs, ys = np.arange(x0, x1), np.arange(y0, y1)
    g = peak * np.exp(-((xs[None] - x) ** 2 + (ys[:, None] - y) ** 2) / (2 * sigma ** 2))
    (np.add if add else np.maximum)(hm[y0:y1, x0:x1], g, out=hm[y0:y1, x0:x1])


def synthesize_maps(width: int, height: int, annotations: list[dict], num_keypoints: int,
                    cfg: SynthConfig, rng: np.random.Generator, mirror=None) -> AEMaps:
    """Render AE maps of one image from its COCO annotations (keypoints with v > 0). `mirror`:
    each keypoint type's left/right twin (`Skeleton.flip_permutation`), for ghost peaks."""
    H, W = cfg.heatmap_size
    h, w = cfg.tag_size
    K, D = num_keypoints, cfg.tag_dim
    factor = np.array([width / W, height / H], dtype=np.float64)
    hm = np.zeros((K, H, W), dtype=np.float32)
    tags = (rng.normal(0, cfg.tag_noise * cfg.background_scale, size=(K, h, w, D)) if cfg.tag_noise > 0
            else np.zeros((K, h, w, D))).astype(np.float32)
    tag_scale = np.array([w / W, h / H])
    written = np.full((K, h, w), np.inf)  # distance of the keypoint that owns each tag pixel
    boxes = [np.asarray(a.get("bbox", [0, 0, 0, 0]), dtype=float) for a in annotations]
    ghosts = cfg.ghost_prob > 0 and mirror is not None
    add, peak_of = cfg.merge_peaks, (lambda low_high: rng.uniform(*low_high) * cfg.calibration)
    person_tags = []

    def write_tag(k, tx, ty, tag):
        R = cfg.tag_radius
        for yy in range(max(0, int(round(ty)) - R), min(h, int(round(ty)) + R + 1)):
            for xx in range(max(0, int(round(tx)) - R), min(w, int(round(tx)) + R + 1)):
                d = (xx - tx) ** 2 + (yy - ty) ** 2
                if d <= R * R + 0.5 and d < written[k, yy, xx]:  # nearest keypoint wins
                    written[k, yy, xx] = d
                    noise = rng.normal(0, cfg.tag_noise, size=D) if cfg.tag_noise > 0 else 0.0
                    tags[k, yy, xx] = tag + noise

    for p, ann in enumerate(annotations):
        kps = np.asarray(ann["keypoints"], dtype=np.float64).reshape(K, 3)
        size = np.sqrt(max(float(ann.get("area", 0.0)), 1.0))
        sigma = float(np.clip(cfg.sigma * size / cfg.sigma_ref_size, *cfg.sigma_range))
        tag = rng.normal(0, cfg.tag_spread, size=D)
        person_tags.append(tag)
        if cfg.swap_prob > 0 and mirror is not None:
            kps = kps.copy()
            for k in range(K):
                j = mirror[k]
                if k < j and kps[k, 2] > 0 and kps[j, 2] > 0 and rng.random() < cfg.swap_prob:
                    kps[[k, j], :2] = kps[[j, k], :2]
        if cfg.tag_drift > 0 and np.any(kps[:, 2] > 0):
            drift = rng.normal(0, cfg.tag_drift, size=D)
            ys = kps[kps[:, 2] > 0, 1]
            top, extent = ys.min(), max(float(np.ptp(ys)), 1.0)
        for k in range(K):
            if kps[k, 2] <= 0 or (cfg.miss_prob > 0 and rng.random() < cfg.miss_prob):
                continue
            if cfg.occluded_miss_prob > 0 and any(b[0] <= kps[k, 0] <= b[0] + b[2] and b[1] <= kps[k, 1] <= b[1] + b[3]
                                                  for b in boxes[p + 1:]) and rng.random() < cfg.occluded_miss_prob:
                continue
            x, y = kps[k, :2] / factor
            if cfg.jitter > 0:
                x, y = np.array([x, y]) + rng.normal(0, cfg.jitter, size=2)
            peak = peak_of(cfg.peak_range)
            _gaussian(hm[k], x, y, sigma, peak, add)
            own = tag + drift * (kps[k, 1] - top) / extent if cfg.tag_drift > 0 else tag
            write_tag(k, x * tag_scale[0], y * tag_scale[1], own)
            if ghosts and mirror[k] != k and rng.random() < cfg.ghost_prob:
                _gaussian(hm[mirror[k]], x, y, sigma, peak * rng.uniform(0.2, 0.6), add)
                write_tag(mirror[k], x * tag_scale[0], y * tag_scale[1], own)
    if cfg.false_positives > 0:
        for k in range(K):
            for _ in range(rng.poisson(cfg.false_positives)):
                x, y = rng.uniform(0, W - 1), rng.uniform(0, H - 1)
                _gaussian(hm[k], x, y, rng.uniform(*cfg.sigma_range), peak_of(cfg.fp_peak_range), add)
                tags[k, min(h - 1, int(y * tag_scale[1])), min(w - 1, int(x * tag_scale[0]))] = \
                    rng.normal(0, cfg.tag_spread, size=D)
    extra = cfg.fp_near > 0 or cfg.fp_people > 0  # (the people parsed again only for them)
    people = [np.asarray(a["keypoints"], dtype=np.float64).reshape(K, 3) for a in annotations] if extra else []
    seen = [p for p in range(len(people)) if np.any(people[p][:, 2] > 0)]
    for _ in range(rng.poisson(cfg.fp_near * len(seen)) if cfg.fp_near > 0 and seen else 0):
        p, q = rng.choice(seen, size=2)  # near person p, with a tag between p's and q's
        kps = people[p][people[p][:, 2] > 0]
        x, y = kps[rng.integers(len(kps)), :2] / factor + rng.normal(0, 4, size=2)
        x, y = float(np.clip(x, 0, W - 1)), float(np.clip(y, 0, H - 1))
        k = int(rng.integers(K))
        _gaussian(hm[k], x, y, rng.uniform(*cfg.sigma_range), peak_of(cfg.fp_peak_range), add)
        write_tag(k, x * tag_scale[0], y * tag_scale[1],
                  person_tags[p] + rng.uniform(0, 1) * (person_tags[q] - person_tags[p]))
    for _ in range(rng.poisson(cfg.fp_people) if cfg.fp_people > 0 and seen else 0):
        kps = people[rng.choice(seen)]
        vis = np.nonzero(kps[:, 2] > 0)[0]
        shrink = rng.uniform(0.3, 0.8)
        centre = kps[vis, :2].mean(axis=0) / factor
        shift = rng.uniform([0, 0], [W - 1, H - 1])
        tag, sigma = rng.normal(0, cfg.tag_spread, size=D), rng.uniform(*cfg.sigma_range)
        for k in rng.choice(vis, size=min(len(vis), int(rng.integers(3, 8))), replace=False):
            x, y = (kps[k, :2] / factor - centre) * shrink + shift
            if 0 <= x < W and 0 <= y < H:
                _gaussian(hm[k], x, y, sigma, peak_of(cfg.fp_peak_range), add)
                write_tag(k, x * tag_scale[0], y * tag_scale[1], tag)
    if add:
        np.clip(hm, 0, 1, out=hm)
    for _ in range(cfg.tag_blur):
        tags = _box_blur(tags)
    return AEMaps(hm, tags, factor, np.zeros(2))


def _box_blur(tags: np.ndarray) -> np.ndarray:
    """3 x 3 mean of (K, h, w, D) tag maps over the pixels, edges replicated."""
    h, w = tags.shape[1:3]
    p = np.pad(tags, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="edge")
    return (sum(p[:, i:i + h, j:j + w] for i in range(3) for j in range(3)) / 9.0).astype(tags.dtype)
