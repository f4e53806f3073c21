"""Evaluate: `python evaluate.py lifting --checkpoint CKPT` or `python evaluate.py coco --gt GT
--results RES` (see README.md)."""
from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

from datasets.coco import DATASET_SKELETONS, load_coco_gt, load_results
from datasets.errors import InputError
from datasets.pose_graph import SkeletonBatcher
from datasets.skeleton import SKELETONS
from tasks import grouping, lifting
from tasks.coco_eval import oks_ap
from tasks.cli import ArgumentParser, build_config, parse_actions, resolve_device, run_cli, synth_config
from tasks.plots import plot_grouping, plot_lifting_example
from tasks.run_io import load_checkpoint, prepare_out_dir, write_json


def add_lifting_args(p):
    p.add_argument("--checkpoint", required=True, help="best.pt / last.pt of train.py lifting")
    p.add_argument("--data", help="folder with the standard .npz files (default: the "
                   "checkpoint's, else the built-in synthetic data)")
    p.add_argument("--keypoints", default=None, help="default: the checkpoint's")
    p.add_argument("--downsample", type=int, default=None, help="default: the checkpoint's")
    p.add_argument("--actions", default=None, help="comma-separated (default: the checkpoint's)")
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--out", default=None, help="default: <checkpoint folder>/eval")
    p.add_argument("--viz", type=int, default=0, help="write N example PNGs")


def rebuild_model(ckpt: dict, path, from_spec) -> torch.nn.Module:
    """The model described by a checkpoint, with its weights."""
    spec = ckpt["model"]
    try:
        model = from_spec(spec)
        model.load_state_dict(ckpt["state_dict"])
    except (KeyError, TypeError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{path}: weights do not fit the model it describes ({first[:120]})") from None
    return model


def evaluate_lifting_cli(a):
    ckpt = load_checkpoint(a.checkpoint, "lifting")
    saved = lifting.LiftingConfig.from_dict(ckpt["config"])
    cfg = build_config(lifting.LiftingConfig, **{
        **{k: getattr(saved, k) for k in ("model", "joints", "seed")},
        "data": a.data if a.data is not None else saved.data,
        "keypoints": a.keypoints or saved.keypoints,
        "downsample": a.downsample or saved.downsample,
        "actions": parse_actions(a.actions) or saved.actions, "device": a.device,
        "eval_batch_size": a.batch_size})
    device = resolve_device(cfg.device)
    out = prepare_out_dir(a.out or Path(a.checkpoint).parent / "eval")
    skeleton = SKELETONS[ckpt["skeleton"]]
    model = rebuild_model(ckpt, a.checkpoint, lifting.model_from_spec).to(device)
    test_set = lifting.load_lifting_split(cfg, train=False)
    batcher = SkeletonBatcher.from_poses(test_set, skeleton)
    pred = lifting.predict_all(model, batcher, cfg.eval_batch_size, device,
                               progress=sys.stderr.isatty())  # (P, J, 3)
    result = lifting.lifting_scores(pred, batcher, test_set.actions)
    print(f"{'Action':<14}{'MPJPE (P1)':>12}{'P-MPJPE (P2)':>14}")
    for action, m in result["per_action"].items():
        print(f"{action:<14}{m['MPJPE']:12.2f}{m['P-MPJPE']:14.2f}")
    print(f"{'Average':<14}{result['MPJPE']:12.2f}{result['P-MPJPE']:14.2f}")
    result.update({"checkpoint": str(a.checkpoint), "model": cfg.model.name,
                   "epoch": ckpt.get("epoch"), "data": cfg.data or "built-in synthetic",
                   "keypoints": cfg.keypoints, "units": "mm"})
    write_json(out / "eval.json", result)
    written = [out / "eval.json"]
    if a.viz > 0:
        picks = torch.linspace(0, len(test_set) - 1, a.viz).long().tolist()
        for k, i in enumerate(picks):
            path = out / f"example_{k:02d}.png"
            name = test_set.actions[int(test_set.action[i])]
            err = float(lifting.mpjpe(pred[i:i + 1], batcher.y3d[i:i + 1])) * 1000
            plot_lifting_example(test_set.x2d[i], batcher.y3d[i].numpy(),
                                 (pred[i] - pred[i, :1]).numpy(), skeleton, path,
                                 title=f"{test_set.subjects[int(test_set.subject[i])]} {name} "
                                       f"camera {int(test_set.camera[i])}: MPJPE {err:.1f} mm")
            written.append(path)
    print("wrote " + ", ".join(str(p) for p in written))


def add_coco_args(p):
    p.add_argument("--gt", required=True, help="COCO-format person keypoint annotations (.json)")
    p.add_argument("--results", required=True, help="COCO results format (.json list)")
    p.add_argument("--dataset", default="coco", choices=sorted(DATASET_SKELETONS))
    p.add_argument("--out", default=None, help="write DIR/eval.json")


def evaluate_coco_cli(a):
    gt = load_coco_gt(a.gt, a.dataset)
    results = load_results(a.results, gt, a.dataset)
    stats, summary = oks_ap(gt, results, a.dataset)
    print(summary.rstrip())
    if a.out:
        out = prepare_out_dir(a.out)
        write_json(out / "eval.json", {**stats, "gt": str(a.gt), "results": str(a.results),
                                       "dataset": a.dataset, "num_results": len(results)})
        print(f"wrote {out / 'eval.json'}")


def add_grouping_args(p):
    p.add_argument("--checkpoint", required=True, help="best.pt / last.pt of train.py grouping")
    p.add_argument("--annotations", required=True, help="COCO-format ground truth (.json)")
    maps = p.add_mutually_exclusive_group()
    maps.add_argument("--maps", help="folder of <image_id>.npz AE maps")
    maps.add_argument("--synthesize", action="store_true", help="render maps from the annotations (default)")
    p.add_argument("--seed", type=int, default=None, help="synthesis seed (default: the checkpoint's + 1)")
    p.add_argument("--synth", action="append", default=[], metavar="KNOB=VALUE",
                   help="change a synthesiser knob of the checkpoint's (repeatable), e.g. tag_noise=0.2")
    p.add_argument("--split", default="all", choices=["all", "val", "train"],
                   help="images to score: all, or the checkpoint's train/val split")
    p.add_argument("--decoder", default="gnn", choices=list(grouping.DECODERS))
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default=None, help="default: <checkpoint folder>/eval_<decoder>")
    p.add_argument("--viz", type=int, default=0, help="draw N images")


@torch.inference_mode()  # inference only: no autograd bookkeeping on any tensor
def evaluate_grouping_cli(a):
    ckpt = load_checkpoint(a.checkpoint, "grouping")
    saved = grouping.GroupingConfig.from_dict(ckpt["config"])
    cfg = build_config(grouping.GroupingConfig, **{**{k: getattr(saved, k) for k in (
        "model", "graph", "synth", "dataset", "num_scenes", "val_fraction", "decode_threshold",
        "min_keypoints", "ae_tag_threshold")}, "seed": saved.seed, "maps": a.maps, "device": a.device,
        "synth": synth_config(a.synth, saved.synth, a.maps)})
    device = resolve_device(cfg.device)
    out = prepare_out_dir(a.out or Path(a.checkpoint).parent / f"eval_{a.decoder}")
    synth_seed = a.seed if a.seed is not None else saved.seed + 1
    data = grouping.prepare_grouping_data(cfg, a.annotations, synth_seed, progress=sys.stderr.isatty())
    ids = set({"all": data.train_ids + data.val_ids, "val": data.val_ids, "train": data.train_ids}[a.split])
    graphs = [g for g in data.graphs if int(g.image_id) in ids]
    if not graphs:
        raise InputError(f"{a.annotations}: no images in split '{a.split}'")
    tag_dim, read = graphs[0].tag.size(1), grouping.tag_dim_of(ckpt["model"], cfg.dataset)
    if tag_dim != read:
        raise InputError(f"{a.maps or 'synthesised maps'}: tags have {tag_dim} dimension(s), the model of "
                         f"{Path(a.checkpoint).name} reads {read}")
    grouping.finalize_all(graphs, cfg, ckpt["normalization"]["tag_stats"])
    if a.decoder == "gnn":  # loading, folding and tracing the classifier are not timed
        model = grouping.inference_classifier(rebuild_model(ckpt, a.checkpoint, grouping.model_from_spec),
                                              graphs, device)
    start = time.perf_counter()
    probs = None
    if a.decoder == "gnn":
        probs = grouping.edge_probabilities(model, graphs, device)
    results = grouping.decode_all(graphs, a.decoder, cfg, probs)
    seconds = time.perf_counter() - start
    edge = {}
    if a.decoder == "gnn":
        labels = torch.cat([g.y for g in graphs]).numpy()
        edge = grouping.edge_metrics(np.concatenate(probs), labels, cfg.decode_threshold)
    gt = grouping.subset_gt(data.gt, ids)
    if results:
        stats, summary = oks_ap(gt, results, cfg.dataset)
        print(summary.rstrip())
    else:
        stats = {k: 0.0 for k in ("AP", "AP50", "AP75", "APm", "APl", "AR")}
        print("no persons decoded: AP 0")
    result = {**stats, **edge, "decode_images_per_s": len(graphs) / seconds,
              "decoder": a.decoder, "images": len(graphs), "persons": len(results),
              "split": a.split, "synthesis_seed": None if a.maps else synth_seed,
              "synth": None if a.maps else dataclasses.asdict(cfg.synth)}
    write_json(out / "results.json", results)
    write_json(out / "eval.json", result)
    written = [out / "results.json", out / "eval.json"]
    print(f"AP {stats['AP']:.4f}  AP50 {stats['AP50']:.4f}  AP75 {stats['AP75']:.4f}"
          + (f"  edge accuracy {result['edge_accuracy']:.4f}" if "edge_accuracy" in result else "")
          + f"  {result['decode_images_per_s']:.1f} images/s")
    skeleton = DATASET_SKELETONS[cfg.dataset]
    for k, g in enumerate(graphs[:a.viz]):
        img_id = int(g.image_id)
        mine = [r for r in results if r["image_id"] == img_id]
        path = out / f"grouping_{img_id}.png"
        plot_grouping(data.gt, img_id, mine, g, skeleton, path)
        written.append(path)
    print("wrote " + ", ".join(str(p) for p in written))


def main(argv):
    parser = ArgumentParser(prog="evaluate.py", description="Evaluate a PoseGraph checkpoint.")
    sub = parser.add_subparsers(dest="task", required=True)
    add_lifting_args(sub.add_parser("lifting", help="MPJPE / P-MPJPE of a lifting checkpoint"))
    add_grouping_args(sub.add_parser("grouping", help="AP@OKS of a grouping checkpoint or decoder"))
    add_coco_args(sub.add_parser("coco", help="AP@OKS of any COCO-format keypoint results"))
    a = parser.parse_args(argv)
    if a.task == "lifting":
        evaluate_lifting_cli(a)
    elif a.task == "grouping":
        evaluate_grouping_cli(a)
    elif a.task == "coco":
        evaluate_coco_cli(a)


if __name__ == "__main__":
    sys.exit(run_cli(main))
