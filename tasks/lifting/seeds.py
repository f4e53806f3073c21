"""Several seeds of one lifting configuration in one process (`train.py lifting --seeds 0,1,2`):
one run folder per seed, trained one after another on a CPU (the cores are already busy) and side
by side on a GPU, each in its own thread on its own CUDA stream, where a single small lifter
leaves most of the device idle; then the seeds' mean and standard deviation."""
from __future__ import annotations

import math
import statistics
import threading
from pathlib import Path
from typing import Callable, Optional

import torch

from core.errors import InputError

SEED_LOCK = threading.Lock()  # held while a run seeds the global generator and draws its weights


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise InputError(f"{{seeds}} {text!r}: expected comma-separated integers, e.g. 0,1,2") from None
    if not seeds or len(set(seeds)) != len(seeds) or any(not 0 <= s < 2**32 for s in seeds):
        raise InputError(f"{{seeds}} {text!r}: expected distinct seeds in [0, 2**32), e.g. 0,1,2")
    return seeds


def seed_of(folder: Path) -> Optional[int]:
    """`.../seed-N` -> N (a seed folder of a --seeds run), else None."""
    name = Path(folder).name
    return int(name[5:]) if name.startswith("seed-") and name[5:].isdigit() else None


def seed_folders(top: Path) -> list[int]:
    """The seeds whose folders (`seed-N`) a --seeds run's folder holds."""
    return sorted(n for p in Path(top).glob("seed-*") if p.is_dir() and (n := seed_of(p)) is not None)


def train_seeds(runs: list[Callable[[], None]], device, parallel: bool | None = None) -> None:
    """Call each run: in turn, or (`parallel`, default: on CUDA) each in its own thread, on its
    own CUDA stream when the device is a GPU. The first run's error is raised after all end."""
    device = torch.device(device)
    if parallel is None:
        parallel = device.type == "cuda"
    if not parallel:
        for run in runs:
            run()
        return
    errors: list[BaseException] = []

    def work(run):
        try:
            if device.type == "cuda":
                with torch.cuda.device(device), torch.cuda.stream(torch.cuda.Stream(device)):
                    run()
                torch.cuda.synchronize(device)
            else:
                run()
        except BaseException as e:  # noqa: BLE001 (re-raised below)
            errors.append(e)

    threads = [threading.Thread(target=work, args=(run,), name=f"seed-run-{i}") for i, run in enumerate(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def seed_summary(records: dict[int, list[dict]], metric: str = "MPJPE") -> dict:
    """{seed: metrics.jsonl records} -> each seed's best and last `metric` (and P-MPJPE there),
    and their mean and sample standard deviation over the seeds."""
    per = {}
    for seed, rs in records.items():
        scored = [r for r in rs if r.get(metric) is not None]
        best = min(scored, key=lambda r: r[metric]) if scored else None
        per[str(seed)] = {"epochs": len(rs), "last_loss": rs[-1]["loss"] if rs else None,
                          f"best_{metric}": best[metric] if best else None, "best_epoch": best["epoch"] if best else None,
                          f"last_{metric}": rs[-1].get(metric) if rs else None,
                          "last_P-MPJPE": rs[-1].get("P-MPJPE") if rs else None}
    out = {"seeds": [int(s) for s in per], "runs": per}
    for key in (f"best_{metric}", f"last_{metric}", "last_P-MPJPE", "last_loss"):
        values = [v[key] for v in per.values() if v[key] is not None]
        if values:
            out[key] = {"mean": statistics.mean(values),
                        "sd": statistics.stdev(values) if len(values) > 1 else 0.0, "n": len(values)}
    return out


def describe_seed_summary(summary: dict) -> str:
    best = summary.get("best_MPJPE")
    if best is None:
        loss = summary["last_loss"]
        return f"{len(summary['seeds'])} seeds: last training loss {loss['mean']:.6f} ± {loss['sd']:.6f}"
    last = summary["last_MPJPE"]
    fmt = lambda m: f"{m['mean']:.2f} ± {m['sd']:.2f} mm" if math.isfinite(m["sd"]) else f"{m['mean']:.2f} mm"  # noqa: E731
    return f"{len(summary['seeds'])} seeds: best MPJPE {fmt(best)}, last epoch {fmt(last)}"
