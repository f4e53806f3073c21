"""Whole persons out of the GNN's groups: fragments attached to the person whose missing joint
types they fill when the classifier's pair probabilities support it, and a floor on the person
score, chosen on validation images after training, below which nothing is written.

A fragment is a group of fewer than `FRAGMENT_BELOW` candidates (`results.is_fragment`); a
person, any other group.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from tasks.grouping.results import FRAGMENT_BELOW


def attach_fragments(group: np.ndarray, jtype: np.ndarray, pairs: np.ndarray, probs: np.ndarray,
                     threshold: float) -> np.ndarray:
    """Candidates' group labels (M,) -> labels with fragments merged into persons. A fragment
    joins the person with which it shares its most probable pair, if that probability is at
    least `threshold` and the person has none of the fragment's joint types; best pairs first,
    a person's types growing as fragments join it. `pairs` (2, E), `probs` (E,)."""
    group = group.copy()
    if pairs.shape[1] == 0:
        return group
    labels, gi, size = np.unique(group, return_inverse=True, return_counts=True)  # gi: candidate -> group position
    # Each group's joint types as bits: a group holds a type at most once, so the sum is the OR.
    mask = np.bincount(gi, weights=np.left_shift(1, jtype.astype(np.int64)), minlength=labels.size).astype(np.int64)
    a, b = gi[pairs[0]], gi[pairs[1]]
    fa, fb = size[a] < FRAGMENT_BELOW, size[b] < FRAGMENT_BELOW
    keep = (probs >= threshold) & (fa != fb)  # one side a fragment, the other a person
    if not keep.any():
        return group
    frag = np.where(fa, a, b)[keep]
    person = np.where(fa, b, a)[keep]
    p = probs[keep]
    order = np.argsort(-p, kind="stable")
    joined = {}  # fragment position -> person position
    for f, q in zip(frag[order].tolist(), person[order].tolist()):
        if f in joined or mask[f] & mask[q]:
            continue
        joined[f] = q
        mask[q] |= mask[f]
    if joined:
        target = np.arange(labels.size)
        target[list(joined)] = list(joined.values())
        group = labels[target[gi]]
    return group


def floor_persons(persons: list, floor: Optional[float], reference: float = 1.0) -> list:
    """The persons scored at least `floor` x `reference` (floor None or 0: all)."""
    if not floor:
        return persons
    return [p for p in persons if p[1] >= floor * reference]


def floor_reference(graph, mode: str) -> float:
    """What a person floor is relative to: "image", the image's strongest candidate's heatmap score
    (a model whose heatmaps peak lower scores its persons lower, as it scores the candidates);
    "none": 1 (the floor in heatmap score units)."""
    if mode == "none" or graph.num_nodes == 0:
        return 1.0
    return max(float(graph.score.max()), 1e-6)
