"""Lifting models: a model's spec (class and arguments, stored in checkpoints) from its config, and
the model rebuilt from a spec."""
from __future__ import annotations

from torch import Tensor, nn

from datasets.skeleton import Skeleton
from gnn.models import MODEL_CLASSES
from tasks.lifting.config import LiftingModelConfig


def model_spec(cfg: LiftingModelConfig, skeleton: Skeleton) -> dict:
    """A model's class name and constructor arguments (plain values, stored in checkpoints)."""
    J = skeleton.num_joints
    if cfg.name == "linear":
        return {"class": "LinearLifter",
                "kwargs": {"num_joints": J, "dropout": cfg.effective_dropout}}
    d = cfg.effective_dropout
    if cfg.name == "graformer":
        return {"class": "GraFormer",
                "kwargs": {"num_joints": J, "hidden_channels": cfg.effective("hidden"),
                           "num_layers": cfg.effective("blocks"), "dropout": d, "inner_dropout": min(d, 0.1)}}
    kwargs = {"num_joints": J, "num_edge_types": skeleton.edge_index().size(1),
              "hidden_channels": cfg.effective("hidden"), "num_blocks": cfg.effective("blocks"),
              "dropout": d,
              "conv": {"semgcn": "sem", "semgcn-nonlocal": "sem", "semgcn-ch": "sem-ch",
                       "gcn": "gcn", "modulated": "modulated"}[cfg.name]}
    if cfg.name == "semgcn-nonlocal":
        kwargs["joint_groups"] = [list(g) for g in skeleton.joint_groups]
    if cfg.name == "modulated":
        kwargs["edges"] = skeleton.edge_index().tolist()
    return {"class": "SemGCN", "kwargs": kwargs}


def model_from_spec(spec: dict) -> nn.Module:
    return MODEL_CLASSES[spec["class"]](**spec["kwargs"])


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def predict(model: nn.Module, batch) -> Tensor:
    """A batch of pose graphs -> (N, 3) predicted joints."""
    return model(batch.x, batch.edge_index, batch.edge_type, batch.joint, batch.batch)
