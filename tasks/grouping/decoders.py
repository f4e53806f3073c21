"""Stage 4, candidates + pair probabilities -> persons: greedy merging of the GNN's pairs, the
associative-embedding decoder, and the oracle. All three take the same inputs (a candidate
graph, its pair probabilities or None, the configuration); the AE decoder ignores the
probabilities, the oracle needs the graph's labels (`datasets.graph.labels`).

A person is a (K, 3) array of keypoints in image pixels (x, y, score; zeros where missing) and a
score: the sum of its keypoints' heatmap scores over K, so that a complete person ranks above
a fragment of one.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from scipy.optimize import linear_sum_assignment
from torch_geometric.data import Data

from core.errors import InputError
from datasets.coco import DATASET_SKELETONS
from tasks.grouping.config import DECODERS, GroupingConfig
from tasks.grouping.persons import attach_fragments, floor_persons, floor_reference
from tasks.grouping.results import coco_results

Persons = list[tuple[np.ndarray, float]]


def decode(decoder: str, graph: Data, probs: Optional[np.ndarray], cfg: GroupingConfig) -> Persons:
    """One image's persons by `decoder` (gnn | ae | oracle)."""
    K = DATASET_SKELETONS[cfg.dataset].num_joints
    if decoder == "gnn":
        if probs is None:
            raise ValueError("the gnn decoder needs pair probabilities")
        persons = decode_gnn(graph, probs, K, cfg.merge_threshold, cfg.min_keypoints, cfg.attach_threshold)
        return floor_persons(persons, cfg.person_floor, floor_reference(graph, cfg.floor_reference))
    if decoder == "ae":
        return decode_ae(graph, K, cfg.ae_tag_threshold, cfg.min_keypoints)
    if decoder == "oracle":
        if getattr(graph, "person", None) is None:
            raise InputError("{decoder} oracle: needs ground truth (annotations) to group by")
        return decode_oracle(graph, K)
    raise InputError(f"{{decoder}} {decoder}: expected one of {', '.join(DECODERS)}")




def decode_all(graphs: list[Data], decoder: str, cfg: GroupingConfig, probs=None) -> list[dict]:
    """Every image's persons as COCO results entries."""
    results = []
    for i, g in enumerate(graphs):
        results += coco_results(int(g.image_id), decode(decoder, g, None if probs is None else probs[i], cfg))
    return results


def _persons(data: Data, label: np.ndarray, K: int, min_keypoints: int) -> list[tuple[np.ndarray, float]]:
    """Candidates' group labels (M,) (-1: in no group; at most one candidate of a type per
    group) -> persons (K, 3) image pixels + score (summed keypoint scores / K), one per group
    with at least `min_keypoints` members, in the order of the groups' smallest labels."""
    idx = np.nonzero(label >= 0)[0]
    if idx.size == 0:
        return []
    _, group = np.unique(label[idx], return_inverse=True)  # (n,) 0..G-1 by label
    count = np.bincount(group)
    img = data.pos.numpy()[idx] * data.factor.numpy() + data.offset.numpy()  # image pixels
    scores = data.score.numpy().astype(np.float64)[idx]
    kps = np.zeros((count.size, K, 3))
    t = data.jtype.numpy()[idx]
    kps[group, t, :2], kps[group, t, 2] = img, scores
    total = np.bincount(group, weights=scores, minlength=count.size)
    return [(kps[g], float(total[g] / K)) for g in np.nonzero(count >= min_keypoints)[0]]


def decode_gnn(data: Data, probs: np.ndarray, K: int, threshold: float = 0.5, min_keypoints: int = 3,
               attach_threshold: Optional[float] = None) -> list[tuple[np.ndarray, float]]:
    """Greedy merging (`merged_groups`), then fragments join persons through pairs of at least
    `attach_threshold` (`persons.attach_fragments`; None: not). An attachment threshold at or
    above the merging's finds nothing to join: every such pair between groups whose types do not
    clash was merged (tested), so it is skipped."""
    label = merged_groups(data, probs, threshold)
    if attach_threshold is not None and attach_threshold < threshold:
        label = attach_fragments(label, data.jtype.numpy(), data.pair_index.numpy(), probs, attach_threshold)
    return _persons(data, label, K, min_keypoints)


def merged_groups(data: Data, probs: np.ndarray, threshold: float) -> np.ndarray:
    """Candidates' group labels (M,): pairs by descending probability (at least `threshold`) join
    their groups unless that would give a group two keypoints of one type; each group labelled
    by its first candidate."""
    M = data.num_nodes
    parent = list(range(M))
    types = [1 << t for t in data.jtype.tolist()]
    keep = np.nonzero(probs >= threshold)[0]
    keep = keep[np.argsort(-probs[keep], kind="stable")]  # pairs above threshold, best first
    pairs = data.pair_index.numpy()
    for a, b in zip(pairs[0, keep].tolist(), pairs[1, keep].tolist()):
        while parent[a] != a:  # find with path halving
            parent[a] = a = parent[parent[a]]
        while parent[b] != b:
            parent[b] = b = parent[parent[b]]
        if a != b and not (types[a] & types[b]):
            parent[b] = a
            types[a] |= types[b]
    # Every candidate's group is labelled by its first candidate (as the candidates are sorted):
    # scanning in order, a root's first visit is its group's smallest index.
    first: dict[int, int] = {}
    label = []
    for i in range(M):
        r = i
        while parent[r] != r:
            r = parent[r]
        label.append(first.setdefault(r, i))
    return np.array(label, dtype=np.int64)


def decode_ae(data: Data, K: int, tag_threshold: float = 1.0, min_keypoints: int = 3,
              order: Optional[list[int]] = None) -> list[tuple[np.ndarray, float]]:
    """Associative-embedding grouping (Newell et al. 2017): keypoint types in a fixed order;
    each type's candidates are matched to the person groups by tag distance (Hungarian
    assignment, cost = rounded distance * 100 - score); a match farther than `tag_threshold`
    starts a new group; a group's tag is the mean of its members' tags."""
    tags = data.tag.numpy()
    scores = data.score.numpy()
    jtype = data.jtype.numpy()
    label = np.full(jtype.size, -1, dtype=np.int64)
    group_tags: list[list[np.ndarray]] = []  # per group, its members' tags
    for k in order or range(K):
        cand = np.nonzero(jtype == k)[0]
        if len(cand) == 0:
            continue
        if group_tags:
            means = np.stack([np.mean(t, axis=0) for t in group_tags])  # (G, D)
            dist = np.linalg.norm(tags[cand][:, None] - means[None], axis=-1)  # (Mk, G)
            cost = np.round(dist) * 100 - scores[cand][:, None]
            rows, cols = linear_sum_assignment(cost)
        else:
            dist, rows, cols = None, [], []
        for r, c in zip(rows, cols):
            if dist[r, c] < tag_threshold:
                label[cand[r]] = c
                group_tags[c].append(tags[cand[r]])
        for i in cand[label[cand] < 0]:  # unmatched: a new group each
            label[i] = len(group_tags)
            group_tags.append([tags[i]])
    return _persons(data, label, K, min_keypoints)


def decode_oracle(data: Data, K: int, min_keypoints: int = 1) -> list[tuple[np.ndarray, float]]:
    """Upper bound for these candidates: group by the ground-truth person each candidate
    matches, keeping the best-scoring candidate per keypoint type."""
    person, jtype, score = data.person.tolist(), data.jtype.tolist(), data.score.tolist()
    best: dict[tuple[int, int], int] = {}  # (person, type) -> candidate
    for i, p in enumerate(person):
        if p >= 0 and ((p, jtype[i]) not in best or score[i] > score[best[p, jtype[i]]]):
            best[p, jtype[i]] = i
    label = np.full(len(person), -1, dtype=np.int64)
    for (p, _), i in best.items():
        label[i] = p
    return _persons(data, label, K, min_keypoints)
