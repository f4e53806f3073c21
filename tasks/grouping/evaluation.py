"""Evaluating a grouping checkpoint ('predict, then score'): predict persons on a split's images (decoded by the GNN,
the AE decoder or the oracle), then score them (AP@OKS and, for the GNN, the edge metrics)."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch_geometric.data import Data

from core.checkpoint import rebuild_model
from core.device import resolve_device
from core.errors import InputError
from tasks import grouping
from tasks.coco_eval import oks_ap
from tasks.grouping.config import GroupingConfig

SPLITS = ("all", "val", "train")


def default_synth_seed(saved: GroupingConfig) -> int:
    """Evaluation maps are synthesised with the checkpoint's seed + 1: not the training maps."""
    return saved.seed + 1


def eval_config(saved: GroupingConfig, maps: Optional[str], device: str,
                synth=None) -> GroupingConfig:
    """The checkpoint's config for scoring: its model, graphs, decoding and split, with the maps
    read from `maps` (None: synthesised with `synth`, default the checkpoint's knobs)."""
    return dataclasses.replace(saved, maps=maps, device=device, synth=synth or saved.synth,
                               annotations=None, synth_copies=1)


@dataclass
class GroupingEvaluation:
    results: list[dict]  # COCO results format, keypoints in image pixels
    metrics: dict  # AP, AP50, ... (pycocotools), edge metrics (gnn), decode_images_per_s, ...
    summary: str  # pycocotools' printed summary
    graphs: list[Data]  # the scored images' graphs
    data: grouping.GroupingData


@torch.inference_mode()  # inference only: no autograd bookkeeping on any tensor
def evaluate_grouping(ckpt: dict, checkpoint_path, cfg: GroupingConfig, annotations,
                      synth_seed: int, split: str = "all", decoder: str = "gnn",
                      progress: bool = False) -> GroupingEvaluation:
    """Decode the images of `split` of `annotations` with `decoder` and score them."""
    device = resolve_device(cfg.device)
    data = grouping.prepare_grouping_data(cfg, annotations, synth_seed, progress=progress)
    ids = set({"all": data.train_ids + data.val_ids, "val": data.val_ids, "train": data.train_ids}[split])
    graphs = [g for g in data.graphs if int(g.image_id) in ids]
    if not graphs:
        raise InputError(f"{annotations}: no images in split '{split}'")
    tag_dim, read = graphs[0].tag.size(1), ckpt.get("tag_dim")
    if read is None:
        raise InputError(f"{checkpoint_path}: checkpoint has no 'tag_dim' (written by an older version; retrain)")
    if tag_dim != read:
        raise InputError(f"{cfg.maps or 'synthesised maps'}: tags have {tag_dim} dimension(s), the model of "
                         f"{Path(checkpoint_path).name} reads {read}")
    grouping.finalize_all(graphs, cfg, ckpt["normalization"]["tag_stats"])
    if decoder == "gnn":  # loading, folding and tracing the classifier are not timed
        model = grouping.inference_classifier(rebuild_model(ckpt, checkpoint_path, grouping.model_from_spec),
                                              graphs, device)
    start = time.perf_counter()
    probs = grouping.edge_probabilities(model, graphs, device) if decoder == "gnn" else None
    results = grouping.decode_all(graphs, decoder, cfg, probs)
    seconds = time.perf_counter() - start
    edge = {}
    if decoder == "gnn":
        labels = torch.cat([g.y for g in graphs]).numpy()
        edge = grouping.edge_metrics(np.concatenate(probs), labels, cfg.decode_threshold)
    if results:
        stats, summary = oks_ap(grouping.subset_gt(data.gt, ids), results, cfg.dataset)
    else:
        stats, summary = {k: 0.0 for k in ("AP", "AP50", "AP75", "APm", "APl", "AR")}, "no persons decoded: AP 0"
    metrics = {**stats, **edge, "decode_images_per_s": len(graphs) / seconds,
               "decoder": decoder, "images": len(graphs), "persons": len(results),
               "split": split, "synthesis_seed": None if cfg.maps else synth_seed,
               "synth": None if cfg.maps else dataclasses.asdict(cfg.synth)}
    return GroupingEvaluation(results, metrics, summary, graphs, data)
