"""Stage 2b, the features a classifier reads: vertex features (normalised position, keypoint type
one-hot, heatmap score, tag normalised per map or with dataset statistics) and edge attributes
(dx, dy, distance, |tag difference|, the type pair), and optionally the pairs' margins (how much
farther, in distance and tag, a pair's ends are than each end's best match of the other's type)."""
from __future__ import annotations

from functools import lru_cache
from typing import Optional

import torch
from torch import Tensor
from torch_geometric.data import Data


def tag_statistics(graphs: list[Data]) -> dict:
    """Dataset-wide mean and std of the raw tags of all candidates."""
    tags = torch.cat([g.tag for g in graphs if g.num_nodes > 0])
    return {"tag_mean": tags.mean(0).tolist(), "tag_std": tags.std(0).clamp_min(1e-6).tolist()}


def finalize_features(data: Data, num_keypoints: int, mode: str, stats: Optional[dict] = None,
                      edge_attr: bool = True, pair_attr: bool = True, score_norm: str = "raw",
                      margins: bool = False, vertex: str = "all", tag_ratio: bool = False) -> Data:
    """Add `x` (M, 2 + K + 1 + D; score_norm "both": 2 + K + 2 + D), `edge_attr` (2E', 4 + K) of the message edges and `pair_attr`
    (E, 4 + K, + 4 with `margins`: `pair_margins`) of the classified pairs, with tags normalised
    per map or with dataset-wide `stats` (from `tag_statistics` of the training graphs).
    `edge_attr` / `pair_attr` False: leave out attributes the model does not read."""
    tag = data.tag
    if mode == "per-map":
        mean = tag.mean(0, keepdim=True) if tag.size(0) > 0 else torch.zeros(1, tag.size(1))
        std = tag.std(0, keepdim=True).nan_to_num(1.0).clamp_min(1e-3) if tag.size(0) > 1 else torch.ones(1, tag.size(1))
    else:
        mean, std = torch.tensor([stats["tag_mean"]]), torch.tensor([stats["tag_std"]])
    tag_n = (tag - mean) / std  # (M, D)
    pos_n = data.pos / data.map_size * 2 - 1  # (M, 2) in [-1, 1]
    onehot = _eye(num_keypoints).index_select(0, data.jtype)  # (M, K)
    score = data.score.unsqueeze(1)  # (M, 1)
    if score_norm != "raw" and score.numel():  # a model's heatmap calibration left out (both: and kept)
        relative = score / score.max().clamp_min(1e-6)
        score = torch.cat([score, relative], 1) if score_norm == "both" else relative
    elif score_norm == "both":
        score = score.repeat(1, 2)
    data.x = vertex_features(pos_n, onehot, score, tag_n, vertex)
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
    if tag_ratio:
        scale = tag_noise_scale(tag_n, data.edge_index, torch.zeros(tag.size(0), dtype=torch.long), 1)
        attrs = torch.cat([attrs, torch.log1p(attrs[:, 3:4] / scale)], dim=1)
    if pair_attr:
        data.pair_attr = attrs[:pairs.size(1)]
        if margins:
            data.pair_attr = torch.cat([data.pair_attr, pair_margins(data.pair_attr, pairs, data.jtype, num_keypoints)], 1)
    if edge_attr:
        msg = attrs[pairs.size(1):]
        if mirrored:
            sign = torch.ones(msg.size(1))
            sign[:2] = -1
            msg = torch.cat([msg, msg * sign])
        data.edge_attr = msg
    return data


def tag_noise_scale(tag_n: Tensor, edge_index: Tensor, image: Tensor, num_images: int) -> Tensor:
    """Per image, the mean over its candidates of the least tag difference to a message-edge
    neighbour: the scale of a person's own tag noise (a candidate's nearest neighbours of adjacent
    types are mostly its own person's), which one-person images do not shrink as they shrink
    the per-map spread. (num_images,); 1 where no candidate has a neighbour."""
    M = tag_n.size(0)
    if edge_index.size(1) == 0:
        return torch.ones(num_images)
    src, dst = edge_index
    diff = (tag_n.index_select(0, dst) - tag_n.index_select(0, src)).norm(dim=1)
    least = torch.full((M,), float("inf")).scatter_reduce(0, src, diff, "amin")
    has = torch.isfinite(least)
    total = torch.zeros(num_images).index_add_(0, image[has], least[has])
    count = torch.zeros(num_images).index_add_(0, image[has], torch.ones(int(has.sum())))
    return torch.where(count > 0, total / count.clamp_min(1), torch.ones(num_images)).clamp_min(1e-3)


def vertex_features(pos_n: Tensor, onehot: Tensor, score: Tensor, tag_n: Tensor, vertex: str) -> Tensor:
    """x: [position, type one-hot, score(s), tag]; vertex "no-position" / "no-tag" / "relative"
    (neither) leave out the absolute position / tag value (their differences stay in the edge
    attributes)."""
    parts = [pos_n if vertex in ("all", "no-tag") else None, onehot, score,
             tag_n if vertex in ("all", "no-position") else None]
    return torch.cat([p for p in parts if p is not None], dim=1)


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


def pair_margins(attr: Tensor, pairs: Tensor, jtype: Tensor, num_keypoints: int) -> Tensor:
    """(E, 4) for pairs (a, b) with attributes `attr` (`_edge_attributes`): the pair's distance
    minus the least distance from a to any candidate of b's type it is paired with, the same from
    b's side, then both for the tag difference. 0 where the pair is its end's best match; in the
    features' units, so a model's tag scale and a layout's person sizes matter less than in the
    raw difference."""
    K = num_keypoints
    a, b = pairs
    keys = torch.stack([a * K + jtype.index_select(0, b), b * K + jtype.index_select(0, a)])  # (2, E)
    out = []
    for column in (attr[:, 2], attr[:, 3]):  # distance, |tag difference|
        value = column.repeat(2)
        size = int(keys.max()) + 1 if keys.numel() else 0
        best = torch.full((size,), float("inf")).scatter_reduce(0, keys.reshape(-1), value, "amin")
        out.append((value - best.index_select(0, keys.reshape(-1))).view(2, -1).t())
    return torch.cat(out, dim=1)


def vertex_dim(num_keypoints: int, tag_dim: int, score_norm: str = "raw", vertex: str = "all") -> int:
    return ((2 if vertex in ("all", "no-tag") else 0) + num_keypoints + (2 if score_norm == "both" else 1)
            + (tag_dim if vertex in ("all", "no-position") else 0))


def edge_dim(num_keypoints: int, tag_ratio: bool = False) -> int:
    return 4 + num_keypoints + (1 if tag_ratio else 0)


def pair_dim(num_keypoints: int, margins: bool, tag_ratio: bool = False) -> int:
    return edge_dim(num_keypoints, tag_ratio) + (4 if margins else 0)
