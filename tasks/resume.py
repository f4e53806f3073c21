"""The settings of a resumed run: those its checkpoint recorded, with the flags given explicitly
on the command line on top. A resume continues the run it names, in the checkpoint's folder;
a flag may change only what does not change that run's results so far (more epochs, the
device, worker processes, where the data or the graph cache now lie). Any other change is
refused in one line; an accepted change is printed and recorded in the checkpoint."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from core.checkpoint import checkpoint_config, load_checkpoint
from core.errors import InputError

# Fields a resume may change: they do not alter the epochs already trained. `epochs` only where
# the learning-rate schedule does not depend on it (`fixed_length`).
CHANGEABLE = ("epochs", "device", "workers", "graph_cache", "data", "annotations", "maps", "compile")


@dataclass
class Resumed:
    path: str
    epoch: int  # the checkpoint's epoch
    changes: dict = field(default_factory=dict)  # field -> (the run's value, the new value)
    history: list = field(default_factory=list)  # every resume's changes, the checkpoint's "resumes"


def flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _unflatten(flat: dict) -> dict:
    out: dict = {}
    for key, v in flat.items():
        *parents, name = key.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[name] = v
    return out


def resume_config(a, task: str, cfg, default_cfg, from_dict: Callable, fixed_length: Callable) -> tuple:
    """-> (the resumed run's config, `Resumed`). `cfg`: the config of the command line, `default_cfg`:
    that of the same command without any flag (to see what a preset or flag changed); `a._given`,
    `a._parser`: the flags given explicitly and their parser (`core.cli.run_task`).
    `fixed_length(cfg)`: whether its schedule allows more or fewer epochs."""
    ckpt = load_checkpoint(a.resume, task)
    if "epoch" not in ckpt:
        raise InputError(f"{a.resume}: checkpoint has no 'epoch', so a run cannot resume from it")
    run = checkpoint_config(ckpt, a.resume, from_dict)
    old, new, default = flatten(run.to_dict()), flatten(cfg.to_dict()), flatten(default_cfg.to_dict())
    merged, changes = dict(old), {}
    folder = str(Path(a.resume).parent)
    for key, value in new.items():
        if key == "out":
            continue
        dest = a._parser.dest_of(key)
        explicit = (dest is not None and dest in a._given) or value != default.get(key)
        if explicit and value != old.get(key):
            if key not in CHANGEABLE or (key == "epochs" and not fixed_length(run)):
                why = " (its learning-rate schedule is laid out for its epochs)" if key == "epochs" else ""
                raise InputError(f"{{{key}}} {value}: the run of {a.resume} has {old.get(key)}{why}; a resume "
                                 f"continues its settings: leave the flag out, or start a new run")
            merged[key], changes[key] = value, (old.get(key), value)
    if "out" in a._given and Path(a.out).resolve() != Path(folder).resolve():
        raise InputError(f"{{out}} {a.out}: a resume continues in the folder of {a.resume} ({folder})")
    merged["out"] = folder
    resumed = Resumed(str(a.resume), ckpt["epoch"], changes,
                      list(ckpt.get("resumes", [])) + ([{"at_epoch": ckpt["epoch"] + 1,
                                                        "changed": {k: list(v) for k, v in changes.items()}}]
                                                       if changes else []))
    return from_dict(_unflatten(merged)), resumed


def describe(r: Resumed, flag_for: Callable[[str], str]) -> str:
    changed = ", ".join(f"{flag_for(k)} {old} -> {new}" for k, (old, new) in r.changes.items())
    return (f"resuming {r.path} after epoch {r.epoch}: its settings"
            + (f", changed: {changed}" if changed else " (no flag changes them)"))
