"""How a grouping graph is built from AE maps: candidate extraction, message edges, classified
pairs, the label radius, and the tag normalisation of the features."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from core.errors import InputError

SKELETON_HOPS = {"skeleton": 1, "skeleton2": 2, "skeleton3": 3}  # skeleton modes: bones between the types of a pair
EDGE_MODES = (*SKELETON_HOPS, "knn")
NORM_MODES = ("per-map", "dataset")
SCORE_NORMS = ("raw", "per-map")


@dataclass(frozen=True)
class GraphConfig:
    threshold: float = 0.1  # minimum heatmap score of a candidate
    top_k: int = 20  # candidates per keypoint type
    nms_kernel: int = 3
    edges: str = "skeleton"  # message-passing graph: "skeleton" | "skeleton2" | "skeleton3" | "knn"
    pairs: str = "skeleton3"  # classified candidate pairs: "skeleton" | "skeleton2" | "skeleton3" | "knn"
    knn: int = 8
    type_nearest: Optional[int] = 2  # skeleton modes: per candidate, the k nearest of each adjacent type (None: all)
    radius: Optional[float] = None  # max pair distance, fraction of the heatmap width (None: any)
    match_factor: float = 0.1  # label match radius: factor * sqrt(person area), image pixels
    match_min_px: float = 4.0
    feature_norm: str = "per-map"  # tag normalisation: "per-map" | "dataset"
    score_norm: str = "raw"  # heatmap score feature: "raw" | "per-map" (divided by the image's highest)

    def __post_init__(self):
        if self.score_norm not in SCORE_NORMS:
            raise InputError(f"{{graph.score_norm}} {self.score_norm}: expected one of {', '.join(SCORE_NORMS)}")
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
