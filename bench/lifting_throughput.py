"""Benchmark: how to spend the CPU on lifting training -- one job with every thread, or several
1-thread jobs side by side.

Each configuration trains the default lifter (`modulated`, its loss, Adam, clipping, the schedule,
mirroring: what `train.py lifting` runs) on real Human3.6M poses when `--data` is given (else the
built-in ones) with `tasks.lifting.train_epoch`, and reports poses/s over `--poses` poses after a
warm-up epoch (compilation included in the warm-up). `--jobs N` starts N such processes at once,
each with `OMP_NUM_THREADS=--threads`, and reports each one's rate and their sum: the machine's
throughput for N runs in parallel. Each measurement runs in fresh processes.

Usage: python bench/lifting_throughput.py [--data DIR] [--poses N] [--json PATH]
       [--configs "jobs:threads:batch:compile:precision ..."]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# jobs:threads:batch:compile:precision -- one job with both threads against two and four 1-thread jobs
DEFAULT_CONFIGS = ("1:2:64:off:fp32 1:2:64:on:fp32 1:2:256:on:fp32 1:2:64:on:bf16 "
                   "2:1:64:on:fp32 2:1:256:on:fp32 4:1:64:on:fp32")


def worker(a) -> None:
    """One timed training job (run in its own process): prints a json line."""
    import torch
    from datasets.pose_graph import SkeletonBatcher
    from datasets.skeleton import h36m_skeleton
    from tasks import lifting
    cfg = lifting.LiftingConfig(data=a.data, train_subjects=("S1", "S5", "S6", "S7"), val_subjects=(),
                                batch_size=a.batch, downsample=a.downsample)
    skeleton = h36m_skeleton(cfg.joints)
    train = lifting.load_lifting_split(cfg, train=True)
    # the timed epoch: `poses` poses spread evenly over the set (a warm-up epoch of them first)
    import dataclasses
    import numpy as np
    pick = np.linspace(0, len(train) - 1, min(a.poses, len(train))).astype(np.int64)
    keep = len(pick)
    train = dataclasses.replace(train, x2d=train.x2d[pick], y3d=train.y3d[pick], subject=train.subject[pick],
                                action=train.action[pick], camera=train.camera[pick])
    batcher = SkeletonBatcher.from_poses(train, skeleton)
    torch.manual_seed(0)
    model = lifting.model_from_spec(lifting.model_spec(cfg.model, skeleton))
    opt = lifting.make_optimizer(model, cfg.lr)
    sched = lifting.make_scheduler(opt, cfg.lr_decay, cfg.lr_decay_steps)
    template = lifting.dense_data(batcher, "cpu")[2]
    step = lifting.TrainStep(model, opt, sched, cfg.max_grad_norm, template, compile=a.compile == "on",
                             bf16=a.precision == "bf16", l1_weight=cfg.effective_l1_weight)
    gen = torch.Generator().manual_seed(0)
    warm = time.perf_counter()
    lifting.train_epoch(model, batcher, opt, sched, a.batch, cfg.max_grad_norm, gen, progress=False,
                        step=step, augment=cfg.augment)
    warm = time.perf_counter() - warm
    stats = lifting.train_epoch(model, batcher, opt, sched, a.batch, cfg.max_grad_norm, gen, progress=False,
                                step=step, augment=cfg.augment)
    print(json.dumps({"poses_per_s": stats["poses_per_s"], "warmup_s": warm, "poses": keep,
                      "threads": torch.get_num_threads()}), flush=True)


def measure(jobs: int, threads: int, batch: int, compile: str, precision: str, a) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    cmd = [sys.executable, __file__, "--worker", "--batch", str(batch), "--compile", compile,
           "--precision", precision, "--poses", str(a.poses), "--downsample", str(a.downsample)]
    if a.data:
        cmd += ["--data", a.data]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(jobs)]
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    rates = [o["poses_per_s"] for o in outs]
    return {"jobs": jobs, "threads": threads, "batch": batch, "compile": compile, "precision": precision,
            "per_job": rates, "total": sum(rates), "warmup_s": max(o["warmup_s"] for o in outs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="Human3.6M folder (default: the built-in data)")
    ap.add_argument("--poses", type=int, default=25_600, help="poses per timed epoch")
    ap.add_argument("--downsample", type=int, default=1, help="keep every S-th frame (spreads the poses over actions)")
    ap.add_argument("--configs", default=DEFAULT_CONFIGS, help="jobs:threads:batch:compile:precision, space-separated")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=64, help=argparse.SUPPRESS)
    ap.add_argument("--compile", default="on", help=argparse.SUPPRESS)
    ap.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a)
        return
    from core.device import bf16_native
    import torch
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"bf16 in hardware: {bf16_native(torch.device('cpu'))}; data: {a.data or 'built-in'}; "
          f"{a.poses:,} poses per timed epoch", flush=True)
    results, base = [], None
    for text in a.configs.split():
        jobs, threads, batch, comp, prec = text.split(":")
        r = measure(int(jobs), int(threads), int(batch), comp, prec, a)
        base = base or r["total"]
        r["vs_first"] = r["total"] / base
        results.append(r)
        print(f"{r['jobs']} job(s) x {r['threads']} thread(s), batch {r['batch']:4d}, compile {comp:3s}, {prec}: "
              f"{r['total']:7,.0f} poses/s in all ({r['vs_first']:.2f}x the first), per job "
              f"{', '.join(f'{x:,.0f}' for x in r['per_job'])}; warm-up {r['warmup_s']:.0f} s", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
