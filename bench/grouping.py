"""Benchmark: images/s of the whole grouping decode, GNN against the associative-embedding
decoder, on the same synthesised maps, at 2, 5, 10 and 20 people per image.

Each decode is `tasks.grouping.prediction.predict_image`, what predict.py runs per image. GNN:
maps -> candidates -> tags -> candidate pairs -> features -> EdgeClassifier -> greedy merging ->
persons (COCO results). AE: maps -> candidates -> tags -> Hungarian tag matching -> persons.
Both start from the AE maps in memory (reading and synthesis are not timed).
Then, at 10 people per image, the time of each stage per image, measured inside the same loop
(candidates, graph, features, classifier, decoder and COCO results).
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
from datasets.graph.candidate_graph import build_graph, candidate_graph, candidate_nodes  # noqa: E402
from datasets.graph.candidates import extract_candidates  # noqa: E402
from datasets.coco import DATASET_SKELETONS  # noqa: E402
from tasks.grouping.decoders import decode  # noqa: E402
from tasks.grouping.results import coco_results  # noqa: E402
from datasets.graph.features import finalize_features  # noqa: E402
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


STAGES = ("candidates", "graph", "features", "classifier", "decoder + results")


def stage_times(maps, cfg, scorer, stats, repeats: int) -> dict:
    """ms per image of each stage of both decoders (the steps of `predict_image`, timed in turn)."""
    skeleton = DATASET_SKELETONS[cfg.dataset]
    total = {f"{d} {s}": 0.0 for d in ("gnn", "ae") for s in STAGES}
    for _ in range(repeats):
        for decoder in ("gnn", "ae"):
            for i, m in enumerate(maps):
                t0 = time.perf_counter()
                cands = extract_candidates(m, cfg.graph)
                t1 = time.perf_counter()
                if decoder == "gnn":
                    g = candidate_graph(cands, skeleton, cfg.graph, i)
                    t2 = time.perf_counter()
                    finalize_features(g, skeleton.num_joints, stats=stats, **feature_settings(cfg))
                    t3 = time.perf_counter()
                    probs = scorer(g)
                else:
                    g, probs = candidate_nodes(cands, i), None
                    t2 = t3 = time.perf_counter()
                t4 = time.perf_counter()
                coco_results(i, decode(decoder, g, probs, cfg))
                t5 = time.perf_counter()
                for stage, dt in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                    total[f"{decoder} {stage}"] += dt
    return {k: v / (repeats * len(maps)) * 1e3 for k, v in total.items()}


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
    maps, _ = _maps_of(synthetic_scenes(a.images, seed=10, num_people=10), cfg, np.random.default_rng(10))
    stages = stage_times(maps, cfg, scorer, stats, a.repeats)
    print("ms per image at 10 people:")
    for s in STAGES:
        print(f"  {s:18s} GNN {stages['gnn ' + s]:6.3f}   AE {stages['ae ' + s]:6.3f}")
    if a.json:
        Path(a.json).write_text(json.dumps({"rates": rows, "stage_ms_10_people": stages}, indent=2))


if __name__ == "__main__":
    main()
