"""Run outputs shared by every task: atomic writes, `metrics.jsonl`, self-describing checkpoints.

Nothing is written in place: each file is written to a temporary file in the same folder and
renamed over the target, so a killed run never leaves a half-written file.
"""
from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path

import torch

from datasets.atomic_io import atomic_write
from datasets.errors import InputError

CHECKPOINT_FORMAT = 1


class NonFiniteLoss(RuntimeError):
    """Training produced a NaN or infinite loss; the run stops, the last good checkpoint stays."""


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


def write_json(path, obj) -> Path:
    return atomic_write(path, lambda f: json.dump(obj, f, indent=2), mode="w")


def append_jsonl(path, record: dict) -> Path:
    """Append one JSON line; the whole file is rewritten atomically."""
    path = Path(path)
    old = path.read_text() if path.exists() else ""
    return atomic_write(path, lambda f: f.write(old + json.dumps(record) + "\n"), mode="w")


def read_jsonl(path) -> list[dict]:
    path = Path(path)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def prepare_out_dir(out) -> Path:
    """Create the output folder; a clear error if it is a file or cannot be written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: is a file, expected a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"--out {out}: cannot create folder ({e.strerror})") from None
    if not os.access(out, os.W_OK):
        raise InputError(f"--out {out}: folder is not writable")
    return out


def save_checkpoint(path, checkpoint: dict) -> Path:
    """Write a checkpoint dict (tensors and plain Python values) atomically."""
    checkpoint = dict(checkpoint, format=CHECKPOINT_FORMAT)
    buf = io.BytesIO()
    torch.save(checkpoint, buf)
    return atomic_write(path, lambda f: f.write(buf.getvalue()))


def load_checkpoint(path, task: str) -> dict:
    """Read a checkpoint written by `save_checkpoint` for `task`, with one-line errors."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for corrupt files
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{path}: not a readable checkpoint ({msg[:120]})") from None
    if not isinstance(ckpt, dict) or "format" not in ckpt or "task" not in ckpt:
        raise InputError(f"{path}: not a PoseGraph checkpoint")
    if ckpt["task"] != task:
        raise InputError(f"{path}: is a {ckpt['task']} checkpoint, expected {task}")
    for key in ("model", "state_dict", "config"):
        if key not in ckpt:
            raise InputError(f"{path}: checkpoint has no '{key}'")
    return ckpt


def save_epoch(out: Path, checkpoint: dict, improved: bool, metric: str) -> None:
    """End of an epoch: `last.pt`, `best.pt` when the metric improved, `loss_curve.png`."""
    from tasks.plots import plot_loss_curve

    save_checkpoint(out / "last.pt", checkpoint)
    if improved:
        save_checkpoint(out / "best.pt", checkpoint)
    plot_loss_curve(read_jsonl(out / "metrics.jsonl"), out / "loss_curve.png", metric=metric)


def restore_training(ckpt: dict, model, optimizer, generator, scheduler=None) -> tuple[int, float]:
    """Load a checkpoint's training state; -> (next epoch, best metric so far)."""
    model.load_state_dict(ckpt["state_dict"])
    optimizer.load_state_dict(ckpt["optimizer"])
    if scheduler is not None and "scheduler" in ckpt:  # (grouping checkpoints before 2026-11-24 have none)
        scheduler.load_state_dict(ckpt["scheduler"])
    generator.set_state(ckpt["rng"]["shuffle"])
    torch.set_rng_state(ckpt["rng"]["torch"])
    return ckpt["epoch"] + 1, ckpt["best_metric"]
