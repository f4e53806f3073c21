"""Stage 2b, the features a classifier reads: vertex features (normalised position, keypoint type
one-hot, heatmap score, tag normalised per map or with dataset statistics) and edge attributes
(dx, dy, distance, |tag difference|, the type pair)."""
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
                      edge_attr: bool = True, pair_attr: bool = True, score_norm: str = "raw") -> Data:
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
    score = data.score.unsqueeze(1)  # (M, 1)
    if score_norm == "per-map" and score.numel():  # a model's heatmap calibration left out
        score = score / score.max().clamp_min(1e-6)
    data.x = torch.cat([pos_n, onehot, score, tag_n], dim=1)
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
