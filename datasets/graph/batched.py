"""Stages 2 and 2b for many images at once (inference): the candidates of several images -> the
classifier's inputs of all their candidate graphs joined (one disconnected graph), and per image
the little that decoding and drawing read. The same pairs, in the same order, and the same
features as `candidate_graph` + `finalize_features` image by image (tested), without a PyG
`Data` per image: the per-image Python of those two stages cost more than the classifier.

Candidate distances are computed densely per block of images (at most `BLOCK_NODES` candidates,
one image alone when it has more), with pairs across images masked out.
Skeleton modes only (`pairs` and `edges` in skeleton, skeleton2, skeleton3); `knn` graphs are
built image by image by the caller.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor

from datasets.graph.candidate_graph import nearest_of_each_type, pairs_and_edges, type_adjacency
from datasets.graph.candidates import Candidates
from datasets.graph.config import SKELETON_HOPS, GraphConfig
from datasets.graph.features import _edge_attributes, _eye
from datasets.skeleton import Skeleton

BLOCK_NODES = 256  # candidates per dense distance block (128-256 measured best, docs/speed.md)


@dataclass
class ImageGraph:
    """One image's part of a batch: what the decoders and the drawings read of a graph."""

    image_id: Tensor  # 0-d
    pos: Tensor  # (M, 2) heatmap pixels
    jtype: Tensor  # (M,)
    score: Tensor  # (M,)
    tag: Tensor  # (M, D)
    factor: Tensor  # (1, 2)
    offset: Tensor  # (1, 2)
    pair_index: Tensor  # (2, E) node indices within the image

    @property
    def num_nodes(self) -> int:
        return self.pos.size(0)


def supports(cfg: GraphConfig) -> bool:
    """Whether `batched_graphs` builds graphs of `cfg` (the skeleton modes)."""
    return cfg.pairs != "knn" and cfg.edges != "knn"


def batched_graphs(cands: list[Candidates], image_ids: list[int], skeleton: Skeleton, cfg: GraphConfig,
                   stats: Optional[dict] = None, edge_attr: bool = True, pair_attr: bool = True,
                   score_norm: str = "raw") -> tuple[tuple, list[ImageGraph], list[int]]:
    """-> (the classifier's inputs x, edge_index, edge_attr, pair_index, pair_attr of all images
    joined, per image its `ImageGraph`, per image its number of pairs). Feature settings as
    `finalize_features`: per-map tag normalisation unless `stats` (dataset-wide) are given."""
    K = skeleton.num_joints
    sizes = [len(c) for c in cands]
    offsets = torch.tensor([0] + sizes).cumsum(0)
    pos = torch.cat([c.pos for c in cands])
    jtype = torch.cat([c.jtype for c in cands])
    score = torch.cat([c.score for c in cands])
    tag = torch.cat([c.tag for c in cands])
    image = torch.repeat_interleave(torch.arange(len(cands)), torch.tensor(sizes))
    width = torch.tensor([float(c.heatmap_size[1]) for c in cands])
    map_size = torch.tensor([[c.heatmap_size[1], c.heatmap_size[0]] for c in cands], dtype=torch.float32)
    pairs, msg = [], []
    for first, last in _blocks(sizes):
        lo, hi = int(offsets[first]), int(offsets[last])
        p, m = _block_pairs(pos[lo:hi], jtype[lo:hi], image[lo:hi], width, skeleton, cfg)
        pairs.append(p + lo)
        msg.append(m + lo)
    pairs, msg = torch.cat(pairs, dim=1), torch.cat(msg, dim=1)
    edges = torch.cat([msg, msg.flip(0)], dim=1)
    # Features (finalize_features, per image where it normalises per map).
    if stats is None:
        n = torch.bincount(image, minlength=len(cands)).unsqueeze(1).to(tag.dtype)  # (B, 1)
        mean = torch.zeros(len(cands), tag.size(1)).index_add_(0, image, tag) / n.clamp_min(1)
        var = torch.zeros(len(cands), tag.size(1)).index_add_(0, image, (tag - mean[image]) ** 2) / (n - 1).clamp_min(1)
        std = torch.where(n > 1, var.sqrt().nan_to_num(1.0).clamp_min(1e-3), torch.ones_like(var))
        tag_n = (tag - mean[image]) / std[image]
    else:
        tag_n = (tag - torch.tensor([stats["tag_mean"]])) / torch.tensor([stats["tag_std"]])
    pos_n = pos / map_size[image] * 2 - 1
    onehot = _eye(K).index_select(0, jtype)
    s = score.unsqueeze(1)
    if score_norm == "per-map" and s.numel():
        top = torch.zeros(len(cands)).scatter_reduce(0, image, score, "amax", include_self=False)
        s = s / top[image].clamp_min(1e-6).unsqueeze(1)
    x = torch.cat([pos_n, onehot, s, tag_n], dim=1)
    geo = torch.cat([pos_n, tag_n], dim=1)
    e_attr = _edge_attributes(geo, onehot, edges) if edge_attr else None
    p_attr = _edge_attributes(geo, onehot, pairs) if pair_attr else None
    # Per image: its pairs, in node indices of its own.
    counts = torch.bincount(image[pairs[0]], minlength=len(cands)).tolist() if pairs.size(1) else [0] * len(cands)
    local = (pairs - offsets[image[pairs[0]]]).split(counts, dim=1)  # pairs are in image order
    views = [ImageGraph(torch.tensor(i), c.pos, c.jtype, c.score, c.tag, c.factor, c.offset, p)
             for i, c, p in zip(image_ids, cands, local)]
    return (x, edges, e_attr, pairs, p_attr), views, counts


def _blocks(sizes: list[int]):
    """Consecutive runs of images (first, last + 1) of at most BLOCK_NODES candidates (or one image)."""
    first, total = 0, 0
    for b, n in enumerate(sizes):
        if b > first and total + n > BLOCK_NODES:
            yield first, b
            first, total = b, 0
        total += n
    if first < len(sizes):
        yield first, len(sizes)


def _block_pairs(pos: Tensor, jtype: Tensor, image: Tensor, width: Tensor, skeleton: Skeleton,
                 cfg: GraphConfig) -> tuple[Tensor, Tensor]:
    """The classified pairs and the message edges (one direction) of a block of images, as
    `candidate_graph` gives them per image, in block node indices."""
    M = pos.size(0)
    if M < 2:
        empty = torch.zeros(2, 0, dtype=torch.long)
        return empty, empty
    dist = torch.cdist(pos, pos)
    if bool(image[0] != image[-1]):  # several images: no pair across them
        same = image[:, None] == image[None, :]
        dist = dist.masked_fill_(~same, float("inf"))
        allowed = same
    else:
        allowed = torch.ones(M, M, dtype=torch.bool)
    if cfg.radius is not None:
        allowed &= dist <= cfg.radius * width[image][:, None]
    if cfg.type_nearest is not None:
        near = nearest_of_each_type(dist, jtype, skeleton.num_joints, cfg.type_nearest, image - image[0])
        allowed &= near | near.t()

    def pairs_of(mode):
        adj = type_adjacency(skeleton.edges, skeleton.num_joints, SKELETON_HOPS[mode])
        return torch.triu(adj[jtype][:, jtype] & allowed, diagonal=1).nonzero().t().contiguous()
    return pairs_and_edges(pairs_of, jtype, skeleton, cfg)
