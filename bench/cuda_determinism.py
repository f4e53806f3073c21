"""Probe: how far apart two identical CUDA training runs end (CUDA only).

Trains each task twice with one seed on the built-in data (lifting 3 epochs, grouping 40 scenes
for 5 epochs) and prints the largest weight difference and the last epoch's metrics of both.
Usage: python bench/cuda_determinism.py [--out /tmp/cuda_determinism]
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
RUNS = (("lifting", ["lifting", "--epochs", "3"], ("loss", "MPJPE")),
        ("grouping", ["grouping", "--num-scenes", "40", "--epochs", "5"], ("loss", "edge_ap")))


def train(args, out: Path):
    subprocess.run([sys.executable, "train.py", *args, "--out", str(out), "--device", "cuda",
                    "--no-progress", "--seed", "3"], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return metrics, torch.load(out / "last.pt", weights_only=True)["state_dict"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", default="/tmp/cuda_determinism", help="folder for the runs")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("bench/cuda_determinism.py: no CUDA device")
    for task, args, keys in RUNS:
        (m1, w1), (m2, w2) = (train(args, Path(a.out) / f"{task}_{run}") for run in "ab")
        diff = max((w1[k].float() - w2[k].float()).abs().max().item() for k in w1 if w1[k].is_floating_point())
        print(f"{task}: max |weight difference| after {len(m1)} epochs {diff:.3g}; "
              + "; ".join(f"{k} {m1[-1][k]:.6f} vs {m2[-1][k]:.6f}" for k in keys), flush=True)


if __name__ == "__main__":
    main()
