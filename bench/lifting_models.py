"""Benchmark: every lifting model trained with the same schedule and budget, scored by the same code.

Each model of `tasks.lifting.MODEL_NAMES` is trained by `train.py lifting` on the built-in data
with the default settings (its own sizes, SemGCN's optimiser and schedule, the same epochs) for
seed 0; the three with the lowest MPJPE are trained again with the other seeds. Every final
checkpoint (last.pt: no choice of epoch on the test set) is scored by `evaluate.py lifting
--flip-test`. Training runs `--jobs` at a time with one thread each. Writes OUT/table.md and
OUT/results.json: parameters, MPJPE and P-MPJPE (mean and sample standard deviation over seeds),
MPJPE with flipping, training poses/s (median over epochs after the first, which compiles).
The default budget: 20 epochs with the learning rate x0.96 every 100 steps (to 0.05x by the
end; SemGCN's own decay, every 100,000 steps, leaves a short run at a constant rate, where the
test error of the built-in data moves by 10-25 mm from epoch to epoch).
Usage: python bench/lifting_models.py [--epochs 20] [--seeds 0 1 2] [--top 3] [--jobs 2] [--out runs/models]
    [--extra "--lr-decay-steps 100"]
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

ROOT = Path(__file__).resolve().parents[1]
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


def train_and_score(model: str, seed: int, epochs: int, out: Path, extra: list[str]) -> dict:
    run = out / f"{model}-s{seed}"
    if not (run / "eval" / "eval.json").exists():
        run.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "train.py", "lifting", "--model", model, "--seed", str(seed), "--epochs", str(epochs),
              "--out", str(run), "--no-progress"] + extra, run.with_suffix(".train.log"))
        _run([sys.executable, "evaluate.py", "lifting", "--checkpoint", str(run / "last.pt"), "--flip-test"],
             run.with_suffix(".eval.log"))
    ev = json.loads((run / "eval" / "eval.json").read_text())
    records = read_jsonl(run / "metrics.jsonl")
    speeds = [r["train_poses_per_s"] for r in records[1:]] or [records[0]["train_poses_per_s"]]
    log = run.with_suffix(".train.log").read_text()
    params = int(log.split("(", 1)[1].split(" parameters")[0].replace(",", ""))
    return {"model": model, "seed": seed, "parameters": params, "MPJPE": ev["MPJPE"], "P-MPJPE": ev["P-MPJPE"],
            "MPJPE_flip": ev["flip_test"]["MPJPE"], "P-MPJPE_flip": ev["flip_test"]["P-MPJPE"],
            "best_epoch_MPJPE": min(r["MPJPE"] for r in records), "train_poses_per_s": statistics.median(speeds)}


def _mean_sd(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def table(runs: list[dict]) -> str:
    by = {}
    for r in runs:
        by.setdefault(r["model"], []).append(r)
    rows = sorted(by.items(), key=lambda kv: statistics.mean(r["MPJPE"] for r in kv[1]))
    lines = ["| model | parameters | seeds | MPJPE (mm) | P-MPJPE (mm) | MPJPE, flip test | training poses/s |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, rs in rows:
        lines.append(f"| {name} | {rs[0]['parameters']:,} | {len(rs)} | {_mean_sd([r['MPJPE'] for r in rs])} | "
                     f"{_mean_sd([r['P-MPJPE'] for r in rs])} | {_mean_sd([r['MPJPE_flip'] for r in rs])} | "
                     f"{statistics.median(r['train_poses_per_s'] for r in rs):,.0f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", default=list(MODEL_NAMES))
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--top", type=int, default=3, help="models trained with every seed")
    p.add_argument("--jobs", type=int, default=2, help="training runs at a time (one thread each)")
    p.add_argument("--out", default="runs/models")
    p.add_argument("--extra", default="--lr-decay-steps 100", help="more train.py flags for every run")
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    extra = a.extra.split()

    def batch(jobs: list[tuple[str, int]], desc: str) -> list[dict]:
        with ThreadPoolExecutor(a.jobs) as pool:
            jobs = sorted(jobs, key=lambda j: j[0] != "graformer")  # the slowest first
            futures = [pool.submit(train_and_score, m, s, a.epochs, out, extra) for m, s in jobs]
            return [f.result() for f in tqdm(futures, desc=desc)]

    runs = batch([(m, a.seeds[0]) for m in a.models], f"{len(a.models)} models, seed {a.seeds[0]}")
    top = [r["model"] for r in sorted(runs, key=lambda r: r["MPJPE"])[:a.top]]
    runs += batch([(m, s) for m in top for s in a.seeds[1:]], f"top {a.top}, seeds {a.seeds[1:]}")
    text = table(runs)
    header = (f"Built-in synthetic data, {a.epochs} epochs each (batch 64, Adam 1e-3; `{a.extra}`), "
              f"final checkpoint; seeds {a.seeds} for {', '.join(top)}. Training: {a.jobs} runs at a time, "
              f"1 thread each.\n\n")
    atomic_write(out / "table.md", lambda f: f.write(header + text), mode="w")
    write_json(out / "results.json", {"epochs": a.epochs, "seeds": a.seeds, "top": top, "runs": runs})
    print(header + text)


if __name__ == "__main__":
    main()
