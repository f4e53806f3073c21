"""Stage 1, maps -> keypoint candidates: max-pool NMS on each heatmap, a score threshold, top-k
per keypoint type, sub-pixel refinement (a parabola through the log of the peak and its
neighbours, exact for Gaussian peaks), and the tag vector sampled bilinearly at each candidate
in the tag map's own resolution.

Shapes: K keypoint types, H x W heatmaps, h x w tag maps, D tag dimensions, M candidates.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from datasets.ae_maps import AEMaps
from datasets.graph_config import GraphConfig


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
    hm = torch.from_numpy(maps.heatmaps)
    H, W = hm.shape[1:]
    pos, jtype, score = find_candidates(hm, cfg)
    tag = sample_tags(torch.from_numpy(maps.tags), jtype, pos, (H, W))
    factor = torch.tensor(maps.factor, dtype=torch.float32).view(1, 2)
    offset = torch.tensor(maps.offset, dtype=torch.float32).view(1, 2)
    return Candidates(pos, pos * factor + offset, jtype, score, tag, (H, W), factor, offset)


def max_filter(maps: Tensor, kernel: int) -> Tensor:
    """(K, H, W) -> the maximum over each `kernel` x `kernel` window, borders padded with -inf,
    as `max_pool2d(stride=1, padding=kernel // 2)` computes it, in two separable passes of
    shifted maxima (accumulated in place: few map-sized temporaries)."""
    r = kernel // 2
    if r == 0:
        return maps
    out = maps
    for dim in (2, 1):  # along x, then along y
        n = out.size(dim)
        pad = [0, 0, 0, 0]
        pad[(2 - dim) * 2:(2 - dim) * 2 + 2] = [r, r]
        padded = F.pad(out, pad, value=float("-inf"))
        best = padded.narrow(dim, 0, n).clone()
        for s in range(1, kernel):
            torch.maximum(best, padded.narrow(dim, s, n), out=best)
        out = best
    return out


# Neighbours before a pixel in scan order (left, up-left, up, up-right): a peak on a plateau of
# equal peaks is kept only where none of these is an equal peak, so once.
_EARLIER = ((0, -1), (-1, -1), (-1, 0), (-1, 1))


def find_candidates(heatmaps: Tensor, cfg: GraphConfig) -> tuple[Tensor, Tensor, Tensor]:
    """(K, H, W) heatmaps -> positions (M, 2) in heatmap pixels (x, y), types (M,), scores (M,);
    sorted by type, then by descending score. Peaks are found on the whole maps; the plateau
    rule and the top-k per type work on the list of peaks only."""
    K, H, W = heatmaps.shape
    peak = (heatmaps == max_filter(heatmaps, cfg.nms_kernel)) & (heatmaps > cfg.threshold)
    jtype, ys, xs = peak.nonzero(as_tuple=True)  # (P,) each, in scan order per type
    scores = heatmaps[jtype, ys, xs]
    keep = torch.ones_like(scores, dtype=torch.bool)
    for dy, dx in _EARLIER:
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (nx >= 0) & (nx < W)
        ny, nx = ny.clamp(min=0), nx.clamp(0, W - 1)
        keep &= ~(inside & peak[jtype, ny, nx] & (heatmaps[jtype, ny, nx] == scores))
    jtype, ys, xs, scores = jtype[keep], ys[keep], xs[keep], scores[keep]
    order = torch.argsort(-scores, stable=True)  # by descending score ...
    order = order[torch.argsort(jtype[order], stable=True)]  # ... within each type
    jtype, ys, xs, scores = jtype[order], ys[order], xs[order], scores[order]
    counts = torch.bincount(jtype, minlength=K)
    rank = torch.arange(jtype.numel()) - (counts.cumsum(0) - counts)[jtype]
    top = rank < cfg.top_k
    jtype, ys, xs, scores = jtype[top], ys[top], xs[top], scores[top]
    pos = torch.stack([xs, ys], dim=1).to(heatmaps.dtype)  # (M, 2)
    pos = pos + _subpixel_offset(heatmaps, jtype, xs, ys)
    return pos, jtype, scores


def _subpixel_offset(hm: Tensor, jtype: Tensor, xs: Tensor, ys: Tensor) -> Tensor:
    """Vertex of the parabola through log(hm) at the peak and its two neighbours, per axis."""
    K, H, W = hm.shape
    out = []
    for axis, (c, n) in enumerate(((xs, W), (ys, H))):
        lo, hi = (c - 1).clamp_min(0), (c + 1).clamp_max(n - 1)
        if axis == 0:
            v = torch.stack([hm[jtype, ys, lo], hm[jtype, ys, xs], hm[jtype, ys, hi]])
        else:
            v = torch.stack([hm[jtype, lo, xs], hm[jtype, ys, xs], hm[jtype, hi, xs]])
        lo_v, m, hi_v = torch.log(v.clamp_min(1e-10))  # (3, M) -> three (M,)
        denom = lo_v - 2 * m + hi_v
        off = torch.where(denom < -1e-6, 0.5 * (lo_v - hi_v) / denom, torch.zeros_like(denom))
        inside = (c > 0) & (c < n - 1)
        out.append(torch.where(inside, off.clamp(-0.5, 0.5), torch.zeros_like(off)))
    return torch.stack(out, dim=1)  # (M, 2)


def sample_tags(tags: Tensor, jtype: Tensor, pos: Tensor, heatmap_size: tuple[int, int]) -> Tensor:
    """Bilinear tag values (M, D) at heatmap positions, in the tag map's own resolution.
    tags (K, h, w, D), pos (M, 2) heatmap pixels, heatmap_size (H, W)."""
    K, h, w, D = tags.shape
    H, W = heatmap_size
    x = (pos[:, 0] * (w / W)).clamp(0, w - 1)
    y = (pos[:, 1] * (h / H)).clamp(0, h - 1)
    x0, y0 = x.floor().long().clamp(max=w - 1), y.floor().long().clamp(max=h - 1)
    x1, y1 = (x0 + 1).clamp(max=w - 1), (y0 + 1).clamp(max=h - 1)
    fx, fy = (x - x0).unsqueeze(1), (y - y0).unsqueeze(1)
    t = tags
    return ((1 - fx) * (1 - fy) * t[jtype, y0, x0] + fx * (1 - fy) * t[jtype, y0, x1]
            + (1 - fx) * fy * t[jtype, y1, x0] + fx * fy * t[jtype, y1, x1])
