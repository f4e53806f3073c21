"""Grouping without ground truth: AE maps -> persons, stage by stage (candidates, candidate
graph, features, pair probabilities, decoder, COCO results), one image at a time; and every
`<image_id>.npz` of a folder read lazily."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from torch_geometric.data import Data
from tqdm import tqdm

from core.errors import InputError
from datasets.ae_maps import AEMaps, map_image_ids, read_ae_maps
from datasets.graph.candidate_graph import candidate_graph, candidate_nodes
from datasets.graph.candidates import extract_candidates
from datasets.coco import DATASET_SKELETONS
from datasets.graph.features import finalize_features
from tasks.grouping.config import GroupingConfig
from tasks.grouping.data import feature_settings
from tasks.grouping.decoders import decode
from tasks.grouping.probabilities import PairScorer
from tasks.grouping.results import coco_results


@dataclass
class Prediction:
    image_id: int
    results: list[dict]  # COCO results entries of the image's persons
    graph: Data  # its candidate graph (nodes only for the AE decoder)


def predict_image(maps: AEMaps, image_id: int, decoder: str, cfg: GroupingConfig,
                  scorer: Optional[PairScorer] = None, tag_stats: Optional[dict] = None) -> Prediction:
    """One image's maps -> its persons. `decoder` gnn (needs `scorer`) or ae (candidates only)."""
    cands = extract_candidates(maps, cfg.graph)
    if decoder == "ae":
        graph, probs = candidate_nodes(cands, image_id), None
    else:
        skeleton = DATASET_SKELETONS[cfg.dataset]
        graph = candidate_graph(cands, skeleton, cfg.graph, image_id)
        finalize_features(graph, skeleton.num_joints, stats=tag_stats, **feature_settings(cfg))
        probs = scorer(graph)
    return Prediction(image_id, coco_results(image_id, decode(decoder, graph, probs, cfg)), graph)


def predict_folder(folder, decoder: str, cfg: GroupingConfig, scorer: Optional[PairScorer] = None,
                   tag_stats: Optional[dict] = None, tag_dim: Optional[int] = None,
                   progress: bool = False) -> Iterator[tuple[AEMaps, Prediction]]:
    """Every `<image_id>.npz` of `folder`, in ascending image id, read one at a time -> (its maps,
    its prediction). Every file must have the dataset's K keypoint types and the same tag
    dimension (`tag_dim`, the model's; default: the first file's)."""
    K = DATASET_SKELETONS[cfg.dataset].num_joints
    for image_id in tqdm(map_image_ids(folder), desc="images", disable=not progress):
        maps = read_ae_maps(folder, image_id, K)
        D = maps.tags.shape[-1]
        if tag_dim is None:
            tag_dim = D
        elif D != tag_dim:
            raise InputError(f"{Path(folder) / f'{image_id}.npz'}: tags have {D} dimension(s), "
                             f"expected {tag_dim} (the model's or the folder's first file's)")
        yield maps, predict_image(maps, image_id, decoder, cfg, scorer, tag_stats)

