"""Lifting training: the optimiser and schedule, one optimisation step (`TrainStep`: compiled,
bf16), one epoch on the fixed-topology path."""
from __future__ import annotations

import math
import time
from typing import Optional

import torch
from torch import Tensor, nn
from core.progress import progress as progress_bar

from core.distributed import Dist, all_sum
from datasets.camera_augment import random_views
from tasks.lifting.config import COMPILE_MIN_STEPS
from tasks.lifting.data import dense_data
from tasks.lifting.flip import mirror_half
from tasks.lifting.metrics import lifting_loss


def make_optimizer(model: nn.Module, lr: float) -> torch.optim.Adam:
    """SemGCN's optimiser, Adam, as one fused kernel per step (`fused=True`): the same update as
    the default per-tensor loop up to rounding, 3.5x faster on this CPU (58 parameter tensors of
    SemGCN: 2.4 ms per step against 8.6, bench/lifting_profile.py), and with its step counts on
    the device, no host synchronisation on a GPU."""
    return torch.optim.Adam(model.parameters(), lr=lr, fused=True)


def make_scheduler(optimizer, decay: float, decay_steps: int, schedule: str = "step", total_steps: int = 0):
    """Stepped per batch. `step` (SemGCN's): lr = lr0 * decay ** floor(step / decay_steps);
    `cosine`: lr = lr0 * (1 + cos(pi * step / total_steps)) / 2, down to 0 at the run's last step."""
    if schedule == "cosine":
        if total_steps < 1:
            raise ValueError("the cosine schedule needs the run's total steps")
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps)))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: decay ** (step // decay_steps))




def compile_wanted(setting: str, steps: int) -> bool:
    """Whether `--compile setting` compiles a run of `steps` optimisation steps."""
    return setting == "on" or (setting == "auto" and steps >= COMPILE_MIN_STEPS)


class TrainStep:
    """One optimisation step of the fixed-topology path: forward on (B, J, 2), loss (MSE, plus
    `l1_weight` x L1), backward,
    gradient clipping, the optimizer and the schedule. `compile`: the forward and loss (with
    their backward) compiled by `torch.compile` (on a GPU with CUDA graphs, `reduce-overhead`);
    `bf16`: autocast to bfloat16 (CPU or GPU). Returns the loss as a 0-d tensor on the device
    (no host sync)."""

    def __init__(self, model: nn.Module, optimizer, scheduler, max_grad_norm: float, template: Tensor,
                 compile: bool = False, bf16: bool = False, l1_weight: float = 0.0):
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.l1_weight = l1_weight
        self.max_grad_norm, self.template, self.bf16 = max_grad_norm, template, bf16
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.forward_loss = self._forward_loss
        if compile:
            mode = "reduce-overhead" if template.is_cuda else None
            self.forward_loss = torch.compile(self._forward_loss, mode=mode, dynamic=False)

    def _forward_loss(self, x: Tensor, y: Tensor) -> Tensor:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            pred = self.model(x, self.template)
        return lifting_loss(pred.float(), y, self.l1_weight)

    first_call_seconds: Optional[float] = None  # the first step, compilation included

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        if self.first_call_seconds is None:
            start = time.perf_counter()
            loss = self._step(x, y)
            float(loss)  # wait for it
            self.first_call_seconds = time.perf_counter() - start
            return loss
        return self._step(x, y)

    def _step(self, x: Tensor, y: Tensor) -> Tensor:
        loss = self.forward_loss(x, y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(self.params, max_norm=self.max_grad_norm, foreach=True)
        self.optimizer.step()
        self.scheduler.step()
        return loss.detach()


def train_epoch(model: nn.Module, batcher, optimizer, scheduler, batch_size: int,
                max_grad_norm: float, generator: torch.Generator, device="cpu",
                progress: bool = True, desc: str = "train", indices: Optional[Tensor] = None,
                dist_ctx: Optional[Dist] = None, step: Optional[TrainStep] = None,
                augment: str = "none") -> dict:
    """One pass over the shuffled training poses (or over `indices`, this rank's shard), on the
    fixed-topology path: the poses stay on the device, each batch is an index into them, the
    loss is summed on the device and read once. `step`: a `TrainStep` (compiled, bf16) made once
    per run; default an eager fp32 one. `augment`: `cameras`, half of the inputs replaced by views
    of random cameras (`datasets.camera_augment`); `mirror`, half of the poses (2D and 3D)
    mirrored (`mirror_half`); both drawn from `generator` after the shuffle.
    -> {loss, seconds, poses_per_s}, summed over all ranks when distributed."""
    model.train()
    start = time.perf_counter()
    x_all, y_all, template = dense_data(batcher, device)
    step = step or TrainStep(model, optimizer, scheduler, max_grad_norm, template)
    if indices is not None:
        order = torch.as_tensor(indices, dtype=torch.long)
    else:
        order = torch.randperm(len(batcher), generator=generator)  # the generator's sequence on every device
    order = order.to(device)
    if augment == "cameras":
        x_all = random_views(x_all, y_all, generator)
    elif augment == "mirror":
        x_all, y_all = mirror_half(x_all, y_all, batcher.skeleton.flip_permutation, generator)
    total = torch.zeros((), device=device)
    starts = range(0, order.numel(), batch_size)
    for s in progress_bar(starts, desc=desc, leave=False, enabled=progress, mininterval=0.5):
        idx = order[s:s + batch_size]
        total += step(x_all[idx], y_all[idx]) * idx.numel()
    count = order.numel()
    seconds = time.perf_counter() - start
    total, count = all_sum([float(total), count], dist_ctx or Dist())
    return {"loss": total / max(count, 1), "seconds": seconds,
            "poses_per_s": count / seconds if seconds > 0 else float("inf")}
