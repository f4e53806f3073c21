"""Benchmark: SemGCN as `train.py lifting` trains it against a dense batched SemGCN.

In one run, for each device (CPU, and CUDA when present) and batch size (64, 1024):

- training throughput (poses/s): ours = `tasks.lifting.train_epoch` (the fixed-topology path,
  data on the device, Adam, gradient clipping and the LR schedule included) eager fp32, compiled
  (`--compile`), bf16 (`--precision bf16`) and both, against a plain eager loop over pre-batched
  tensors with `DenseSemGCN` (same optimizer, clipping); compile time (the first step) reported;
- inference throughput (poses/s), eval mode, no gradients;
- peak memory: CUDA `max_memory_allocated`; on CPU the growth of the process's peak RSS over
  its resident size after data and model set-up (each measurement runs in its own process).

The two models share weights (copied) and their outputs are checked equal first.
Usage: python bench/lifting.py [--device cpu|cuda|all] [--poses N] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.cli import HelpFormatter  # noqa: E402
import torch  # noqa: E402

from datasets.h36m import TRAIN_SUBJECTS, load_h36m  # noqa: E402
from datasets.pose_graph import SkeletonBatcher  # noqa: E402
from datasets.skeleton import H36M16  # noqa: E402
from datasets.synthetic.h36m import synthetic_h36m_dir  # noqa: E402
from gnn.models import DenseSemGCN  # noqa: E402
from tasks import lifting  # noqa: E402


IMPLS = ("ours", "ours-compile", "ours-bf16", "ours-compile-bf16")


def _models(device):
    torch.manual_seed(0)
    cfg = lifting.LiftingModelConfig("semgcn")
    pyg = lifting.model_from_spec(lifting.model_spec(cfg, H36M16)).to(device)
    dense = DenseSemGCN(16, H36M16.edge_index()).to(device)
    dense.load_state_dict(pyg.state_dict())
    return pyg, dense


def _data(poses: int):
    train = load_h36m(synthetic_h36m_dir(), "gt", 16, TRAIN_SUBJECTS)
    x, y = torch.from_numpy(train.x2d), torch.from_numpy(train.y3d)
    reps = -(-poses // len(x))
    return x.repeat(reps, 1, 1)[:poses], y.repeat(reps, 1, 1)[:poses]


def check_equal(device) -> float:
    pyg, dense = _models(device)
    x, _ = _data(256)
    batcher = SkeletonBatcher(H36M16, x)
    batch = batcher.batch(torch.arange(256), device)
    worst = 0.0
    for mode in (True, False):
        pyg.train(mode), dense.train(mode)
        with torch.no_grad():
            a = lifting.predict(pyg, batch).view(-1, 16, 3)
            b = dense(x.to(device))
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
        worst = max(worst, float((a - b).abs().max()))
    return worst


def _current_rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(impl: str, mode: str, batch_size: int, poses: int, device_name: str, queue):
    """One measurement in a fresh process: -> queue.put(dict)."""
    torch.set_num_threads(torch.get_num_threads())
    device = torch.device(device_name)
    pyg, dense = _models(device)
    x, y = _data(poses)
    ours = impl.startswith("ours")
    model = pyg if ours else dense
    # ours: Adam as train.py runs it (fused); the reference: the plain per-tensor Adam of the original code
    opt = lifting.make_optimizer(model, 1e-3) if ours else torch.optim.Adam(model.parameters(), lr=1e-3)
    step = None
    if ours:
        batcher = SkeletonBatcher(H36M16, x, y)
        sched = lifting.make_scheduler(opt, 0.96, 100_000)
        if mode == "train":
            step = lifting.TrainStep(model, opt, sched, 1.0, lifting.dense_data(batcher, device)[2],
                                     compile="compile" in impl, bf16="bf16" in impl)
    else:
        xb = [t.to(device) for t in x.split(batch_size)]  # pre-batched, on the device
        yb = [t.to(device) for t in y.split(batch_size)]

    def run_once():
        if ours and mode == "train":
            lifting.train_epoch(model, batcher, opt, sched, batch_size, 1.0,
                                torch.Generator().manual_seed(0), device, progress=False, step=step)
        elif ours:
            lifting.predict_all(model, batcher, batch_size, device)
        elif mode == "train":
            model.train()
            for xi, yi in zip(xb, yb):
                loss = torch.nn.functional.mse_loss(model(xi), yi)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
                opt.step()
        else:
            model.eval()
            with torch.no_grad():
                for xi in xb:
                    model(xi)

    base_rss_kb = _current_rss_kb()  # after data and model set-up
    run_once()  # warm-up
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    run_once()
    _sync(device)
    seconds = time.perf_counter() - start
    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated() / 2 ** 20
    else:
        peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_rss_kb) / 1024
    queue.put({"impl": impl, "mode": mode, "batch": batch_size, "device": device_name,
               "poses_per_s": poses / seconds, "peak_mb": peak_mb, "seconds": seconds,
               "first_step_seconds": step.first_call_seconds if step is not None else None})


def run_isolated(*args):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=measure, args=(*args, q))
    p.start()
    result = q.get()
    p.join()
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=HelpFormatter)
    ap.add_argument("--device", default="all", choices=["cpu", "cuda", "all"], help="all: the CPU, and CUDA when present")
    ap.add_argument("--poses", type=int, default=12_800, help="poses per measurement (CPU)")
    ap.add_argument("--cuda-poses", type=int, default=262_144, help="poses per measurement (CUDA)")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True, help="also the bf16 variants")
    a = ap.parse_args()
    devices = ["cpu", "cuda"] if a.device == "all" else [a.device]
    if "cuda" in devices and not torch.cuda.is_available():
        devices.remove("cuda")
    synthetic_h36m_dir()
    print(f"machine: {platform.processor() or platform.machine()}, {mp.cpu_count()} CPUs, "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    rows = []
    for dev in devices:
        err = check_equal(torch.device(dev))
        print(f"[{dev}] SemGCN (graph path) == dense SemGCN (max abs diff {err:.1e})")
        poses = a.poses if dev == "cpu" else a.cuda_poses
        for mode in ("train", "infer"):
            for bs in (64, 1024):
                n = poses if mode == "train" else poses * 4
                ref = run_isolated("dense", mode, bs, n, dev)
                line = f"[{dev}] {mode:5s} batch {bs:5d}: dense reference {ref['poses_per_s']:8.0f} poses/s"
                for impl in (IMPLS if mode == "train" else ("ours",)):
                    if "bf16" in impl and not a.bf16:
                        continue
                    r = run_isolated(impl, mode, bs, n, dev)
                    rows.append({"device": dev, "mode": mode, "batch": bs, "impl": impl, "ours": r, "dense": ref,
                                 "speed_ratio": r["poses_per_s"] / ref["poses_per_s"]})
                    first = f", first step {r['first_step_seconds']:.1f} s" if r["first_step_seconds"] else ""
                    line += (f" | {impl} {r['poses_per_s']:8.0f} ({rows[-1]['speed_ratio']:.2f}x, "
                             f"{r['peak_mb']:.0f} MB{first})")
                print(line, flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
