"""Labels of a candidate graph, for training and scoring only: the ground-truth person of each
candidate, and pair label 1 iff both ends match keypoints of the same person."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from datasets.graph.config import GraphConfig


def label_graph(data: Data, persons: np.ndarray, areas: np.ndarray, cfg: GraphConfig) -> Data:
    """Add `person` (M,) (-1: none) and `y` (E,) to a candidate graph (in place; returned).
    persons (P, K, 3) image pixels, areas (P,)."""
    pos_img = data.pos * data.factor + data.offset
    person = match_candidates(pos_img, data.jtype, torch.as_tensor(persons, dtype=torch.float32),
                              torch.as_tensor(areas, dtype=torch.float32), cfg)
    data.person = person
    a, b = person[data.pair_index[0]], person[data.pair_index[1]]
    data.y = ((a == b) & (a >= 0)).float()  # (E,)
    return data


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
