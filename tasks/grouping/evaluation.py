"""Evaluating grouping ("predict, then score"): the persons of a split's images, decoded from
their maps by the same stages as `prediction` (gnn, ae) or by the oracle, scored by AP@OKS and,
for the GNN, by the edge metrics against the pair labels."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch_geometric.data import Data

from core.errors import InputError
from tasks.coco_eval import oks_ap
from tasks.grouping.config import DECODE_BATCH, GroupingConfig
from tasks.grouping.data import GroupingData, finalize_all, prepare_grouping_data
from tasks.grouping.decoders import decode_all
from tasks.grouping.metrics import edge_metrics
from tasks.grouping.model import checkpoint_tag_dim
from tasks.grouping.probabilities import PairScorer
from tasks.grouping.results import subset_gt



def default_synth_seed(saved: GroupingConfig) -> int:
    """Evaluation maps are synthesised with the checkpoint's seed + 1: not the training maps."""
    return saved.seed + 1


def eval_config(saved: GroupingConfig, maps: Optional[str], device: str, synth=None) -> GroupingConfig:
    """The checkpoint's config for scoring: its model, graphs, decoding and split, with the maps
    read from `maps` (None: synthesised with `synth`, default the checkpoint's knobs)."""
    return dataclasses.replace(saved, maps=maps, device=device, synth=synth or saved.synth,
                               annotations=None, synth_copies=1, synth_randomize=False, synth_artifacts=False,
                               synth_extras=(), val_copies=1, builtin_scenes=0)


def check_tag_dim(graphs: list[Data], tag_dim: int, source, checkpoint_path) -> None:
    """The maps' tag dimension must be the one the checkpoint's model reads."""
    if graphs and graphs[0].tag.size(1) != tag_dim:
        raise InputError(f"{source}: tags have {graphs[0].tag.size(1)} dimension(s), the model of "
                         f"{Path(checkpoint_path).name} reads {tag_dim}")


@dataclass
class GroupingEvaluation:
    results: list[dict]  # COCO results format, keypoints in image pixels
    metrics: dict  # AP, AP50, ... (pycocotools), edge metrics (gnn), decode_images_per_s, ...
    summary: str  # pycocotools' printed summary
    graphs: list[Data]  # the scored images' graphs
    data: GroupingData


@torch.inference_mode()  # inference only: no autograd bookkeeping on any tensor
def evaluate_grouping(cfg: GroupingConfig, annotations, synth_seed: int, split: str = "all",
                      decoder: str = "gnn", scorer: Optional[PairScorer] = None, ckpt: Optional[dict] = None,
                      checkpoint_path=None, progress: bool = False, backgrounds: int = 0,
                      batch: int = DECODE_BATCH) -> GroupingEvaluation:
    """Decode the images of `split` of `annotations` with `decoder` (gnn: `scorer`, the
    checkpoint `ckpt`'s classifier, `batch` graphs per call) and score them."""
    data = prepare_grouping_data(cfg, annotations, synth_seed, progress, backgrounds, split)
    ids = set(data.split_ids(split))
    graphs = [g for g in data.graphs if int(g.image_id) in ids]
    if not graphs:
        raise InputError(f"{annotations}: no images in split '{split}'")
    if ckpt is not None:  # the maps must suit the checkpoint's model, whichever decoder runs
        check_tag_dim(graphs, checkpoint_tag_dim(ckpt, checkpoint_path), cfg.maps or "synthesised maps", checkpoint_path)
    if decoder == "gnn":
        finalize_all(graphs, cfg, ckpt["normalization"]["tag_stats"])
    start = time.perf_counter()
    probs = scorer.many(graphs, batch) if decoder == "gnn" else None
    results = decode_all(graphs, decoder, cfg, probs)
    seconds = time.perf_counter() - start
    edge = {}
    if decoder == "gnn":
        labels = torch.cat([g.y for g in graphs]).numpy()
        edge = edge_metrics(np.concatenate(probs), labels, cfg.decode_threshold)
    if results:
        stats, summary = oks_ap(subset_gt(data.gt, ids), results, cfg.dataset)
    else:
        stats, summary = {k: 0.0 for k in ("AP", "AP50", "AP75", "APm", "APl", "AR")}, "no persons decoded: AP 0"
    metrics = {**stats, **edge, "decode_images_per_s": len(graphs) / seconds,
               "decoder": decoder, "images": len(graphs), "persons": len(results),
               "split": split, "synthesis_seed": None if cfg.maps else synth_seed,
               "synth": None if cfg.maps else dataclasses.asdict(cfg.synth)}
    return GroupingEvaluation(results, metrics, summary, graphs, data)
