"""Grouping without ground truth: AE maps -> persons, stage by stage (candidates, candidate
graph, features, pair probabilities, decoder, COCO results), for one image or a batch of images
whose graphs the classifier scores in one call; and every `<image_id>.npz` of a folder read
lazily, a batch at a time."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from torch_geometric.data import Data
from core.progress import progress as progress_bar

from core.errors import InputError
from datasets.ae_maps import AEMaps, map_image_ids, read_ae_maps
from datasets.graph import batched
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


def predict_batch(maps: list[AEMaps], image_ids: list[int], decoder: str, cfg: GroupingConfig,
                  scorer: Optional[PairScorer] = None, tag_stats: Optional[dict] = None) -> list[Prediction]:
    """Several images' maps -> their persons, as `predict_image` gives them; the gnn decoder's
    images together (`predict_candidates`)."""
    if decoder == "ae" or len(maps) == 1:
        return [predict_image(m, i, decoder, cfg, scorer, tag_stats) for m, i in zip(maps, image_ids)]
    return predict_candidates([extract_candidates(m, cfg.graph) for m in maps], image_ids, cfg, scorer, tag_stats)


def predict_candidates(cands: list, image_ids: list[int], cfg: GroupingConfig, scorer: PairScorer,
                       tag_stats: Optional[dict] = None) -> list[Prediction]:
    """Several images' candidates -> their persons by the gnn decoder: the graphs and features
    of all of them built in one pass (`datasets.graph.batched`, the skeleton modes; else image by
    image) and scored by one classifier call."""
    skeleton = DATASET_SKELETONS[cfg.dataset]
    if batched.supports(cfg.graph):
        settings = feature_settings(cfg)
        inputs, graphs, pairs = batched.batched_graphs(
            cands, image_ids, skeleton, cfg.graph, tag_stats if settings["mode"] == "dataset" else None,
            settings["edge_attr"], settings["pair_attr"], settings["score_norm"])
        if scorer.wants_example():
            scorer.prepare(_example_graph(cands, image_ids, skeleton, cfg, tag_stats))
        probs = scorer.joined(inputs, pairs)
    else:
        graphs = [finalize_features(candidate_graph(c, skeleton, cfg.graph, i), skeleton.num_joints, stats=tag_stats,
                                    **feature_settings(cfg)) for c, i in zip(cands, image_ids)]
        probs = scorer.many(graphs, len(graphs))
    return [Prediction(i, coco_results(i, decode("gnn", g, p, cfg)), g) for i, g, p in zip(image_ids, graphs, probs)]


def _example_graph(cands, image_ids, skeleton, cfg, tag_stats) -> Data:
    """A featured graph of the batch (its largest image), from which `PairScorer.prepare` makes
    or loads the compiled classifier once."""
    b = max(range(len(cands)), key=lambda i: len(cands[i]))
    graph = candidate_graph(cands[b], skeleton, cfg.graph, image_ids[b])
    return finalize_features(graph, skeleton.num_joints, stats=tag_stats, **feature_settings(cfg))


def predict_folder(folder, decoder: str, cfg: GroupingConfig, scorer: Optional[PairScorer] = None,
                   tag_stats: Optional[dict] = None, tag_dim: Optional[int] = None,
                   progress: bool = False, batch: int = 1) -> Iterator[tuple[AEMaps, Prediction]]:
    """Every `<image_id>.npz` of `folder`, in ascending image id, read `batch` at a time -> (its
    maps, its prediction), image by image. Every file must have the dataset's K keypoint types
    and the same tag dimension (`tag_dim`, the model's; default: the first file's)."""
    K = DATASET_SKELETONS[cfg.dataset].num_joints
    ids = map_image_ids(folder)
    with progress_bar(total=len(ids), desc="images", enabled=progress) as bar:
        for start in range(0, len(ids), batch):
            part, maps = ids[start:start + batch], []
            for image_id in part:
                m = read_ae_maps(folder, image_id, K)
                D = m.tags.shape[-1]
                if tag_dim is None:
                    tag_dim = D
                elif D != tag_dim:
                    raise InputError(f"{Path(folder) / f'{image_id}.npz'}: tags have {D} dimension(s), "
                                     f"expected {tag_dim} (the model's or the folder's first file's)")
                maps.append(m)
            yield from zip(maps, predict_batch(maps, part, decoder, cfg, scorer, tag_stats))
            bar.update(len(part))

