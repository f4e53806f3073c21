"""Self-describing checkpoints: written atomically, read with one-line errors, a model rebuilt
from its spec, a training state restored."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import torch

from core.atomic_io import atomic_write
from core.errors import InputError

CHECKPOINT_FORMAT = 1
TASK_KEYS = {"lifting": ("skeleton",)}  # what a task's checkpoint needs besides model, weights and config


def save_checkpoint(path, checkpoint: dict) -> Path:
    """Write a checkpoint dict (tensors and plain Python values) atomically."""
    checkpoint = dict(checkpoint, format=CHECKPOINT_FORMAT)
    buf = io.BytesIO()
    torch.save(checkpoint, buf)
    return atomic_write(path, lambda f: f.write(buf.getvalue()))


def read_checkpoint_file(path):
    """The object a torch checkpoint file holds (tensors and plain values only: `weights_only`,
    numpy scalars allowed, as other projects' checkpoints store metrics so), one-line errors."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: checkpoint not found")
    if path.is_dir():
        raise InputError(f"{path}: a folder, not a checkpoint file (a run's checkpoint is OUT/best.pt or OUT/last.pt)")
    with open(path, "rb") as f:
        head = f.read(4)
    if not (head.startswith(b"PK") or head[:1] == b"\x80"):  # torch.save: a zip archive (or an old raw pickle)
        kind = "empty" if not head else "text" if all(32 <= b < 127 or b in (9, 10, 13) for b in head) else "other data"
        raise InputError(f"{path}: not a PyTorch checkpoint file ({kind}, not what torch.save writes)")
    try:
        with torch.serialization.safe_globals(_NUMPY_SCALARS):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for corrupt files
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{path}: not a readable checkpoint ({_shortened(msg, 120)})") from None


def _shortened(text: str, limit: int) -> str:
    """`text`, cut at a word boundary before `limit` characters (with '...')."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") + " ..."


def _numpy_scalar_globals() -> list:
    """numpy scalars and dtypes, under numpy 2's module names and numpy 1's (older pickles)."""
    import numpy as np
    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # numpy 1
        from numpy.core.multiarray import scalar
    dtypes = [type(np.dtype(t)) for t in ("float64", "float32", "int64", "int32")]
    return [scalar, (scalar, "numpy.core.multiarray.scalar"), np.dtype] + dtypes


_NUMPY_SCALARS = _numpy_scalar_globals()


def load_checkpoint(path, task: str) -> dict:
    """Read a checkpoint written by `save_checkpoint` for `task`, with one-line errors."""
    return validate_checkpoint(read_checkpoint_file(path), path, task)


def validate_checkpoint(ckpt, path, task: str) -> dict:
    """A checkpoint file's object checked as a PoseGraph checkpoint of `task`."""
    if not isinstance(ckpt, dict) or "format" not in ckpt or "task" not in ckpt:
        raise InputError(f"{path}: not a PoseGraph checkpoint")
    if ckpt["task"] != task:
        raise InputError(f"{path}: is a {ckpt['task']} checkpoint, expected {task}")
    for key in ("model", "state_dict", "config") + TASK_KEYS.get(task, ()):
        if key not in ckpt:
            raise InputError(f"{path}: checkpoint has no '{key}'")
    return ckpt


def checkpoint_config(ckpt: dict, path, from_dict: Callable):
    """The run configuration a checkpoint recorded (`from_dict(ckpt["config"])`), one-line errors."""
    try:
        return from_dict(ckpt["config"])
    except (TypeError, KeyError, AttributeError) as e:  # an unknown or missing field
        raise InputError(f"{path}: its config does not fit this version's settings ({e})") from None


def rebuild_model(ckpt: dict, path, from_spec: Callable[[dict], torch.nn.Module]) -> torch.nn.Module:
    """The model a checkpoint describes (`from_spec(ckpt["model"])`), with its weights."""
    try:
        model = from_spec(ckpt["model"])
        state = ckpt["state_dict"]
        if state and all(k.startswith("module.") for k in state):  # saved from a DataParallel / DDP wrapper
            state = {k.removeprefix("module."): v for k, v in state.items()}
        model.load_state_dict(state)
    except (KeyError, TypeError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{path}: weights do not fit the model it describes ({first[:120]})") from None
    return model


def restore_training(ckpt: dict, path, model, optimizer, generator, scheduler) -> tuple[int, float]:
    """Load a checkpoint's training state; -> (next epoch, best metric so far)."""
    for key in ("optimizer", "scheduler", "rng", "epoch", "best_metric"):
        if key not in ckpt:
            raise InputError(f"{path}: checkpoint has no '{key}', so a run cannot resume from it")
    try:
        model.load_state_dict(ckpt["state_dict"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        generator.set_state(ckpt["rng"]["shuffle"])
        torch.set_rng_state(ckpt["rng"]["torch"])
        epoch, best = int(ckpt["epoch"]), float(ckpt["best_metric"])
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{path}: its training state does not fit this run ({first[:120]})") from None
    return epoch + 1, best
