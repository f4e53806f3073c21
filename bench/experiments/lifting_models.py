"""Benchmark: every lifting model trained with the same schedule and budget, scored by the same code.

Each model of `tasks.lifting.MODEL_NAMES` is trained by `train.py lifting` on the built-in data
with the default settings (its own sizes, SemGCN's optimiser and schedule, the same epochs) for
seed 0; the three with the lowest MPJPE, and the reference (`semgcn`), are trained again with the
other seeds. Every final
checkpoint (last.pt: no choice of epoch on the test set) is scored by `evaluate.py lifting
--flip-test`. Training runs `--jobs` at a time with one thread each. Writes OUT/table.md and
OUT/results.json: parameters, MPJPE and P-MPJPE (mean and sample standard deviation over seeds),
MPJPE with flipping, training poses/s (each model alone afterwards: `clean_speeds`).
The default budget: 20 epochs with the learning rate x0.96 every 100 steps (to 0.05x by the
end; SemGCN's own decay, every 100,000 steps, leaves a short run at a constant rate, where the
test error of the built-in data moves by 10-25 mm from epoch to epoch).
On real Human3.6M, train on some training subjects and score on another (docs/results.md):
    python bench/experiments/lifting_models.py --seeds 0 --top 0 --out runs/h36m-models \
        --extra "--data ../shared/data/h36m_train --train-subjects S1,S5,S6,S7 --val-subjects none \
                 --downsample 4 --lr-decay-steps 100" --eval-extra "--subjects S8"
Usage: python bench/experiments/lifting_models.py [--epochs 20] [--seeds 0 1 2] [--top 3] [--jobs 2] [--out runs/models]
    [--extra "--lr-decay-steps 100"] [--eval-extra "--subjects S8"]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402

from core.atomic_io import atomic_write, read_jsonl, write_json  # noqa: E402
from tasks.lifting import MODEL_NAMES  # noqa: E402


def _run(cmd: list[str], log: Path) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with open(log, "w") as f:
        done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed (rc {done.returncode}); see {log}")


def train_and_score(model: str, seed: int, epochs: int, out: Path, extra: list[str],
                    eval_extra: tuple[str, ...] = ()) -> dict:
    run = out / f"{model}-s{seed}"
    if not (run / "eval" / "eval.json").exists():
        run.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "train.py", "lifting", "--model", model, "--seed", str(seed), "--epochs", str(epochs),
              "--out", str(run), "--no-progress"] + extra, run.with_suffix(".train.log"))
        _run([sys.executable, "evaluate.py", "lifting", "--checkpoint", str(run / "last.pt"), "--flip-test",
              *eval_extra], run.with_suffix(".eval.log"))
    ev = json.loads((run / "eval" / "eval.json").read_text())
    records = read_jsonl(run / "metrics.jsonl")
    speeds = [r["train_poses_per_s"] for r in records[1:]] or [records[0]["train_poses_per_s"]]
    log = run.with_suffix(".train.log").read_text()
    params = int(log.split("(", 1)[1].split(" parameters")[0].replace(",", ""))
    train_poses = int(log.split(" parameters), ", 1)[1].split(" train")[0].replace(",", ""))
    return {"model": model, "seed": seed, "parameters": params, "MPJPE": ev["MPJPE"], "P-MPJPE": ev["P-MPJPE"],
            "MPJPE_flip": ev["flip_test"]["MPJPE"], "P-MPJPE_flip": ev["flip_test"]["P-MPJPE"],
            "best_epoch_MPJPE": min((r["MPJPE"] for r in records if r["MPJPE"] is not None), default=None),
            "train_poses_per_s": statistics.median(speeds), "train_poses": train_poses,
            "per_action": ev["per_action"], "subjects": ev.get("subjects")}


def _speed(model: str, poses: int, queue) -> None:
    """Training poses/s of one model in a fresh process, as `train.py lifting` trains it by default
    (fixed-topology path, compiled step, bf16 where native), batch 64, after a warm-up epoch."""
    import torch

    from core.device import resolve_precision
    from datasets.pose_graph import SkeletonBatcher
    from datasets.skeleton import H36M16
    from tasks import lifting
    torch.manual_seed(0)
    net = lifting.model_from_spec(lifting.model_spec(lifting.LiftingModelConfig(name=model), H36M16))
    batcher = SkeletonBatcher(H36M16, torch.randn(poses, 16, 2), 0.2 * torch.randn(poses, 16, 3))
    opt = lifting.make_optimizer(net, 1e-3)
    sched = lifting.make_scheduler(opt, 0.96, 100)
    step = lifting.TrainStep(net, opt, sched, 1.0, lifting.dense_data(batcher, "cpu")[2], compile=True,
                             bf16=resolve_precision("auto", torch.device("cpu")) == "bf16",
                             l1_weight=lifting.LiftingConfig(model=lifting.LiftingModelConfig(name=model)).effective_l1_weight)
    run = [lifting.train_epoch(net, batcher, opt, sched, 64, 1.0, torch.Generator().manual_seed(0), "cpu",
                               progress=False, step=step) for _ in range(2)]
    queue.put({"poses_per_s": run[1]["poses_per_s"], "compile_seconds": step.first_call_seconds})


def clean_speeds(models: list[str], poses: int = 6400) -> dict:
    """`_speed` of each model, one at a time, each in its own process with the machine to itself."""
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    out = {}
    for m in tqdm(models, desc="speed"):
        q = ctx.Queue()
        proc = ctx.Process(target=_speed, args=(m, poses, q))
        proc.start()
        out[m] = q.get()
        proc.join()
    return out


def _mean_sd(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def table(runs: list[dict], speeds: dict) -> str:
    by = {}
    for r in runs:
        by.setdefault(r["model"], []).append(r)
    rows = sorted(by.items(), key=lambda kv: statistics.mean(r["MPJPE"] for r in kv[1]))
    lines = ["| model | parameters | seeds | MPJPE (mm) | P-MPJPE (mm) | MPJPE, flip test | training poses/s "
             "| s per epoch |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, rs in rows:
        lines.append(f"| `{name}` | {rs[0]['parameters']:,} | {len(rs)} | {_mean_sd([r['MPJPE'] for r in rs])} | "
                     f"{_mean_sd([r['P-MPJPE'] for r in rs])} | {_mean_sd([r['MPJPE_flip'] for r in rs])} | "
                     + (f"{speeds[name]['poses_per_s']:,.0f} | {rs[0]['train_poses'] / speeds[name]['poses_per_s']:,.0f} |"
                        if name in speeds else "- | - |"))
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", default=list(MODEL_NAMES))
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--top", type=int, default=3, help="models trained with every seed")
    p.add_argument("--reference", default="semgcn", help="also trained with every seed (the targets compare with it)")
    p.add_argument("--jobs", type=int, default=2, help="training runs at a time (one thread each)")
    p.add_argument("--out", default="runs/models")
    p.add_argument("--extra", default="--lr-decay-steps 100", help="more train.py flags for every run")
    p.add_argument("--eval-extra", default="", help="more evaluate.py flags (e.g. --subjects S8)")
    p.add_argument("--no-speeds", action="store_true", help="skip the clean training-speed measurement")
    p.add_argument("--table-only", action="store_true", help="measure speeds, remake the table of OUT/results.json")
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    extra = a.extra.split()
    if a.table_only:
        saved = json.loads((out / "results.json").read_text())
        return finish(a, out, saved["runs"], saved["top"])

    def batch(jobs: list[tuple[str, int]], desc: str) -> list[dict]:
        with ThreadPoolExecutor(a.jobs) as pool:
            jobs = sorted(jobs, key=lambda j: j[0] != "graformer")  # the slowest first
            futures = [pool.submit(train_and_score, m, s, a.epochs, out, extra, tuple(a.eval_extra.split()))
                       for m, s in jobs]
            return [f.result() for f in tqdm(futures, desc=desc)]

    runs = batch([(m, a.seeds[0]) for m in a.models], f"{len(a.models)} models, seed {a.seeds[0]}")
    top = [r["model"] for r in sorted(runs, key=lambda r: r["MPJPE"])[:a.top]]
    every = top + ([a.reference] if a.reference in a.models and a.reference not in top else [])
    runs += batch([(m, s) for m in every for s in a.seeds[1:]], f"{', '.join(every)}: seeds {a.seeds[1:]}")
    write_json(out / "results.json", {"epochs": a.epochs, "seeds": a.seeds, "top": top, "runs": runs})
    finish(a, out, runs, top)


def finish(a, out: Path, runs: list[dict], top: list[str]) -> None:
    speeds = {} if a.no_speeds else clean_speeds(sorted({r["model"] for r in runs}))
    text = table(runs, speeds)
    data = "Built-in synthetic data" if "--data" not in a.extra else "Human3.6M"
    header = (f"{data}, {a.epochs} epochs each (batch 64, Adam 1e-3; `{a.extra}`; scored with `{a.eval_extra}`), "
              f"final checkpoint (mean ± sd over seeds); seeds {a.seeds} for "
              f"{', '.join(dict.fromkeys(top + [a.reference]))}. "
              f"Training poses/s: the default training step (compiled, bf16 where native), batch 64, one "
              f"process with 2 threads.\n\n")
    atomic_write(out / "table.md", lambda f: f.write(header + text), mode="w")
    write_json(out / "results.json", {"epochs": a.epochs, "seeds": a.seeds, "top": top, "runs": runs,
                                      "speeds": speeds})
    print(header + text)


if __name__ == "__main__":
    main()
