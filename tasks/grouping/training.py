"""Training the edge classifier: class-weighted BCE on the candidate pairs, the learning-rate
schedule, one epoch."""
from __future__ import annotations

import time
from typing import Optional

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from core.progress import progress as progress_bar

from core.distributed import Dist, all_sum
from tasks.grouping.config import GroupingConfig
from tasks.grouping.model import edge_logits


def pos_weight_of(graphs: list[Data]) -> float:
    """negatives / positives over the training pairs (BCE `pos_weight`)."""
    y = torch.cat([g.y for g in graphs])
    pos = float(y.sum())
    return (len(y) - pos) / pos if pos > 0 else 1.0


def make_optimizer(model: nn.Module, cfg: GroupingConfig) -> torch.optim.Optimizer:
    """Adam (the reference design) or SGD with momentum 0.9, at `cfg.lr`."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9)
    return torch.optim.Adam(model.parameters(), lr=cfg.lr)


def make_scheduler(optimizer, cfg: GroupingConfig):
    """Per-epoch learning-rate schedule: constant, or cosine annealing to 0 over `cfg.epochs`."""
    if cfg.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0)


def grouping_loss(logits: Tensor, labels: Tensor, pos_weight: float) -> Tensor:
    return nn.functional.binary_cross_entropy_with_logits(
        logits, labels, pos_weight=torch.tensor(pos_weight, device=logits.device))


def train_epoch(model, loader, optimizer, pos_weight: float, device, progress=False, desc="train",
                dist_ctx: Optional[Dist] = None) -> dict:
    """One pass over the loader's batches. -> {loss (summed over ranks when distributed), seconds}."""
    d = dist_ctx or Dist()
    model.train()
    total, count, start = 0.0, 0, time.perf_counter()
    for batch in progress_bar(loader, desc=desc, leave=False, enabled=progress):
        batch = batch.to(device)
        # BatchNorm in training needs two rows: batches of fewer than two nodes, message edges or
        # pairs are skipped (a batch of images with one pair between them ended a run). Under
        # torchrun every rank skips the step when any must: DDP's forward and backward are
        # collectives, and a rank stepping without them (the earlier zero-loss stand-in) left
        # the others waiting now and then.
        unusable = batch.y.numel() < 2 or batch.num_nodes < 2 or batch.edge_index.size(1) < 2
        if d.enabled:
            unusable = all_sum([float(unusable)], d)[0] > 0
        if unusable:
            continue
        loss = grouping_loss(edge_logits(model, batch), batch.y, pos_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * batch.y.numel()
        count += batch.y.numel()
    total, count = all_sum([total, count], d)
    return {"loss": total / max(count, 1), "seconds": time.perf_counter() - start}
