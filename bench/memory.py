"""Benchmark: peak memory of lifting on Human3.6M-sized data (about 1.56M training poses).

Writes the standard files (`data_3d_h36m.npz`, `data_2d_h36m_gt.npz`) at the full frame count
of Human3.6M (50 fps: 390k training frames x 4 cameras, 136k test frames x 4) with synthetic
values, then, in a fresh process, measures the peak resident memory (ru_maxrss) after each
stage: imports, reading both splits, batching, N training steps of `train.py lifting`'s loop
(SemGCN, batch 64; `--steps 0` = a whole epoch), evaluation of the whole test split.
Usage: python bench/memory.py [--folder .cache/h36m_fullsize] [--steps 300] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TRAIN_FRAMES = {"S1": 77_000, "S5": 99_000, "S6": 63_000, "S7": 96_000, "S8": 55_000}  # ~390k
TEST_FRAMES = {"S9": 68_000, "S11": 68_000}  # ~136k
ACTIONS = ["Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing",
           "Purchases", "Sitting", "SittingDown", "Smoking", "Waiting", "WalkDog", "Walking",
           "WalkTogether"]


def write_fullsize(folder: Path) -> None:
    import numpy as np

    from core.atomic_io import atomic_write

    rng = np.random.default_rng(0)
    pos3d, pos2d = {}, {}
    for subject, frames in {**TRAIN_FRAMES, **TEST_FRAMES}.items():
        n = frames // (2 * len(ACTIONS))
        pos3d[subject], pos2d[subject] = {}, {}
        for action in ACTIONS:
            for name in (action, action + " 1"):
                p = (rng.normal(0, 0.3, (n, 32, 3)) + [0, 0, 1]).astype(np.float32)
                pos3d[subject][name] = p
                pos2d[subject][name] = [rng.uniform(0, 1000, (n, 17, 2)).astype(np.float32)
                                        for _ in range(4)]
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "data_2d_h36m_gt.npz", lambda f: np.savez(
        f, positions_2d=np.array(pos2d, dtype=object), metadata=np.array({}, dtype=object)))
    atomic_write(folder / "data_3d_h36m.npz", lambda f: np.savez(
        f, positions_3d=np.array(pos3d, dtype=object)))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(folder: Path, steps: int) -> dict:
    import torch

    from datasets.pose_graph import SkeletonBatcher
    from datasets.skeleton import h36m_skeleton
    from tasks import lifting

    stages = {"imports": peak_mb()}
    cfg = lifting.LiftingConfig(data=str(folder))
    skeleton = h36m_skeleton(cfg.joints)
    t = time.perf_counter()
    train_set = lifting.load_lifting_split(cfg, train=True)
    test_set = lifting.load_lifting_split(cfg, train=False)
    stages["read both splits"] = peak_mb()
    read_s = time.perf_counter() - t
    train_b = SkeletonBatcher.from_poses(train_set, skeleton)
    test_b = SkeletonBatcher.from_poses(test_set, skeleton)
    stages["batchers"] = peak_mb()
    torch.manual_seed(0)
    model = lifting.model_from_spec(lifting.model_spec(cfg.model, skeleton))
    opt = lifting.make_optimizer(model, cfg.lr)
    sched = lifting.make_scheduler(opt, cfg.lr_decay, cfg.lr_decay_steps)
    idx = None
    if steps > 0:
        idx = torch.randperm(len(train_b), generator=torch.Generator().manual_seed(0))[:steps * cfg.batch_size]
    t = time.perf_counter()
    lifting.train_epoch(model, train_b, opt, sched, cfg.batch_size, cfg.max_grad_norm,
                        torch.Generator().manual_seed(0), "cpu", progress=True, indices=idx)
    train_s = time.perf_counter() - t
    stages[f"training ({'whole epoch' if steps == 0 else f'{steps} steps'})"] = peak_mb()
    t = time.perf_counter()
    ev = lifting.evaluate_lifting(model, test_b, test_set.actions, cfg.eval_batch_size, "cpu", progress=True)
    stages["evaluation of the whole test split"] = peak_mb()
    return {"train_poses": len(train_set), "test_poses": len(test_set),
            "peak_rss_mb": stages, "read_seconds": read_s, "train_seconds": train_s,
            "eval_seconds": time.perf_counter() - t, "MPJPE": ev["MPJPE"],
            "pose_arrays_mb": (train_set.x2d.nbytes + train_set.y3d.nbytes + test_set.x2d.nbytes
                               + test_set.y3d.nbytes) / 2 ** 20}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--folder", default=".cache/h36m_fullsize", help="where the full-size files are written (once)")
    ap.add_argument("--steps", type=int, default=300, help="training steps (0: a whole epoch)")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    folder = Path(a.folder)
    if a.measure:
        print(json.dumps(measure(folder, a.steps)))
        return
    if not (folder / "data_3d_h36m.npz").exists():
        print(f"writing full-size files to {folder} ...", flush=True)
        subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r}); "
                        f"from bench.memory import write_fullsize; from pathlib import Path; "
                        f"write_fullsize(Path({str(folder)!r}))"], check=True)
    out = subprocess.run([sys.executable, __file__, "--measure", "--folder", str(folder), "--steps",
                          str(a.steps)], check=True, stdout=subprocess.PIPE, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{result['train_poses']:,} train / {result['test_poses']:,} test poses; pose arrays "
          f"{result['pose_arrays_mb']:.0f} MB; read {result['read_seconds']:.0f} s")
    for stage, mb in result["peak_rss_mb"].items():
        print(f"  peak RSS after {stage:40s} {mb:8.0f} MB")
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
