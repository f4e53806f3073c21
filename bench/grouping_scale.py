"""Benchmark: grouping training on a large folder of AE map files. Writes N synthesised map files
(once), then measures, each in a fresh process: building the graphs from the files (images/s;
the graph cache cold), the same with the cache warm, and one training epoch (images/s) with 0
and 2 DataLoader workers computing the batches' features; peak resident memory of each.
Usage: python bench/grouping_scale.py [--images 5000] [--folder .cache/scale] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.cli import HelpFormatter  # noqa: E402

MEASURE = """
import resource, subprocess, sys, time, json
t = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(json.dumps({"seconds": time.perf_counter() - t,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def measured(cmd: list[str]) -> dict:
    """Wall time and peak RSS (MB) of `cmd` run in a fresh process."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], check=True, capture_output=True, text=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    ap.add_argument("--images", type=int, default=5000, help="map files")
    ap.add_argument("--folder", default=".cache/scale", help="where the map files and runs go")
    ap.add_argument("--json", default=None, help="also write the results here")
    a = ap.parse_args()
    folder = (REPO / a.folder).resolve()
    ann, maps = folder / "annotations.json", folder / f"maps{a.images}"
    py = sys.executable
    if not maps.is_dir() or len(list(maps.glob("*.npz"))) != a.images:
        print(f"writing {a.images} map files to {maps} ...", flush=True)
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([py, "-c", "import sys; sys.path.insert(0, '.'); from core.atomic_io import write_json; "
                        "from datasets.synthetic.scenes import synthetic_scenes; "
                        f"write_json({str(ann)!r}, synthetic_scenes({a.images}, seed=5))"], check=True, cwd=REPO)
        subprocess.run([py, "bench/write_maps.py", "--annotations", str(ann), "--out", str(maps), "--seed", "5"],
                       check=True, cwd=REPO)
    size = sum(p.stat().st_size for p in maps.glob("*.npz")) / 2 ** 20
    cache = folder / "graph_cache"
    shutil.rmtree(cache, ignore_errors=True)
    build = [py, "-c", "import sys; sys.path.insert(0, '.'); from tasks.grouping import GroupingConfig, "
             "prepare_grouping_data; "
             f"prepare_grouping_data(GroupingConfig(maps={str(maps)!r}, synth_copies=1, graph_cache={str(cache)!r}), "
             f"{str(ann)!r}, 0)"]
    rows = {"images": a.images, "map_files_mb": size, "machine": platform.machine(),
            "build_cold": measured(build), "build_cached": measured(build)}
    for workers in (0, 2):
        out = folder / f"run_w{workers}"
        shutil.rmtree(out, ignore_errors=True)
        r = measured([py, "train.py", "grouping", "--annotations", str(ann), "--maps", str(maps), "--epochs", "1",
                      "--graph-cache", str(cache), "--workers", str(workers), "--out", str(out), "--no-progress"])
        epoch = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
        n_train = a.images - round(0.2 * a.images)
        rows[f"train_w{workers}"] = {**r, "epoch_seconds": epoch["seconds"], "train_images_per_s": n_train / epoch["seconds"]}
    for k in ("build_cold", "build_cached"):
        rows[k]["images_per_s"] = a.images / rows[k]["seconds"]
    print(f"{a.images} map files ({size:.0f} MB), {platform.machine()}")
    print(f"graph building, cache cold:  {rows['build_cold']['images_per_s']:7.1f} images/s, "
          f"peak {rows['build_cold']['peak_rss_mb']:.0f} MB")
    print(f"graph building, cache warm:  {rows['build_cached']['images_per_s']:7.1f} images/s, "
          f"peak {rows['build_cached']['peak_rss_mb']:.0f} MB")
    for w in (0, 2):
        t = rows[f"train_w{w}"]
        print(f"training, {w} workers:        {t['train_images_per_s']:7.1f} images/s (epoch {t['epoch_seconds']:.0f} s), "
              f"peak {t['peak_rss_mb']:.0f} MB (whole run {t['seconds']:.0f} s)")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
