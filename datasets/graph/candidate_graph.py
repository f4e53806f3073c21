"""Stage 2, candidates -> the candidate graph of one image (PyG `Data`, no ground truth): message
edges and classified pairs. Pairs join candidates whose types are adjacent in the skeleton (or at
most two bones apart), or the k nearest candidates, built densely with `torch.cdist`; in the
skeleton modes each candidate keeps the k nearest of each adjacent type. One set carries the
messages (`edges`), another is classified (`pairs`). Features come later
(`datasets.graph.features`), labels only for training and scoring (`datasets.graph.labels`).

Shapes: K keypoint types, M candidates, E candidate pairs.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Optional

import torch
from torch import Tensor
from torch_geometric.data import Data

from datasets.ae_maps import AEMaps
from datasets.graph.candidates import Candidates, extract_candidates
from datasets.graph.config import SKELETON_HOPS, GraphConfig
from datasets.skeleton import Skeleton


def build_graph(maps: AEMaps, skeleton: Skeleton, cfg: GraphConfig, image_id: int = 0) -> Data:
    """One image's maps -> its candidate graph (stages 1 and 2)."""
    return candidate_graph(extract_candidates(maps, cfg), skeleton, cfg, image_id)


def candidate_graph(cands: Candidates, skeleton: Skeleton, cfg: GraphConfig, image_id: int = 0) -> Data:
    """Candidates -> PyG `Data` with raw fields; `finalize_features` adds `x` and the attributes.

    Fields: those of `candidate_nodes`, pair_index (2, E) the classified pairs (`cfg.pairs`,
    i < j), edge_index (2, 2E') the message-passing edges (`cfg.edges`, both directions)."""
    pos, jtype = cands.pos, cands.jtype
    H, W = cands.heatmap_size
    data = candidate_nodes(cands, image_id)
    dist = torch.cdist(pos, pos)  # (M, M), shared by both candidate sets
    near = None
    skeleton_mode = cfg.edges != "knn" or cfg.pairs != "knn"
    if cfg.type_nearest is not None and pos.size(0) > 1 and skeleton_mode:  # one matrix serves both
        near = skeleton_nearest(dist, jtype, skeleton.num_joints, cfg.type_nearest)
    pairs, msg = pairs_and_edges(lambda mode: candidate_pairs(pos, jtype, skeleton, cfg, W, mode=mode, dist=dist,
                                                              near=near), jtype, skeleton, cfg)
    data.pair_index, data.edge_index = pairs, torch.cat([msg, msg.flip(0)], dim=1)
    return data


def pairs_and_edges(pairs_of: Callable[[str], Tensor], jtype: Tensor, skeleton: Skeleton,
                    cfg: GraphConfig) -> tuple[Tensor, Tensor]:
    """(classified pairs, message edges in one direction) from `pairs_of(mode)`, the pairs of one
    mode, asked once per mode needed: with one mode `skeleton` and the other `skeleton2` or
    `skeleton3`, the one-bone pairs are taken from the wider ones (a subset) instead of a
    second pass."""
    modes = {cfg.pairs, cfg.edges}
    if "skeleton" in modes and len(modes & set(SKELETON_HOPS)) == 2:
        wide_mode = max(modes, key=lambda m: SKELETON_HOPS.get(m, 0))
        wide = pairs_of(wide_mode)
        narrow = one_bone_pairs(wide, jtype, skeleton)
        return (wide, narrow) if cfg.pairs == wide_mode else (narrow, wide)
    pairs = pairs_of(cfg.pairs)
    return pairs, pairs if cfg.edges == cfg.pairs else pairs_of(cfg.edges)


def candidate_nodes(cands: Candidates, image_id: int = 0) -> Data:
    """The candidates as the nodes of a graph without edges (what the AE decoder reads): pos
    (M, 2) heatmap px, jtype (M,), score (M,), tag (M, D), image_id, map_size (1, 2) = (W, H),
    factor/offset (1, 2) to image pixels."""
    H, W = cands.heatmap_size
    return Data(pos=cands.pos, jtype=cands.jtype, score=cands.score, tag=cands.tag, num_nodes=len(cands),
                image_id=torch.tensor(image_id), map_size=torch.tensor([[W, H]], dtype=torch.float32),
                factor=cands.factor, offset=cands.offset)


@lru_cache(maxsize=16)
def type_adjacency(edges: tuple[tuple[int, int], ...], num_keypoints: int, hops: int = 1) -> Tensor:
    """(K, K) bool: keypoint types at most `hops` bones apart (2 bridges one missed keypoint, 3
    two in a row: a face seen without its ears, a shoulder without its elbow). Cached per
    skeleton; do not modify the result."""
    K = num_keypoints
    step = torch.eye(K)
    for a, b in edges:
        step[a, b] = step[b, a] = 1.0
    reach = torch.linalg.matrix_power(step, hops) > 0
    return reach & ~torch.eye(K, dtype=torch.bool)


def candidate_pairs(pos: Tensor, jtype: Tensor, skeleton: Skeleton, cfg: GraphConfig,
                    heatmap_width: int, mode: Optional[str] = None,
                    dist: Optional[Tensor] = None, near: Optional[Tensor] = None) -> Tensor:
    """Undirected candidate pairs (2, E) with i < j, by `mode` (default `cfg.edges`):
    `skeleton`: candidates of adjacent keypoint types; `skeleton2` / `skeleton3`: types at
    most two / three bones apart; `knn`: the k nearest candidates. All within `cfg.radius`
    heatmap widths (if set).
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
    if mode in SKELETON_HOPS:
        adj = type_adjacency(skeleton.edges, skeleton.num_joints, SKELETON_HOPS[mode])
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
    """The `skeleton` pairs among `skeleton2` or `skeleton3` pairs (2, E): those whose types share
    a bone, in the same order. All modes apply the same radius and nearest-of-type bound, so
    filtering the wider pairs gives what `candidate_pairs(mode="skeleton")` gives, without a
    second (M, M) pass."""
    adj = type_adjacency(skeleton.edges, skeleton.num_joints, 1)
    return pairs[:, adj[jtype[pairs[0]], jtype[pairs[1]]]]


def skeleton_nearest(dist: Tensor, jtype: Tensor, num_keypoints: int, k: int) -> Tensor:
    """(M, M) bool, symmetric: one end among the k nearest candidates of its type seen from the
    other. Serves both skeleton modes and any radius without masking first: whether a pair
    of two given types is allowed does not depend on the candidates, and a radius keeps a
    prefix of each type's candidates sorted by distance, so the k nearest that survive the
    mask are the k nearest among the allowed."""
    near = nearest_of_each_type(dist, jtype, num_keypoints, k)
    return near | near.t()


def nearest_of_each_type(dist: Tensor, jtype: Tensor, num_keypoints: int, k: int,
                         image: Optional[Tensor] = None) -> Tensor:
    """(M, M) bool: [i, j] iff j is among the k nearest candidates of type jtype[j] seen from i,
    at a finite distance (ties at the k-th distance all kept). dist (M, M), inf where a pair is
    not allowed. Each row's candidates are laid out per type, (M, K, T) with T the most
    candidates of one type (padded with inf), so the k-th nearest of each type is one
    `kthvalue` over T. `image` (M,): candidates of several images in one block (distances across
    images inf), each row laid out over its own image only, so T stays one image's."""
    M = dist.size(0)
    if M == 0:
        return torch.zeros(0, 0, dtype=torch.bool)
    K = num_keypoints
    image = torch.zeros_like(jtype) if image is None else image
    B = int(image.max()) + 1
    group = image * K + jtype  # (image, type) of each candidate
    counts = torch.bincount(group, minlength=B * K)
    T = int(counts.max())
    order = torch.argsort(group, stable=True)
    slot = torch.empty_like(group)
    slot[order] = torch.arange(M) - (counts.cumsum(0) - counts)[group[order]]  # index within its (image, type)
    column = torch.full((B * K * T,), M, dtype=torch.long)  # M: the padding column
    column[group * T + slot] = torch.arange(M)
    padded = torch.cat([dist, dist.new_full((M, 1), float("inf"))], dim=1)
    per_type = padded.gather(1, column.view(B, K * T)[image]).view(M, K, T)
    kth = per_type.kthvalue(min(k, T), dim=2).values  # (M, K)
    kth = kth.clamp(max=torch.finfo(dist.dtype).max)  # fewer than k allowed: all finite ones, never inf
    return dist <= kth.index_select(1, jtype)
