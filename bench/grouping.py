"""Benchmark: images/s of the whole grouping decode, GNN against the associative-embedding
decoder, on the same synthesised maps, at 2, 5, 10 and 20 people per image.

Each decode is `tasks.grouping.prediction.predict_image`, what predict.py runs per image. GNN:
maps -> candidates -> tags -> candidate pairs -> features -> EdgeClassifier -> greedy merging ->
persons (COCO results). AE: maps -> candidates -> tags -> Hungarian tag matching -> persons.
Both start from the AE maps in memory (reading and synthesis are not timed).
Usage: python bench/grouping.py [--checkpoint best.pt] [--images N] [--repeats R] [--device cpu|cuda] [--eager]
       [--json PATH]
Without a checkpoint the classifier has random weights (the work per image is the same).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.cli import HelpFormatter  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from datasets.ae_maps import synthesize_maps  # noqa: E402
from datasets.coco import persons_by_image, quiet_coco  # noqa: E402
from datasets.candidate_graph import build_graph  # noqa: E402
from datasets.graph_features import finalize_features  # noqa: E402
from tasks.grouping.data import feature_settings  # noqa: E402
from tasks.grouping.prediction import predict_image  # noqa: E402
from datasets.skeleton import COCO17  # noqa: E402
from datasets.synthetic_scenes import synthetic_scenes  # noqa: E402
from tasks import grouping  # noqa: E402
from core.checkpoint import load_checkpoint  # noqa: E402


def _maps_of(scenes: dict, cfg: grouping.GroupingConfig, rng):
    """COCO-format scenes -> (AE maps per image, persons_by_image)."""
    gt = quiet_coco(scenes)
    people = persons_by_image(gt, 17)
    return [synthesize_maps(img["width"], img["height"], people[i][2], 17, cfg.synth, rng)
            for i, img in sorted(gt.imgs.items())], people


@torch.inference_mode()  # both decoders: no autograd bookkeeping, as evaluate.py decodes
def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=HelpFormatter)
    ap.add_argument("--checkpoint", default=None, help="grouping checkpoint (None: an untrained classifier of the default size)")
    ap.add_argument("--images", type=int, default=20, help="images per crowd size")
    ap.add_argument("--repeats", type=int, default=5, help="alternating passes; the median is reported")
    ap.add_argument("--device", default="cpu", help="cpu | cuda (the classifier's device)")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--eager", action="store_true", help="run the fused classifier without compiling it")
    a = ap.parse_args()
    device = torch.device(a.device)
    if a.checkpoint:
        ckpt = load_checkpoint(a.checkpoint, "grouping")
        cfg = grouping.GroupingConfig.from_dict(ckpt["config"])
        model = grouping.model_from_spec(ckpt["model"])
        model.load_state_dict(ckpt["state_dict"])
        stats = ckpt["normalization"]["tag_stats"]
    else:
        cfg, stats = grouping.GroupingConfig(), None
        torch.manual_seed(0)
        model = grouping.model_from_spec(grouping.model_spec(cfg, tag_dim=1))
    # As evaluate.py runs it: eval mode, BatchNorms folded, AOTInductor-compiled (cached) for the example graph.
    example = _maps_of(synthetic_scenes(1, seed=99, num_people=5), cfg, np.random.default_rng(99))[0][0]
    g = build_graph(example, COCO17, cfg.graph)
    g = finalize_features(g, 17, stats=stats, **feature_settings(cfg))
    scorer = grouping.PairScorer(model, device, compile="off" if a.eager else "on")
    scorer.prepare(g)  # compiled (or loaded from the cache) before timing
    print(f"machine: {platform.machine()}, torch {torch.__version__}, threads "
          f"{torch.get_num_threads()}, device {device}, model {'trained' if a.checkpoint else 'random weights'}"
          f"{', eager' if a.eager else ', compiled (AOTInductor)'}")
    rows = []
    for n in (2, 5, 10, 20):
        maps, people = _maps_of(synthetic_scenes(a.images, seed=n, num_people=n), cfg, np.random.default_rng(n))
        predict_image(maps[0], 0, "gnn", cfg, scorer, stats)  # warm-up
        predict_image(maps[0], 0, "ae", cfg)
        gnn_rates, ae_rates = [], []
        for _ in range(a.repeats):  # passes alternate, the median pass is reported
            t = time.perf_counter()
            for m in maps:
                predict_image(m, 0, "gnn", cfg, scorer, stats)
            gnn_rates.append(len(maps) / (time.perf_counter() - t))
            t = time.perf_counter()
            for m in maps:
                predict_image(m, 0, "ae", cfg)
            ae_rates.append(len(maps) / (time.perf_counter() - t))
        gnn, ae = float(np.median(gnn_rates)), float(np.median(ae_rates))
        persons = np.mean([len(p[0]) for p in people.values()])
        rows.append({"people": n, "annotated_people": float(persons), "gnn_images_per_s": gnn,
                     "ae_images_per_s": ae, "ratio": gnn / ae})
        print(f"{n:3d} people/image ({persons:4.1f} in view): GNN {gnn:7.1f} images/s   "
              f"AE {ae:7.1f} images/s   GNN/AE {gnn / ae:.2f}x", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
