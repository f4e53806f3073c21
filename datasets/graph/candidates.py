"""Stage 1, maps -> keypoint candidates: max-pool NMS on each heatmap, a score threshold, top-k
per keypoint type, sub-pixel refinement (a parabola through the log of the peak and its
neighbours, exact for Gaussian peaks), and the tag vector sampled bilinearly at each candidate
in the tag map's own resolution. NumPy on the pixels above the threshold (per-call overheads
of a few microseconds, where torch's small operations cost 5-10: docs/speed.md).

Shapes: K keypoint types, H x W heatmaps, h x w tag maps, D tag dimensions, M candidates.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from datasets.ae_maps import AEMaps
from datasets.graph.config import GraphConfig


@dataclass
class Candidates:
    """The keypoint candidates of one image, sorted by type, then by descending score."""

    pos: Tensor  # (M, 2) heatmap pixels (x, y)
    pos_img: Tensor  # (M, 2) image pixels
    jtype: Tensor  # (M,) keypoint type
    score: Tensor  # (M,) heatmap value at the peak
    tag: Tensor  # (M, D) tag vector
    heatmap_size: tuple[int, int]  # (H, W)
    factor: Tensor  # (1, 2) image pixels per heatmap pixel
    offset: Tensor  # (1, 2) image position of heatmap pixel (0, 0)

    def __len__(self) -> int:
        return self.pos.size(0)


def extract_candidates(maps: AEMaps, cfg: GraphConfig) -> Candidates:
    """One image's maps -> its candidates."""
    H, W = maps.heatmaps.shape[1:]
    pos, jtype, score = find_candidates(maps.heatmaps, cfg)
    tag = sample_tags(maps.tags, jtype, pos, (H, W))
    factor = np.asarray(maps.factor, dtype=np.float32).reshape(1, 2)
    offset = np.asarray(maps.offset, dtype=np.float32).reshape(1, 2)
    t = torch.from_numpy
    return Candidates(t(pos), t(pos * factor + offset), t(jtype), t(score), t(tag), (H, W), t(factor), t(offset))


# Neighbours before a pixel in scan order (left, up-left, up, up-right): a peak on a plateau of
# equal peaks is kept only where none of these is an equal peak, so once.
_EARLIER = np.array([(0, -1), (-1, -1), (-1, 0), (-1, 1)])


@lru_cache(maxsize=8)
def _window(kernel: int) -> np.ndarray:
    """(O, 2) offsets (dy, dx) of a kernel x kernel window around a pixel, the pixel left out.
    Cached; do not modify the result."""
    r = np.arange(-(kernel // 2), kernel // 2 + 1)
    dy, dx = (a.ravel() for a in np.meshgrid(r, r, indexing="ij"))
    centre = (dy == 0) & (dx == 0)
    return np.stack([dy[~centre], dx[~centre]], axis=1)


def _neighbours(flat_hm: np.ndarray, shape: tuple[int, int, int], idx: np.ndarray,
                offsets: np.ndarray) -> np.ndarray:
    """Map pixels `idx` (flat indices into (K, H, W)) -> the value (O, P) of each one's neighbour
    at each offset (dy, dx), -inf outside the map (so no comparison with a map value holds there)."""
    K, H, W = shape
    plane, x = np.divmod(idx, W)
    y = plane % H
    ny, nx = y + offsets[:, :1], x + offsets[:, 1:]  # (O, P)
    inside = (ny >= 0) & (ny < H) & (nx >= 0) & (nx < W)
    nidx = np.where(inside, idx + offsets[:, :1] * W + offsets[:, 1:], 0)
    return np.where(inside, flat_hm[nidx], -np.inf)


def find_candidates(heatmaps, cfg: GraphConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K, H, W) heatmaps (array or CPU tensor) -> positions (M, 2) float32 in heatmap pixels
    (x, y), types (M,) int64, scores (M,) float32; sorted by type, then by descending score.

    A peak is a pixel above `cfg.threshold` that no pixel of its `cfg.nms_kernel` window
    exceeds (max-pool NMS, the map's border padded with -inf). Work runs on the list of pixels
    above the threshold only (a few percent of the map): their window neighbours are gathered
    once, and the plateau rule, the top-k per type and the sub-pixel refinement read the
    peaks' neighbours from that gather."""
    hm = np.ascontiguousarray(heatmaps, dtype=np.float32)
    K, H, W = hm.shape
    flat = hm.reshape(-1)
    idx = np.flatnonzero(flat > cfg.threshold)  # scan order: type, y, x
    value = flat[idx]
    kernel = max(cfg.nms_kernel, 3)  # a kernel of 1 (no NMS) still needs the 3 x 3 neighbours
    around = _neighbours(flat, hm.shape, idx, _window(kernel))  # (O, P), -inf outside the map
    if cfg.nms_kernel > 1:
        peak = (around <= value).all(0)
        idx, value, around = idx[peak], value[peak], around[:, peak]
    rows = _rows(kernel)
    # Plateau rule: the earlier neighbours' flat indices (wrong outside the map, where the value
    # -inf never equals a peak's); idx is sorted, so searchsorted tells whether one is a peak.
    nidx = idx + (_EARLIER[:, :1] * W + _EARLIER[:, 1:])
    at = np.minimum(np.searchsorted(idx, nidx), max(idx.size - 1, 0))
    equal = around[rows["earlier"]] == value
    first = ~(equal & (idx[at] == nidx)).any(0) if idx.size else np.ones(0, dtype=bool)
    jtype = idx // (H * W)
    keep = np.flatnonzero(first)
    keep = keep[np.lexsort((-value[keep], jtype[keep]))]  # by type, then by descending score (ties: scan order)
    counts = np.bincount(jtype[keep], minlength=K)
    rank = np.arange(keep.size) - (np.cumsum(counts) - counts)[jtype[keep]]
    keep = keep[rank < cfg.top_k]
    idx, value = idx[keep], value[keep]
    y, x = np.divmod(idx % (H * W), W)
    offset = _subpixel_offset(around[rows["axes"]][:, keep], value)
    pos = np.stack([x, y], axis=1).astype(np.float32) + offset
    return pos, jtype[keep].astype(np.int64), value


# The 3 x 3 neighbours the sub-pixel refinement reads: left, right (x), up, down (y).
_AXES = np.array([(0, -1), (0, 1), (-1, 0), (1, 0)])


@lru_cache(maxsize=8)
def _rows(kernel: int) -> dict:
    """Rows of `_window(kernel)` holding the `_EARLIER` and the `_AXES` offsets."""
    offsets = _window(kernel).tolist()
    return {"earlier": [offsets.index(o) for o in _EARLIER.tolist()],
            "axes": [offsets.index(o) for o in _AXES.tolist()]}


def _subpixel_offset(sides: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """(M, 2) float32: per axis, the vertex of the parabola through log(heatmap) at the peaks
    (values `peak` (M,)) and their two neighbours, `sides` (4, M): left, right, up, down
    (-inf outside the map, where the offset is 0)."""
    inside = (sides[0::2] > -np.inf) & (sides[1::2] > -np.inf)  # (2, M): x, y
    lo_v, hi_v, m = (np.log(np.maximum(v, np.float32(1e-10))) for v in (sides[0::2], sides[1::2], peak))
    denom = lo_v - 2 * m + hi_v
    curved = inside & (denom < -1e-6)
    off = np.divide(0.5 * (lo_v - hi_v), denom, out=np.zeros_like(denom), where=curved)
    return np.clip(off, -0.5, 0.5).T


def sample_tags(tags, jtype: np.ndarray, pos: np.ndarray, heatmap_size: tuple[int, int]) -> np.ndarray:
    """Bilinear tag values (M, D) at heatmap positions, in the tag map's own resolution.
    tags (K, h, w, D), pos (M, 2) heatmap pixels, heatmap_size (H, W)."""
    tags = np.asarray(tags)
    K, h, w, D = tags.shape
    H, W = heatmap_size
    x = np.clip(pos[:, 0] * np.float32(w / W), 0, w - 1)
    y = np.clip(pos[:, 1] * np.float32(h / H), 0, h - 1)
    x0, y0 = np.minimum(np.floor(x).astype(np.int64), w - 1), np.minimum(np.floor(y).astype(np.int64), h - 1)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    t = tags
    return ((1 - fx) * (1 - fy) * t[jtype, y0, x0] + fx * (1 - fy) * t[jtype, y0, x1]
            + (1 - fx) * fy * t[jtype, y1, x0] + fx * fy * t[jtype, y1, x1]).astype(np.float32)
