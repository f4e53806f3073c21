"""Benchmark: images/s of the whole grouping decode, GNN against the associative-embedding
decoder, on the same maps (the GNN `--batch` images per classifier call, as predict.py runs it):
clean synthesised scenes at 2, 5, 10 and 20 people per image, and a
cluttered setting: real COCO layouts (the 80 train2017 images of ../shared, else 80 built-in
scenes) with the maps of the second and third generators (false-positive peaks, ghosts, misses).
In the cluttered setting both the whole decode (maps -> COCO results) and the part after the
candidates (candidates -> results) are timed, the GNN one image per classifier call and
`--batch` images per call.

Each decode is `tasks.grouping.prediction.predict_batch`, what predict.py runs. GNN: maps ->
candidates -> tags -> candidate pairs and features of the batch's graphs (one pass) ->
EdgeClassifier (one call) -> greedy merging, fragments attached, the person floor -> persons
(COCO results). AE: maps -> candidates -> tags -> Hungarian tag matching -> persons.
Both start from the AE maps in memory (reading and synthesis are not timed).
Then, at 10 people per image, the time of each stage per image, one image at a time, measured
inside the same loop (candidates, graph, features, classifier, decoder and COCO results).
Usage: python bench/grouping.py [--checkpoint best.pt] [--images N] [--repeats R] [--device cpu|cuda] [--eager]
       [--batch 32] [--layouts GT.json] [--json PATH]
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

from datasets.synthetic.ae_maps import synthesize_maps  # noqa: E402
from datasets.coco import persons_by_image, quiet_coco  # noqa: E402
from datasets.graph.candidate_graph import build_graph, candidate_graph, candidate_nodes  # noqa: E402
from datasets.graph.candidates import extract_candidates  # noqa: E402
from datasets.coco import DATASET_SKELETONS  # noqa: E402
from tasks.grouping.decoders import decode  # noqa: E402
from tasks.grouping.results import coco_results  # noqa: E402
from datasets.graph.features import finalize_features  # noqa: E402
from tasks.grouping.data import feature_settings  # noqa: E402
from tasks.grouping.prediction import predict_batch, predict_candidates, predict_image  # noqa: E402
from datasets.synthetic.ae_maps_second import synthesize_maps_second  # noqa: E402
from datasets.synthetic.ae_maps_third import synthesize_maps_third  # noqa: E402
from datasets.coco import load_coco_gt  # noqa: E402
from tasks.grouping.config import DECODE_BATCH  # noqa: E402
from datasets.skeleton import COCO17  # noqa: E402
from datasets.synthetic.scenes import synthetic_scenes  # noqa: E402
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


SHARED_LAYOUTS = Path(__file__).resolve().parents[2] / "shared/data/coco/person_keypoints_train2017_mini80.json"


def cluttered_maps(layouts, generator: str, seed: int) -> list:
    """The maps of every image of a COCO file (or of 80 built-in scenes) by `generator`."""
    gt = load_coco_gt(layouts) if layouts else quiet_coco(synthetic_scenes(80, seed=5))
    people, rng = persons_by_image(gt, 17), np.random.default_rng(seed)
    make = synthesize_maps_second if generator == "second" else synthesize_maps_third
    return [make(img["width"], img["height"], people[i][2], COCO17, rng) for i, img in sorted(gt.imgs.items())]


def after_candidates(cands: list, decoder: str, cfg, scorer, stats, batch: int) -> None:
    """Candidates -> COCO results of every image (what follows candidate extraction), as
    `predict_batch` runs it (`predict_candidates`: `batch` images' graphs built in one pass and
    scored in one call); batch 1: image by image."""
    skeleton = DATASET_SKELETONS[cfg.dataset]
    if decoder == "ae":
        for i, c in enumerate(cands):
            coco_results(i, decode("ae", candidate_nodes(c, i), None, cfg))
        return
    for start in range(0, len(cands), batch):
        part = cands[start:start + batch]
        ids = list(range(start, start + len(part)))
        if batch == 1:  # as predict_image: one graph, one call
            graph = finalize_features(candidate_graph(part[0], skeleton, cfg.graph, ids[0]), skeleton.num_joints,
                                      stats=stats, **feature_settings(cfg))
            coco_results(ids[0], decode("gnn", graph, scorer(graph), cfg))
        else:
            predict_candidates(part, ids, cfg, scorer, stats)


def whole(maps: list, decoder: str, cfg, scorer, stats, batch: int) -> None:
    """Maps -> COCO results of every image, `batch` images at a time (gnn)."""
    for start in range(0, len(maps), batch):
        part = maps[start:start + batch]
        predict_batch(part, list(range(len(part))), decoder, cfg, scorer, stats)


def cluttered_rates(maps: list, cfg, scorer, stats, repeats: int, batch: int) -> dict:
    """images/s (median of `repeats` alternating passes) of each decoder and part."""
    cands = [extract_candidates(m, cfg.graph) for m in maps]
    runs = {"whole gnn batch": lambda: whole(maps, "gnn", cfg, scorer, stats, batch),
            "whole gnn 1": lambda: whole(maps, "gnn", cfg, scorer, stats, 1),
            "whole ae": lambda: whole(maps, "ae", cfg, scorer, stats, 1),
            "after gnn batch": lambda: after_candidates(cands, "gnn", cfg, scorer, stats, batch),
            "after gnn 1": lambda: after_candidates(cands, "gnn", cfg, scorer, stats, 1),
            "after ae": lambda: after_candidates(cands, "ae", cfg, scorer, stats, 1)}
    for run in runs.values():  # warm-up
        run()
    rates = {k: [] for k in runs}
    for _ in range(repeats):
        for k, run in runs.items():
            t = time.perf_counter()
            run()
            rates[k].append(len(maps) / (time.perf_counter() - t))
    out = {k: float(np.median(v)) for k, v in rates.items()}
    out["candidates_per_image"] = float(np.mean([len(c.jtype) for c in cands]))
    return out


@torch.inference_mode()  # both decoders: no autograd bookkeeping, as evaluate.py decodes
def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=HelpFormatter)
    ap.add_argument("--checkpoint", default=None, help="grouping checkpoint (None: an untrained classifier of the default size)")
    ap.add_argument("--images", type=int, default=20, help="images per crowd size")
    ap.add_argument("--repeats", type=int, default=5, help="alternating passes; the median is reported")
    ap.add_argument("--device", default="cpu", help="cpu | cuda (the classifier's device)")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--eager", action="store_true", help="run the fused classifier without compiling it")
    ap.add_argument("--batch", type=int, default=DECODE_BATCH, help="images per classifier call (cluttered setting)")
    ap.add_argument("--layouts", default=str(SHARED_LAYOUTS) if SHARED_LAYOUTS.exists() else None,
                    help="COCO file whose layouts the cluttered setting uses (default: ../shared's 80 train2017 "
                         "images when present, else 80 built-in scenes)")
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
            whole(maps, "gnn", cfg, scorer, stats, a.batch)
            gnn_rates.append(len(maps) / (time.perf_counter() - t))
            t = time.perf_counter()
            whole(maps, "ae", cfg, scorer, stats, 1)
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
    cluttered = {}
    print(f"cluttered: {a.layouts or '80 built-in scenes'}; GNN batch {a.batch} vs 1 image per call")
    for generator, seed in (("second", 202), ("third", 303)):
        r = cluttered_rates(cluttered_maps(a.layouts, generator, seed), cfg, scorer, stats, a.repeats, a.batch)
        cluttered[generator] = r
        print(f"  {generator} generator ({r['candidates_per_image']:.0f} candidates/image), images/s:")
        for part in ("whole", "after"):
            name = "maps -> results" if part == "whole" else "candidates -> results"
            g, g1, ae = r[f"{part} gnn batch"], r[f"{part} gnn 1"], r[f"{part} ae"]
            print(f"    {name:22s} GNN {g:7.1f} (1/call {g1:7.1f})   AE {ae:7.1f}   GNN/AE {g / ae:.2f}x", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps({"rates": rows, "stage_ms_10_people": stages, "cluttered": cluttered,
                                            "batch": a.batch, "layouts": a.layouts}, indent=2))


if __name__ == "__main__":
    main()
