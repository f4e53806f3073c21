"""Data-parallel training under `torchrun` (torch.distributed): one process per device, started
and supervised by torchrun, never by our code.

Without torchrun's environment (`WORLD_SIZE` unset or 1) everything here is a no-op and a run is
the plain single-process run. With it: NCCL on CUDA, gloo on CPU; the model is wrapped in
`DistributedDataParallel`; each rank trains on its `DistributedSampler` shard; only rank 0
prints, logs and writes files; training losses are summed across ranks and evaluation results
are gathered from every rank's shard, so the logged numbers are those of the whole data.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from core.device import resolve_device


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device_name: str) -> tuple[Dist, torch.device]:
    """Join the process group torchrun describes (if any) -> (Dist, this rank's device).
    `device_name`: auto | cpu | cuda (resolved per rank to cuda:LOCAL_RANK)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), resolve_device(device_name)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Dist(rank, world, local), device


def describe(d: Dist) -> str:
    return f" x {d.world_size} processes ({dist.get_backend()})" if d.enabled else ""


def cleanup(d: Dist) -> None:
    if d.enabled and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: torch.nn.Module, d: Dist, device: torch.device) -> torch.nn.Module:
    """DDP around `model` when distributed (gradients averaged across ranks)."""
    if not d.enabled:
        return model
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def sync_buffers(model: torch.nn.Module, d: Dist) -> None:
    """Give every rank rank 0's buffers (BatchNorm running statistics). DDP broadcasts them at
    the start of each forward, so after the last training step they differ by that step's
    update; evaluation and checkpoints must all use rank 0's."""
    if d.enabled:
        for b in unwrap(model).buffers():
            dist.broadcast(b, src=0)


def train_sampler(n: int, d: Dist, seed: int) -> DistributedSampler:
    """This rank's shard of `n` training items, reshuffled each epoch (`set_epoch`); shards are
    disjoint (padded by repeating items so all ranks take the same number of steps)."""
    return DistributedSampler(range(n), num_replicas=d.world_size, rank=d.rank, shuffle=True,
                              seed=seed, drop_last=False)


def eval_block(n: int, d: Dist, align: int = 1) -> range:
    """This rank's contiguous block of an evaluation over `n` items (no padding: the blocks of
    ranks 0, 1, ... partition range(n) in order), made of whole chunks of `align` items (a
    batch size: each rank's batches are then the single process's, to the bit)."""
    chunks = -(-n // align)
    per, extra = divmod(chunks, d.world_size)
    first = d.rank * per + min(d.rank, extra)
    last = first + per + (d.rank < extra)
    return range(min(first * align, n), min(last * align, n))


def gather(obj: Any, d: Dist) -> list[Any]:
    """[obj of rank 0, obj of rank 1, ...] on every rank (picklable objects)."""
    if not d.enabled:
        return [obj]
    parts = [None] * d.world_size
    dist.all_gather_object(parts, obj)
    return parts


def all_sum(values: Sequence[float], d: Dist) -> list[float]:
    """Element-wise sum of `values` over ranks (float64)."""
    if not d.enabled:
        return [float(v) for v in values]
    t = torch.tensor([float(v) for v in values], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return t.cpu().tolist()


def barrier(d: Dist) -> None:
    if d.enabled:
        dist.barrier()
