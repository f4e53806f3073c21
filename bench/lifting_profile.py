"""Where a lifting training step's time goes: operators and host synchronisations per step.

Runs `tasks.lifting.TrainStep` (what `train.py lifting` runs: forward, loss, backward, gradient
clipping, Adam, the schedule) on batches gathered from device-resident poses, under
`torch.profiler`, eager and compiled, and counts per step: operator calls (aten), host
synchronisations (`aten::_local_scalar_dense`, behind every `.item()`: a value read back to Python,
which on a GPU waits for the device), and on CUDA kernel launches and `cudaStreamSynchronize` /
`cudaMemcpy` device-to-host calls; with `--sync-debug` on CUDA, `torch.cuda.set_sync_debug_mode`
names each synchronising call. Prints a table (docs/speed.md).
Usage: python bench/lifting_profile.py [--device cpu|cuda] [--model semgcn] [--batch-size 64] [--steps 20]
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from datasets.pose_graph import SkeletonBatcher  # noqa: E402
from datasets.skeleton import H36M16  # noqa: E402
from tasks import lifting  # noqa: E402

SYNC_OPS = ("aten::_local_scalar_dense",)  # the read behind every aten::item (counted once)
CUDA_SYNC = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaMemcpy", "cudaEventSynchronize")


def profile_step(model_name: str, device: str, batch: int, steps: int, compile: bool, bf16: bool) -> dict:
    torch.manual_seed(0)
    net = lifting.model_from_spec(lifting.model_spec(lifting.LiftingModelConfig(name=model_name), H36M16)).to(device)
    poses = 64 * batch
    batcher = SkeletonBatcher(H36M16, torch.randn(poses, 16, 2), 0.2 * torch.randn(poses, 16, 3))
    x_all, y_all, template = lifting.dense_data(batcher, device)
    opt = lifting.make_optimizer(net, 1e-3)
    sched = lifting.make_scheduler(opt, 0.96, 100_000)
    step = lifting.TrainStep(net, opt, sched, 1.0, template, compile=compile, bf16=bf16)
    order = torch.randperm(poses, device=device)
    total = torch.zeros((), device=device)
    for s in range(5):  # warm-up (compilation, CUDA graph recording)
        idx = order[s * batch:(s + 1) * batch]
        total += step(x_all[idx], y_all[idx]) * idx.numel()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    with profile(activities=acts) as prof:
        for s in range(5, 5 + steps):
            idx = order[s * batch:(s + 1) * batch]
            total += step(x_all[idx], y_all[idx]) * idx.numel()
        float(total)  # the epoch's one read-back
    counts = collections.Counter()
    for e in prof.events():
        name = e.name
        if name.startswith("aten::"):
            counts["aten ops"] += 1
        if name in SYNC_OPS:
            counts["host syncs (item)"] += 1
        if name in CUDA_SYNC:
            counts["CUDA syncs / D2H copies"] += 1
        if name.startswith(("cudaLaunchKernel", "cuLaunchKernel", "cudaGraphLaunch")):
            counts["kernel / graph launches"] += 1
    return {k: v / steps for k, v in counts.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--model", default="semgcn", choices=list(lifting.MODEL_NAMES))
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--sync-debug", action="store_true", help="CUDA: warn at every synchronising call")
    a = p.parse_args(argv)
    if a.sync_debug and a.device == "cuda":
        torch.cuda.set_sync_debug_mode("warn")
    rows = []
    for compile in (False, True):
        for bf16 in (False, True):
            c = profile_step(a.model, a.device, a.batch_size, a.steps, compile, bf16)
            rows.append((f"{'compiled' if compile else 'eager'}, {'bf16' if bf16 else 'fp32'}", c))
    keys = sorted({k for _, c in rows for k in c})
    print(f"{a.model}, batch {a.batch_size}, {a.device}: per training step (mean of {a.steps})")
    print("| step | " + " | ".join(keys) + " |\n|---|" + "---:|" * len(keys))
    for name, c in rows:
        print(f"| {name} | " + " | ".join(f"{c.get(k, 0):.1f}" for k in keys) + " |")


if __name__ == "__main__":
    main()
