"""The training loop both tasks share: resume, data parallelism, one epoch at a time (train,
stop on a non-finite loss, validate, log a line to `metrics.jsonl`, checkpoint `last.pt` and
`best.pt`, plot the loss curve). What differs per task comes in a `TrainingRun`."""
from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch
from torch import nn

from core import distributed
from core.atomic_io import append_jsonl, atomic_write, read_jsonl
from core.checkpoint import load_checkpoint, restore_training, save_checkpoint
from core.errors import InputError, NonFiniteLoss
from core.faults import fault_point
from tasks.plots import plot_loss_curve


@dataclass
class TrainingRun:
    """One task's side of the shared loop.

    `train_epoch(net, epoch, sampler)` trains one epoch (on `sampler`'s shard when distributed,
    else on all items) -> at least {loss, lr}; `validate(model)` -> metrics including `metric`;
    `record(stats, metrics)` -> the `metrics.jsonl` fields after `epoch`; `line(record)` -> the
    printed epoch line; `checkpoint`: what every checkpoint holds besides the training state;
    `mismatch(ckpt)`: why a checkpoint given to resume is of another model. A `data_fingerprint`
    in `checkpoint` (a digest of the training data's content) must match the resumed run's.
    """

    task: str
    spec: dict
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    generator: torch.Generator
    num_items: int
    train_epoch: Callable
    validate: Optional[Callable[[nn.Module], dict]]  # None: no validation, best.pt is the last epoch
    record: Callable[[dict, dict], dict]
    line: Callable[[dict], str]
    checkpoint: dict
    mismatch: Callable[[dict], str]
    metric: str
    maximize: bool
    best_text: Callable[[float], str]
    tensorboard: bool = False  # also write the metrics as TensorBoard scalars (OUT/tensorboard)
    loss_label: str = "loss"  # the loss-curve picture's axis labels, with units
    metric_label: str = ""


def console_log(path: Path, fresh: bool) -> Callable[[str], None]:
    """A `print` that also appends each line to `path` (the run's `train.log`; a fresh run starts
    it anew, a resumed one continues it); a plain `print` when the whole console already goes
    there (train.py's `core.console_tee`)."""
    from core.console_tee import logging_to
    if logging_to(path):
        return lambda text: print(text, flush=True)
    if fresh:
        path.unlink(missing_ok=True)

    def say(text: str) -> None:
        print(text, flush=True)
        with open(path, "a") as f:
            f.write(text + "\n")
    return say


def tensorboard_writer(out: Path, wanted: bool):
    """A TensorBoard `SummaryWriter` into OUT/tensorboard when `wanted` (None otherwise); a one-line
    error when the tensorboard package is missing."""
    if not wanted:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise InputError("--tensorboard needs the tensorboard package: pip install tensorboard") from None
    return SummaryWriter(str(out / "tensorboard"))


def check_finite_loss(loss: float, epoch: int, out: Path) -> None:
    """Stop the run (before anything of this epoch is written) if its loss is not finite."""
    if not math.isfinite(loss):
        last = out / "last.pt"
        kept = f"the last good checkpoint is {last} (epoch {epoch - 1})" if epoch > 1 and last.exists() \
            else "no checkpoint was written"
        raise NonFiniteLoss(f"epoch {epoch}: training loss is {loss}; stopped, {kept}. "
                            f"Try a lower --lr or check the inputs")


def start_metrics_log(path: Path, start_epoch: int) -> None:
    """A fresh run starts a fresh `metrics.jsonl`; a resumed one keeps the lines of the epochs
    before `start_epoch` (and drops any written after the checkpoint it resumes from)."""
    if not path.exists():
        return
    if start_epoch == 1:
        path.unlink()
        return
    kept = [r for r in read_jsonl(path) if r.get("epoch", 0) < start_epoch]
    atomic_write(path, lambda f: f.write("".join(json.dumps(r) + "\n" for r in kept)), mode="w")


def fit(run: TrainingRun, epochs: int, seed: int, out: Path, d: distributed.Dist, device,
        resume: Optional[str], header: str) -> float:
    """Train `run` from epoch 1 (or from the checkpoint `resume`, same model spec only) to
    `epochs`; only rank 0 prints and writes. -> the best validation metric."""
    start_epoch, best = 1, -math.inf if run.maximize else math.inf
    if resume:
        ckpt = load_checkpoint(resume, run.task)
        if ckpt["model"] != run.spec:
            raise InputError(f"{resume}: {run.mismatch(ckpt)}")
        theirs, ours = ckpt.get("data_fingerprint"), run.checkpoint.get("data_fingerprint")
        if theirs is not None and ours is not None and theirs != ours:
            raise InputError(f"{resume}: the data given now differ from the data the run trained on (content "
                             f"fingerprint {ours[:12]} vs {theirs[:12]}); resume with the run's data, or start a new run")
        start_epoch, best = restore_training(ckpt, resume, run.model, run.optimizer, run.generator,
                                              run.scheduler)
    net = distributed.wrap(run.model, d, device)
    sampler = distributed.train_sampler(run.num_items, d, seed) if d.enabled else None
    metrics_path = out / "metrics.jsonl"
    say = console_log(out / "train.log", fresh=start_epoch == 1) if d.is_main else print
    board = tensorboard_writer(out, run.tensorboard) if d.is_main else None
    if d.is_main:
        start_metrics_log(metrics_path, start_epoch)
        say(header)
        if start_epoch > epochs:
            say(f"nothing to train: {resume} is at epoch {start_epoch - 1} of {epochs}")
    for epoch in range(start_epoch, epochs + 1):
        if sampler is not None:
            sampler.set_epoch(epoch)
        stats = run.train_epoch(net, epoch, sampler)
        check_finite_loss(stats["loss"], epoch, out)
        distributed.sync_buffers(run.model, d)
        if run.validate is None:  # nothing to choose on: best.pt is the last epoch
            metrics, improved, best = {}, True, math.nan
        else:
            metrics = run.validate(run.model)
            value = metrics[run.metric]
            if not math.isfinite(value):
                warnings.warn(f"epoch {epoch}: validation {run.metric} is {value}; best.pt is not updated")
            improved = value > best if run.maximize else value < best
            best = max(best, value) if run.maximize else min(best, value)
        if d.is_main:
            record = {"epoch": epoch, **run.record(stats, metrics)}
            append_jsonl(metrics_path, record)
            say(run.line(record))
            if board is not None:
                for key, value in record.items():
                    if key != "epoch" and isinstance(value, (int, float)):  # None (no validation) is neither
                        board.add_scalar(key, value, epoch)
                board.flush()
            ckpt = {**run.checkpoint, "state_dict": run.model.state_dict(),
                    "optimizer": run.optimizer.state_dict(), "scheduler": run.scheduler.state_dict(),
                    "epoch": epoch, "best_metric": best, "metric_name": run.metric,
                    "rng": {"shuffle": run.generator.get_state(), "torch": torch.get_rng_state()}}
            # last.pt is the commit point of an epoch and is written last: killed before it, a
            # resume redoes the epoch (dropping its metrics line) and rewrites best.pt identically.
            fault_point("metrics")
            if improved:
                save_checkpoint(out / "best.pt", ckpt)
                fault_point("best")
            save_checkpoint(out / "last.pt", ckpt)
            fault_point("last")
            plot_loss_curve(read_jsonl(metrics_path), out / "loss_curve.png", metric=run.metric,
                            loss_label=run.loss_label, metric_label=run.metric_label)
        distributed.barrier(d)
    if d.is_main:
        written = [str(p) for p in (out / "best.pt", out / "last.pt", metrics_path, out / "loss_curve.png")
                   if p.exists()]
        say(f"{run.best_text(best)}; wrote {', '.join(written + [str(out / 'train.log')])}")
        if board is not None:
            board.close()
    distributed.cleanup(d)
    return best
