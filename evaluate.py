"""Evaluate: `python evaluate.py lifting --checkpoint CKPT` or `python evaluate.py coco --gt GT
--results RES` (see README.md)."""
from __future__ import annotations

import sys
from pathlib import Path

import torch

from datasets.coco import DATASET_SKELETONS, load_coco_gt, load_results
from datasets.errors import InputError
from datasets.pose_graph import SkeletonBatcher
from datasets.skeleton import SKELETONS
from tasks import lifting
from tasks.coco_eval import oks_ap
from tasks.cli import ArgumentParser, build_config, parse_actions, resolve_device, run_cli
from tasks.plots import plot_lifting_example
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


def rebuild_lifting_model(ckpt: dict, path) -> torch.nn.Module:
    """The model described by a checkpoint, with its weights."""
    spec = ckpt["model"]
    try:
        model = lifting.model_from_spec(spec)
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
    model = rebuild_lifting_model(ckpt, a.checkpoint).to(device)
    test_set = lifting.load_lifting_split(cfg, train=False)
    batcher = SkeletonBatcher.from_poses(test_set, skeleton)
    result = lifting.evaluate_lifting(model, batcher, test_set.actions, cfg.eval_batch_size,
                                      device, progress=sys.stderr.isatty())
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
        pred = lifting.predict_all(model, batcher, cfg.eval_batch_size, device)
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


def main(argv):
    parser = ArgumentParser(prog="evaluate.py", description="Evaluate a PoseGraph checkpoint.")
    sub = parser.add_subparsers(dest="task", required=True)
    add_lifting_args(sub.add_parser("lifting", help="MPJPE / P-MPJPE of a lifting checkpoint"))
    add_coco_args(sub.add_parser("coco", help="AP@OKS of any COCO-format keypoint results"))
    a = parser.parse_args(argv)
    if a.task == "lifting":
        evaluate_lifting_cli(a)
    elif a.task == "coco":
        evaluate_coco_cli(a)


if __name__ == "__main__":
    sys.exit(run_cli(main))
