"""The edge classifier of a grouping run: its spec (stored in checkpoints) and its inputs."""
from __future__ import annotations

from torch import Tensor, nn

from core.errors import InputError
from datasets.coco import DATASET_SKELETONS
from datasets.graph.features import edge_dim, vertex_dim
from gnn.models import MODEL_CLASSES
from tasks.grouping.config import GroupingConfig


def model_spec(cfg: GroupingConfig, tag_dim: int) -> dict:
    K = DATASET_SKELETONS[cfg.dataset].num_joints
    return {"class": "EdgeClassifier",
            "kwargs": {"in_channels": vertex_dim(K, tag_dim),
                       "edge_dim": edge_dim(K), "hidden_channels": cfg.model.hidden,
                       "edge_attr_in_conv": cfg.model.name == "edgeconv-attr",
                       "pair_attr": cfg.model.pair_attr}}


def model_from_spec(spec: dict) -> nn.Module:
    return MODEL_CLASSES[spec["class"]](**spec["kwargs"])


def classifier_inputs(batch) -> tuple:
    """The classifier's arguments from a graph / batch: x, edge_index, edge_attr, pair_index,
    pair_attr (the attributes `None` when the features left them out)."""
    return (batch.x, batch.edge_index, getattr(batch, "edge_attr", None), batch.pair_index,
            getattr(batch, "pair_attr", None))


def edge_logits(model: nn.Module, batch) -> Tensor:
    return model(*classifier_inputs(batch))


def checkpoint_tag_dim(ckpt: dict, path) -> int:
    """The tag dimension D the checkpoint's classifier reads (stored by train.py)."""
    if "tag_dim" not in ckpt:
        raise InputError(f"{path}: checkpoint has no 'tag_dim' (written by an older version; retrain)")
    return ckpt["tag_dim"]


def describe_mismatch(ckpt: dict, spec: dict, cfg, tag_dim: int) -> str:
    """What differs between a checkpoint's classifier and the one a run with `cfg` and tags of
    `tag_dim` dimensions builds (`spec`), in the run's terms: the keypoint set, the tag dimension,
    the model and its width, then any other constructor argument."""
    theirs, why = ckpt.get("config", {}), []
    if theirs.get("dataset", cfg.dataset) != cfg.dataset:
        why.append(f"keypoints of {theirs['dataset']} vs {cfg.dataset}")
    if ckpt.get("tag_dim", tag_dim) != tag_dim:
        why.append(f"tag dimension {ckpt['tag_dim']} vs {tag_dim}")
    model = theirs.get("model", {})
    if model.get("name", cfg.model.name) != cfg.model.name:
        why.append(f"model {model['name']} vs {cfg.model.name}")
    if model.get("hidden", cfg.model.hidden) != cfg.model.hidden:
        why.append(f"width (--hidden) {model['hidden']} vs {cfg.model.hidden}")
    if not why:
        a, b = ckpt["model"].get("kwargs", {}), spec.get("kwargs", {})
        why = [f"{k} {a.get(k)} vs {b.get(k)}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return "; ".join(why or ["another classifier layout"]) + " (the checkpoint's vs this run's)"
