"""Evaluate: `python evaluate.py lifting|grouping|coco [options]` (README.md; `--help` of each task)."""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

from core.atomic_io import prepare_out_dir, write_json
from core.errors import InputError
from core.cli import ArgumentParser, number, run_cli, run_task, task_parser
from datasets.coco import DATASET_SKELETONS, load_coco_gt, load_results
from datasets.skeleton import SKELETONS
from tasks import grouping, lifting
from tasks.lifting.shipped import SHIPPED, resolve_lifter
from tasks.grouping.config import SPLITS
from tasks.grouping.results import FRAGMENT_BELOW, count_persons, describe_counts
from tasks.cli import add_compile_flag, add_decode_flags, decode_overrides, parse_actions, synth_config
from datasets.cameras import h36m_cameras, unnormalize_screen

TASKS = {"lifting": "MPJPE / P-MPJPE (action-wise) of a lifting checkpoint",
         "grouping": "AP@OKS of a grouping checkpoint (GNN) or of the AE / oracle decoders",
         "coco": "AP@OKS of any COCO-format keypoint results file (pycocotools)"}


def add_lifting_args(p):
    p.add_argument("--checkpoint", required=True, help=f"best.pt / last.pt of train.py lifting, an original SemGCN "
                   f"checkpoint, or a shipped lifter: {' | '.join(SHIPPED)}")
    p.add_argument("--data", help="folder with the standard .npz files (None: the "
                   "checkpoint's, else the built-in synthetic data)")
    p.add_argument("--keypoints", default=None, help="None: the checkpoint's")
    p.add_argument("--downsample", type=number(int, 1), default=None, help="None: the checkpoint's")
    p.add_argument("--actions", default=None, help="comma-separated (None: the checkpoint's)")
    p.add_argument("--subjects", default=",".join(lifting.TEST_SUBJECTS),
                   help="comma-separated subjects to score (the standard test: S9,S11; e.g. S8 for a model "
                        "trained on S1,S5,S6,S7)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="where to run")
    p.add_argument("--batch-size", type=number(int, 1), default=lifting.LiftingConfig.eval_batch_size,
                   help="poses per forward pass")
    p.add_argument("--out", default=None, help="None: <checkpoint folder>/eval")
    p.add_argument("--viz", type=number(int, 0), default=0, help="write N example PNGs")
    p.add_argument("--no-progress", action="store_true", help="no progress (a bar on a terminal, else a line every 30 s)")
    p.add_argument("--flip-test", action="store_true",
                   help="also score with test-time flipping (each pose averaged with its mirror image)")


def evaluate_lifting_cli(a):
    from core.checkpoint import checkpoint_config, rebuild_model
    from core.device import resolve_device
    from datasets.pose_graph import SkeletonBatcher
    from tasks.lifting.original import load_lifting_checkpoint
    from tasks.lifting.plots import plot_lifted_pose
    import torch
    given = a.checkpoint
    a.checkpoint = resolve_lifter(a.checkpoint)
    ckpt = load_lifting_checkpoint(a.checkpoint)
    saved = checkpoint_config(ckpt, a.checkpoint, lifting.LiftingConfig.from_dict)
    cfg = lifting.LiftingConfig(**{
        **{k: getattr(saved, k) for k in ("model", "joints", "seed", "input_norm")},
        "data": a.data if a.data is not None else saved.data,
        "keypoints": a.keypoints or saved.keypoints,
        "downsample": saved.downsample if a.downsample is None else a.downsample,
        "actions": parse_actions(a.actions) or saved.actions, "device": a.device,
        "eval_batch_size": a.batch_size})
    device = resolve_device(cfg.device)
    out = prepare_out_dir(a.out or (Path("runs") / f"eval-{given}" if given in SHIPPED else Path(a.checkpoint).parent / "eval"))
    skeleton = SKELETONS[ckpt["skeleton"]]
    model = rebuild_model(ckpt, a.checkpoint, lifting.model_from_spec).to(device)
    subjects = lifting.parse_subjects(a.subjects, "subjects")
    if not subjects:
        raise InputError("{subjects} none: name the subjects to score")
    test_set = lifting.load_lifting_split(cfg, train=False, subjects=subjects, field="subjects")
    batcher = SkeletonBatcher.from_poses(test_set, skeleton)
    pred = lifting.predict_all(model, batcher, cfg.eval_batch_size, device,
                               progress=not a.no_progress)  # (P, J, 3)
    result = lifting.lifting_scores(pred, batcher, test_set.actions)
    flipped = None
    if a.flip_test:  # the mirror images' predictions, averaged with those above
        perm = torch.tensor(skeleton.flip_permutation)
        of_mirror = lifting.predict_all(model, SkeletonBatcher(skeleton, lifting.mirror(batcher.x2d, perm)),
                                        cfg.eval_batch_size, device, progress=not a.no_progress)
        flipped = lifting.lifting_scores(lifting.flip_average(pred, of_mirror, perm), batcher, test_set.actions)
    print(f"{'Action':<14}{'MPJPE (P1)':>12}{'P-MPJPE (P2)':>14}" + ("   with flip test: P1, P2" if flipped else ""))
    for action, m in result["per_action"].items():
        extra = f"{flipped['per_action'][action]['MPJPE']:12.2f}{flipped['per_action'][action]['P-MPJPE']:14.2f}" \
            if flipped else ""
        print(f"{action:<14}{m['MPJPE']:12.2f}{m['P-MPJPE']:14.2f}{extra}")
    extra = f"{flipped['MPJPE']:12.2f}{flipped['P-MPJPE']:14.2f}" if flipped else ""
    print(f"{'Average':<14}{result['MPJPE']:12.2f}{result['P-MPJPE']:14.2f}{extra}")
    if flipped:
        result["flip_test"] = flipped
    result.update({"checkpoint": str(a.checkpoint), "model": cfg.model.name,
                   "epoch": ckpt.get("epoch"), "data": cfg.data or "built-in synthetic",
                   "subjects": list(subjects),
                   "keypoints": cfg.keypoints, "units": "mm"})
    write_json(out / "eval.json", result)
    written = [out / "eval.json"]
    if a.viz > 0:
        picks = torch.linspace(0, len(test_set) - 1, a.viz).long().tolist()
        screen = test_set if cfg.input_norm == "screen" else \
            lifting.load_lifting_split(dataclasses.replace(cfg, input_norm="screen"), train=False,
                                       subjects=subjects, field="subjects")
        for k, i in enumerate(picks):
            path = out / f"example_{k:02d}.png"
            name = test_set.actions[int(test_set.action[i])]
            subject = test_set.subjects[int(test_set.subject[i])]
            cam = h36m_cameras()[subject][int(test_set.camera[i])]
            pixels = unnormalize_screen(screen.x2d[i].astype(np.float64), cam.width, cam.height)
            plot_lifted_pose(path, pixels, (cam.width, cam.height), pred[i].numpy(), skeleton,
                             title=(f"Human3.6M {subject} {name}, camera {int(test_set.camera[i])}" if cfg.data else
                                    f"built-in synthetic data (not Human3.6M): pose {i}, '{subject}' '{name}', "
                                    f"camera {int(test_set.camera[i])}"),
                             truth=batcher.y3d[i].numpy())
            written.append(path)
    print("wrote " + ", ".join(str(p) for p in written))


def add_coco_args(p):
    p.add_argument("--gt", required=True, help="COCO-format person keypoint annotations (.json)")
    p.add_argument("--results", required=True, help="COCO results format (.json list)")
    p.add_argument("--dataset", default="coco", choices=sorted(DATASET_SKELETONS),
                   help="keypoints and OKS sigmas of COCO (17) or CrowdPose (14)")
    p.add_argument("--out", default=None, help="write DIR/eval.json (None: print only)")


def evaluate_coco_cli(a):
    from tasks.coco_eval import oks_ap
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
    p.add_argument("--checkpoint", required=True, help="best.pt / last.pt of train.py grouping, or the shipped coco-ae")
    p.add_argument("--annotations", required=True, help="COCO-format ground truth (.json)")
    p.add_argument("--maps", help="folder of <image_id>.npz AE maps (None: synthesised)")
    p.add_argument("--seed", type=number(int, 0, 2**32 - 1), default=None, help="synthesis seed (None: the checkpoint's + 1)")
    p.add_argument("--synth", action="append", default=[], metavar="KNOB=VALUE",
                   help="change a synthesiser knob of the checkpoint's (repeatable), e.g. tag_noise=0.2")
    p.add_argument("--split", default="all", choices=list(SPLITS),
                   help="images to score: all, or the checkpoint's train/val split")
    p.add_argument("--decoder", default="gnn", choices=list(grouping.DECODERS),
                   help="gnn: the checkpoint's classifier; ae: associative embedding; oracle: ground truth")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="where to run")
    p.add_argument("--out", default=None, help="None: <checkpoint folder>/eval_<decoder>")
    p.add_argument("--viz", type=number(int, 0), default=0, help="draw N images")
    p.add_argument("--no-progress", action="store_true", help="no progress (a bar on a terminal, else a line every 30 s)")
    add_decode_flags(p)
    add_compile_flag(p)


def evaluate_grouping_cli(a):
    from core.checkpoint import checkpoint_config, load_checkpoint
    from core.device import resolve_device
    from tasks.grouping import evaluation as grouping_evaluation
    from tasks.grouping.probabilities import checkpoint_scorer
    from tasks.plots import plot_grouped_images
    from tasks.grouping.shipped import SHIPPED as GROUPING_SHIPPED, resolve_grouping
    from tasks.lifting.shipped import SHIPPED as LIFTING_SHIPPED
    if a.checkpoint in LIFTING_SHIPPED:
        raise InputError(f"--checkpoint {a.checkpoint}: is a shipped lifting checkpoint, expected a grouping one")
    given = a.checkpoint
    a.checkpoint = resolve_grouping(a.checkpoint)
    ckpt = load_checkpoint(a.checkpoint, "grouping")
    saved = checkpoint_config(ckpt, a.checkpoint, grouping.GroupingConfig.from_dict)
    cfg = decode_overrides(grouping_evaluation.eval_config(saved, a.maps, a.device,
                                                           synth_config(a.synth, saved.synth, a.maps)), a)
    device = resolve_device(cfg.device)
    # a shipped model's folder is the repository's checkpoints/: its evaluations go to runs/
    out = prepare_out_dir(a.out or (Path("runs") / f"eval-{given}" if given in GROUPING_SHIPPED
                                    else Path(a.checkpoint).parent / f"eval_{a.decoder}"))
    synth_seed = a.seed if a.seed is not None else grouping_evaluation.default_synth_seed(saved)
    if not 0 <= synth_seed < 2**32:
        raise InputError(f"--seed {synth_seed}: must be in [0, 2**32)")
    scorer = checkpoint_scorer(ckpt, a.checkpoint, device, a.compile) if a.decoder == "gnn" else None
    ev = grouping_evaluation.evaluate_grouping(cfg, a.annotations, synth_seed, a.split, a.decoder, scorer, ckpt,
                                               a.checkpoint, progress=not a.no_progress, backgrounds=a.viz,
                                               batch=a.batch)
    print(ev.summary.rstrip())
    m = ev.metrics
    persons, fragments = count_persons(ev.results)
    m.update({"persons": persons, "fragments": fragments, "results_written": len(ev.results),
              "fragment_below_keypoints": FRAGMENT_BELOW})
    write_json(out / "results.json", ev.results)
    write_json(out / "eval.json", m)
    written = [out / "results.json", out / "eval.json"]
    print(f"AP {m['AP']:.4f}  AP50 {m['AP50']:.4f}  AP75 {m['AP75']:.4f}"
          + (f"  edge accuracy {m['edge_accuracy']:.4f}" if "edge_accuracy" in m else "")
          + f"  {m['decode_images_per_s']:.1f} images/s")
    print(f"{len(ev.graphs)} images: {describe_counts(ev.results)} written")
    written += plot_grouped_images(ev.graphs[:a.viz], ev.results, out, cfg.dataset, ev.data.backgrounds, ev.data.gt)
    print("wrote " + ", ".join(str(p) for p in written))


def build_parser() -> ArgumentParser:
    parser, subs = task_parser("evaluate.py", "Evaluate a PoseGraph checkpoint or a results file.", TASKS,
                               renamed={"eval_batch_size": "batch_size"})
    add_lifting_args(subs["lifting"])
    add_grouping_args(subs["grouping"])
    add_coco_args(subs["coco"])
    return parser


def main(argv):
    from tasks.grouping.shipped import SHIPPED as GROUPING_SHIPPED
    from tasks.lifting.shipped import SHIPPED
    return run_task(build_parser(), argv, {"lifting": evaluate_lifting_cli, "grouping": evaluate_grouping_cli,
                                           "coco": evaluate_coco_cli},
                    paths={"lifting": {"checkpoint": "checkpoint", "data": "dir"},
                           "grouping": {"checkpoint": "checkpoint", "annotations": "file", "maps": "maps"},
                           "coco": {"gt": "file", "results": "file"}}, names=frozenset(SHIPPED) | frozenset(GROUPING_SHIPPED))


if __name__ == "__main__":
    sys.exit(run_cli(main))
