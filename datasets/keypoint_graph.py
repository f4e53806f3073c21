"""AE maps -> keypoint candidates -> a PyG graph per image.

Candidates: max-pool NMS on each heatmap, a score threshold, top-k per keypoint type, sub-pixel
refinement (a parabola through the log of the peak and its neighbours, exact for Gaussian
peaks). Vertex features: normalised position, keypoint type (one-hot), heatmap score, and the
tag vector sampled (bilinearly) at the candidate's position in the tag map's own resolution.
Candidate edges: pairs of candidates whose types are adjacent in the skeleton (or at most two
bones apart), or the k nearest candidates, built densely with `torch.cdist` + `topk`; all within
a radius. One set carries the messages (`edges`), another is classified (`pairs`).
Edge attributes: dx, dy, distance, |tag difference|, and the type pair (one-hot of both types).
Edge label 1 iff both endpoints match keypoints of the same ground-truth person.

Shapes: K keypoint types, M candidates, P persons, E candidate pairs, D tag dimensions.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data

from core.errors import InputError
from datasets.ae_maps import AEMaps
from datasets.skeleton import Skeleton

EDGE_MODES = ("skeleton", "skeleton2", "knn")
NORM_MODES = ("per-map", "dataset")


@dataclass(frozen=True)
class GraphConfig:
    threshold: float = 0.1  # minimum heatmap score of a candidate
    top_k: int = 20  # candidates per keypoint type
    nms_kernel: int = 3
    edges: str = "skeleton"  # message-passing graph: "skeleton" | "skeleton2" | "knn"
    pairs: str = "skeleton2"  # classified candidate pairs: "skeleton" | "skeleton2" | "knn"
    knn: int = 8
    type_nearest: Optional[int] = 3  # skeleton modes: per candidate, the k nearest of each adjacent type (None: all)
    radius: Optional[float] = None  # max pair distance, fraction of the heatmap width (None: any)
    match_factor: float = 0.1  # label match radius: factor * sqrt(person area), image pixels
    match_min_px: float = 4.0
    feature_norm: str = "per-map"  # tag normalisation: "per-map" | "dataset"

    def __post_init__(self):
        if self.edges not in EDGE_MODES:
            raise InputError(f"{{graph.edges}} {self.edges}: expected one of {', '.join(EDGE_MODES)}")
        if self.pairs not in EDGE_MODES:
            raise InputError(f"{{graph.pairs}} {self.pairs}: expected one of {', '.join(EDGE_MODES)}")
        if self.feature_norm not in NORM_MODES:
            raise InputError(f"{{graph.feature_norm}} {self.feature_norm}: expected one of {', '.join(NORM_MODES)}")
        if self.top_k < 1 or self.knn < 1 or self.nms_kernel < 1 or self.nms_kernel % 2 == 0:
            raise InputError("{graph.top_k} and {graph.knn} must be >= 1, {graph.nms_kernel} odd")
        if self.type_nearest is not None and self.type_nearest < 1:
            raise InputError(f"{{graph.type_nearest}} {self.type_nearest}: expected >= 1 (or none)")
        if self.radius is not None and not self.radius > 0:
            raise InputError(f"{{graph.radius}} {self.radius}: expected > 0 (or none)")


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


@lru_cache(maxsize=16)
def type_adjacency(edges: tuple[tuple[int, int], ...], num_keypoints: int, two_hops: bool) -> Tensor:
    """(K, K) bool: keypoint types joined by a bone (`two_hops`: or at most two bones apart,
    which bridges one missed keypoint). Cached per skeleton; do not modify the result."""
    K = num_keypoints
    adj = torch.zeros(K, K, dtype=torch.bool)
    for a, b in edges:
        adj[a, b] = adj[b, a] = True
    if two_hops:
        hop2 = (adj.float() @ adj.float()) > 0
        adj = (adj | hop2) & ~torch.eye(K, dtype=torch.bool)
    return adj


def candidate_pairs(pos: Tensor, jtype: Tensor, skeleton: Skeleton, cfg: GraphConfig,
                    heatmap_width: int, mode: Optional[str] = None,
                    dist: Optional[Tensor] = None, near: Optional[Tensor] = None) -> Tensor:
    """Undirected candidate pairs (2, E) with i < j, by `mode` (default `cfg.edges`):
    `skeleton`: candidates of adjacent keypoint types; `skeleton2`: types at most two bones
    apart; `knn`: the k nearest candidates. All within `cfg.radius` heatmap widths (if set).
    Skeleton modes with `cfg.type_nearest` = k: a pair is kept if one end is among the k
    nearest candidates of its type seen from the other end (a bound on the pairs in crowds
    that, unlike a radius, does not cut the limbs of large people).
    `dist`, `near`: the (M, M) candidate distances and `skeleton_nearest`, if already computed."""
    mode = mode or cfg.edges
    M = pos.size(0)
    if M < 2:
        return torch.zeros(2, 0, dtype=torch.long)
    if dist is None:
        dist = torch.cdist(pos, pos)  # (M, M)
    if mode in ("skeleton", "skeleton2"):
        adj = type_adjacency(skeleton.edges, skeleton.num_joints, mode == "skeleton2")
        mask = adj[jtype][:, jtype]  # (M, M)
        if cfg.radius is not None:
            mask &= dist <= cfg.radius * heatmap_width
        if cfg.type_nearest is not None:
            mask &= near if near is not None else skeleton_nearest(dist, jtype, skeleton.num_joints,
                                                                   cfg.type_nearest)
    else:
        not_self = dist.masked_fill(torch.eye(M, dtype=torch.bool), float("inf"))
        k = min(cfg.knn, M - 1)
        nearest = not_self.topk(k, dim=1, largest=False)
        mask = torch.zeros(M, M, dtype=torch.bool)
        mask.scatter_(1, nearest.indices, True)
        if cfg.radius is not None:
            mask &= dist <= cfg.radius * heatmap_width
        mask = mask | mask.t()
    mask = torch.triu(mask, diagonal=1)
    return mask.nonzero().t().contiguous()


def one_bone_pairs(pairs: Tensor, jtype: Tensor, skeleton: Skeleton) -> Tensor:
    """The `skeleton` pairs among `skeleton2` pairs (2, E): those whose types share a bone, in the
    same order. Both modes apply the same radius and nearest-of-type bound, so filtering the
    two-bone pairs gives what `candidate_pairs(mode="skeleton")` gives, without a second (M, M) pass."""
    adj = type_adjacency(skeleton.edges, skeleton.num_joints, False)
    return pairs[:, adj[jtype[pairs[0]], jtype[pairs[1]]]]


def skeleton_nearest(dist: Tensor, jtype: Tensor, num_keypoints: int, k: int) -> Tensor:
    """(M, M) bool, symmetric: one end among the k nearest candidates of its type seen from the
    other. Serves both skeleton modes and any radius without masking first: whether a pair
    of two given types is allowed does not depend on the candidates, and a radius keeps a
    prefix of each type's candidates sorted by distance, so the k nearest that survive the
    mask are the k nearest among the allowed."""
    near = nearest_of_each_type(dist, jtype, num_keypoints, k)
    return near | near.t()


def nearest_of_each_type(dist: Tensor, jtype: Tensor, num_keypoints: int, k: int) -> Tensor:
    """(M, M) bool: [i, j] iff j is among the k nearest candidates of type jtype[j] seen from i,
    at a finite distance (ties at the k-th distance all kept). dist (M, M), inf where a pair is
    not allowed. The columns are laid out per type, (M, K, T) with T the most candidates of one
    type (padded with inf), so the k-th nearest of each type comes from one sort over T."""
    M = dist.size(0)
    if M == 0:
        return torch.zeros(0, 0, dtype=torch.bool)
    counts = torch.bincount(jtype, minlength=num_keypoints)
    T = int(counts.max())
    order = torch.argsort(jtype, stable=True)
    slot = torch.empty_like(jtype)
    slot[order] = torch.arange(M) - (counts.cumsum(0) - counts)[jtype[order]]  # index within its type
    column = torch.full((num_keypoints * T,), M, dtype=torch.long)  # M: the padding column
    column[jtype * T + slot] = torch.arange(M)
    padded = torch.cat([dist, dist.new_full((M, 1), float("inf"))], dim=1)
    per_type = padded.index_select(1, column).view(M, num_keypoints, T)
    kth = per_type.sort(dim=2).values[..., min(k, T) - 1]  # (M, K)
    kth = kth.clamp(max=torch.finfo(dist.dtype).max)  # fewer than k allowed: all finite ones, never inf
    return dist <= kth.index_select(1, jtype)


def match_candidates(pos_img: Tensor, jtype: Tensor, persons: Tensor, areas: Tensor,
                     cfg: GraphConfig) -> Tensor:
    """Ground-truth person of each candidate (M,), -1 for none: the nearest labelled keypoint of
    the same type within max(match_min_px, match_factor * sqrt(area)). persons (P, K, 3)."""
    M = pos_img.size(0)
    if M == 0 or persons.size(0) == 0:
        return torch.full((M,), -1, dtype=torch.long)
    gt = persons[:, jtype]  # (P, M, 3)
    d = torch.linalg.norm(gt[..., :2] - pos_img[None], dim=-1)  # (P, M)
    radius = torch.clamp(cfg.match_factor * areas.clamp_min(0).sqrt(), min=cfg.match_min_px)  # (P,)
    d = torch.where((gt[..., 2] > 0) & (d <= radius[:, None]), d, torch.full_like(d, float("inf")))
    best, person = d.min(dim=0)
    return torch.where(torch.isfinite(best), person, torch.full_like(person, -1))


def build_graph(maps: AEMaps, skeleton: Skeleton, cfg: GraphConfig,
                persons: Optional[np.ndarray] = None, areas: Optional[np.ndarray] = None,
                image_id: int = 0) -> Data:
    """One image -> PyG `Data` with raw fields; `finalize_features` adds `x` and `edge_attr`.

    Fields: pos (M, 2) heatmap px, jtype (M,), score (M,), tag (M, D), pair_index (2, E) the
    classified pairs (`cfg.pairs`), edge_index (2, 2E') the message-passing edges (`cfg.edges`,
    both directions), person (M,) and y (E,) when `persons`
    (P, K, 3 image pixels) are given, image_id, factor/offset (1, 2) to image pixels."""
    hm = torch.from_numpy(maps.heatmaps)
    H, W = hm.shape[1:]
    pos, jtype, score = find_candidates(hm, cfg)
    tag = sample_tags(torch.from_numpy(maps.tags), jtype, pos, (H, W))
    dist = torch.cdist(pos, pos)  # (M, M), shared by both candidate sets
    near = None
    skeleton_mode = cfg.edges != "knn" or cfg.pairs != "knn"
    if cfg.type_nearest is not None and pos.size(0) > 1 and skeleton_mode:  # one matrix serves both
        near = skeleton_nearest(dist, jtype, skeleton.num_joints, cfg.type_nearest)
    if {cfg.pairs, cfg.edges} == {"skeleton", "skeleton2"}:  # the one-bone pairs: a subset of the two-bone ones
        wide = candidate_pairs(pos, jtype, skeleton, cfg, W, mode="skeleton2", dist=dist, near=near)
        narrow = one_bone_pairs(wide, jtype, skeleton)
        pairs, msg = (wide, narrow) if cfg.pairs == "skeleton2" else (narrow, wide)
    else:
        pairs = candidate_pairs(pos, jtype, skeleton, cfg, W, mode=cfg.pairs, dist=dist, near=near)
        msg = pairs if cfg.edges == cfg.pairs else candidate_pairs(pos, jtype, skeleton, cfg, W, dist=dist, near=near)
    data = Data(pos=pos, jtype=jtype, score=score, tag=tag, pair_index=pairs,
                edge_index=torch.cat([msg, msg.flip(0)], dim=1), num_nodes=pos.size(0),
                image_id=torch.tensor(image_id), map_size=torch.tensor([[W, H]], dtype=torch.float32),
                factor=torch.tensor(maps.factor, dtype=torch.float32).view(1, 2),
                offset=torch.tensor(maps.offset, dtype=torch.float32).view(1, 2))
    if persons is not None:
        pos_img = pos * data.factor + data.offset
        person = match_candidates(pos_img, jtype, torch.as_tensor(persons, dtype=torch.float32),
                                  torch.as_tensor(areas, dtype=torch.float32), cfg)
        data.person = person
        a, b = person[pairs[0]], person[pairs[1]]
        data.y = ((a == b) & (a >= 0)).float()  # (E,)
    return data


def tag_statistics(graphs: list[Data]) -> dict:
    """Dataset-wide mean and std of the raw tags of all candidates."""
    tags = torch.cat([g.tag for g in graphs if g.num_nodes > 0])
    return {"tag_mean": tags.mean(0).tolist(), "tag_std": tags.std(0).clamp_min(1e-6).tolist()}


def finalize_features(data: Data, num_keypoints: int, mode: str, stats: Optional[dict] = None,
                      edge_attr: bool = True, pair_attr: bool = True) -> Data:
    """Add `x` (M, 2 + K + 1 + D), `edge_attr` (2E', 4 + K) of the message edges and `pair_attr`
    (E, 4 + K) of the classified pairs, with tags normalised per map or with dataset-wide
    `stats` (from `tag_statistics` of the training graphs). `edge_attr` / `pair_attr` False:
    leave out attributes the model does not read."""
    tag = data.tag
    if mode == "per-map":
        mean = tag.mean(0, keepdim=True) if tag.size(0) > 0 else torch.zeros(1, tag.size(1))
        std = tag.std(0, keepdim=True).nan_to_num(1.0).clamp_min(1e-3) if tag.size(0) > 1 else torch.ones(1, tag.size(1))
    else:
        mean, std = torch.tensor([stats["tag_mean"]]), torch.tensor([stats["tag_std"]])
    tag_n = (tag - mean) / std  # (M, D)
    pos_n = data.pos / data.map_size * 2 - 1  # (M, 2) in [-1, 1]
    onehot = _eye(num_keypoints).index_select(0, data.jtype)  # (M, K)
    data.x = torch.cat([pos_n, onehot, data.score.unsqueeze(1), tag_n], dim=1)
    if not (edge_attr or pair_attr):
        return data
    # One pass over the pairs and the message edges the model reads. Message edges come in both
    # directions (as build_graph lays them out): the reverse edge has -dx, -dy and the same
    # distance, tag difference and type pair, so only the first half is computed.
    pairs = data.pair_index if pair_attr else data.pair_index[:, :0]
    ei = data.edge_index if edge_attr else data.edge_index[:, :0]
    half = ei.size(1) // 2
    mirrored = ei.size(1) % 2 == 0 and torch.equal(ei[:, half:], ei[:, :half].flip(0))
    attrs = _edge_attributes(torch.cat([pos_n, tag_n], dim=1), onehot,
                             torch.cat([pairs, ei[:, :half] if mirrored else ei], dim=1))
    if pair_attr:
        data.pair_attr = attrs[:pairs.size(1)]
    if edge_attr:
        msg = attrs[pairs.size(1):]
        if mirrored:
            sign = torch.ones(msg.size(1))
            sign[:2] = -1
            msg = torch.cat([msg, msg * sign])
        data.edge_attr = msg
    return data


@lru_cache(maxsize=8)
def _eye(n: int) -> Tensor:
    """The (n, n) identity (one-hot rows); shared, do not modify."""
    return torch.eye(n)


def _edge_attributes(geo: Tensor, onehot: Tensor, edge_index: Tensor) -> Tensor:
    """(E, 4 + K) for edges src -> dst: dx, dy, distance, |tag difference|, type pair (one-hot
    of both types, summed). geo (M, 2 + D): normalised position and tag; onehot (M, K)."""
    src, dst = edge_index
    delta = geo.index_select(0, dst) - geo.index_select(0, src)  # (E, 2 + D): dx, dy, tag difference
    return torch.cat([delta[:, :2], delta[:, :2].norm(dim=1, keepdim=True),
                      delta[:, 2:].norm(dim=1, keepdim=True),
                      onehot.index_select(0, src) + onehot.index_select(0, dst)], dim=1)


def vertex_dim(num_keypoints: int, tag_dim: int) -> int:
    return 2 + num_keypoints + 1 + tag_dim


def edge_dim(num_keypoints: int) -> int:
    return 4 + num_keypoints
