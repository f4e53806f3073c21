"""Predict without ground truth: `python predict.py grouping --maps DIR [--checkpoint CKPT]`,
`python predict.py lifting --checkpoint CKPT --keypoints FILE`, `python predict.py pipeline
--grouping G.pt --lifting L.pt --maps DIR` (README.md; `--help` of each task)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from core.atomic_io import prepare_out_dir, write_json
from core.cli import ArgumentParser, inference_mode, number, run_cli, run_task, task_parser
from core.errors import InputError
from datasets.coco import DATASET_SKELETONS
from datasets.keypoints_2d import FORMATS, image_sizes, keypoint_format, read_persons
from datasets.skeleton import SKELETONS
from tasks import lifting
from tasks.grouping.shipped import DEFAULT as GROUPING_DEFAULT, SHIPPED as GROUPING_SHIPPED, resolve_grouping
from tasks.lifting.shipped import DEFAULT_FOR_PHOTOS, SHIPPED, default_help, default_lifter, describe_lifter, lifter_identity, resolve_lifter
from tasks.grouping.config import GroupingConfig
from tasks.grouping.results import count_persons, describe_counts
from tasks.cli import add_compile_flag, add_decode_flags, decode_overrides

TASKS = {"grouping": "persons from AE maps alone (no annotations): COCO results for test-dev or evaluate.py coco",
         "lifting": "3D poses from 2D keypoints (COCO results json, or .npy/.npz arrays) with a lifting checkpoint",
         "pipeline": "multi-person 3D from AE maps: grouping, then each person lifted",
         "export": "a lifting checkpoint (dynamic batch) or a grouping classifier (dynamic graph sizes) as ONNX "
                   "(.onnx) or torch.export (.pt2)"}


def add_export_args(p):
    p.add_argument("--checkpoint", required=True,
                   help=f"a lifting checkpoint (ours, the original SemGCN's, or a shipped one: {' | '.join(SHIPPED)}) "
                        f"or a grouping checkpoint")
    p.add_argument("--out", required=True, help="model.onnx or model.pt2")


def export_cli(a):
    from core.checkpoint import checkpoint_config, read_checkpoint_file, rebuild_model
    from tasks.lifting.export import export_lifter
    from tasks.lifting.original import load_lifting_checkpoint
    a.checkpoint = resolve_grouping(a.checkpoint) if a.checkpoint in GROUPING_SHIPPED else resolve_lifter(a.checkpoint)
    obj = read_checkpoint_file(a.checkpoint)
    if isinstance(obj, dict) and obj.get("task") == "grouping":
        return export_grouping(a)
    ckpt = load_lifting_checkpoint(a.checkpoint)
    cfg = checkpoint_config(ckpt, a.checkpoint, lifting.LiftingConfig.from_dict)
    model = rebuild_model(ckpt, a.checkpoint, lifting.model_from_spec)
    skeleton = SKELETONS[ckpt["skeleton"]]
    path = export_lifter(model, skeleton, a.out, {"model": cfg.model.name, "input_norm": cfg.input_norm,
                                                  "joint_names": ",".join(skeleton.joint_names),
                                                  "output": "root-relative joints, metres, camera frame"})
    print(f"wrote {path}: input x (B, {skeleton.num_joints}, 2) in the {cfg.input_norm} normalisation, "
          f"output (B, {skeleton.num_joints}, 3) metres")


def export_grouping(a):
    from core.checkpoint import checkpoint_config, load_checkpoint, rebuild_model
    from tasks.grouping.export import ClassifierForExport, export_classifier
    from tasks.grouping.model import model_from_spec as grouping_model_from_spec
    ckpt = load_checkpoint(a.checkpoint, "grouping")
    cfg = checkpoint_config(ckpt, a.checkpoint, GroupingConfig.from_dict)
    model = rebuild_model(ckpt, a.checkpoint, grouping_model_from_spec)
    kw = ckpt["model"]["kwargs"]
    path = export_classifier(model, kw["in_channels"], kw["edge_dim"], a.out,
                             {"model": cfg.model.name, "dataset": cfg.dataset, "tag_dim": ckpt["tag_dim"],
                              "features": "tasks.grouping.data.feature_settings / datasets.graph.features",
                              "tag_stats": ckpt["normalization"]["tag_stats"]})
    names = ClassifierForExport(model).input_names()
    print(f"wrote {path}: inputs {', '.join(names)} (dynamic nodes, edges, pairs), output pair_probabilities (P,)")


def add_pipeline_args(p):
    p.add_argument("--grouping", default=None, help=f"best.pt of train.py grouping (COCO or CrowdPose) or a shipped name "
                   f"({' | '.join(GROUPING_SHIPPED)}; None: {GROUPING_DEFAULT} for --decoder gnn on COCO maps)")
    p.add_argument("--decoder", default="gnn", choices=["gnn", "ae"],
                   help="gnn: the grouping checkpoint's classifier; ae: associative-embedding grouping, no checkpoint")
    p.add_argument("--dataset", default=None, choices=sorted(DATASET_SKELETONS),
                   help="keypoint set of the maps (None: the grouping checkpoint's, else coco)")
    p.add_argument("--lifting", default=None, help=f"best.pt of train.py lifting, an original SemGCN checkpoint, or a "
                   f"shipped lifter: {' | '.join(SHIPPED)} (None: {DEFAULT_FOR_PHOTOS}, trained on detections)")
    p.add_argument("--maps", required=True, help="folder of <image_id>.npz AE maps")
    p.add_argument("--min-score", type=number(float, 0, 1), default=0.1, help="keypoints scored lower count as missing")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="where to run")
    p.add_argument("--out", default="runs/predict-pipeline", help="writes OUT/results.json and OUT/poses3d.json")
    p.add_argument("--viz", type=number(int, 0), default=0, help="draw the first N images (2D persons and their 3D poses)")
    add_decode_flags(p)
    add_compile_flag(p)
    add_force_flag(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


@inference_mode
def predict_pipeline_cli(a):
    from core.checkpoint import checkpoint_config, rebuild_model
    from core.device import resolve_device
    from tasks.grouping.data import heatmap_background
    from tasks.grouping.prediction import predict_folder
    from tasks.lifting.original import load_lifting_checkpoint
    from tasks.lifting.plots import plot_persons_2d_3d
    from tasks.lifting.prediction import poses3d_records
    from tasks.lifting.prediction import lift
    from tasks.pipeline import image_size_of_maps, results_persons
    device = resolve_device(a.device)
    gcfg, scorer, tag_stats, tag_dim = _grouping(a.grouping, "--grouping", a.decoder, a.dataset, device, a.compile)
    gcfg = decode_overrides(gcfg, a)
    given = a.lifting
    a.lifting = resolve_lifter(a.lifting, "--lifting", DEFAULT_FOR_PHOTOS)  # maps of images: photos
    lckpt = load_lifting_checkpoint(a.lifting)
    lcfg = checkpoint_config(lckpt, a.lifting, lifting.LiftingConfig.from_dict)
    identity = lifter_identity(given, a.lifting, lckpt, lcfg.input_norm, DEFAULT_FOR_PHOTOS)
    print(describe_lifter(identity), flush=True)
    model = rebuild_model(lckpt, a.lifting, lifting.model_from_spec).to(device)
    skeleton = SKELETONS[lckpt["skeleton"]]
    out = prepare_out_dir(a.out)
    results, sizes, backgrounds, drawn = [], {}, {}, []
    progress = not a.no_progress
    for maps, pred in predict_folder(a.maps, a.decoder, gcfg, scorer, tag_stats, tag_dim, progress, a.batch):
        results += pred.results
        background = heatmap_background(maps)
        sizes[pred.image_id] = image_size_of_maps(background[1])
        if len(drawn) < a.viz:
            drawn.append(pred.image_id)
            backgrounds[pred.image_id] = background
    persons = results_persons(results, sizes, gcfg.dataset, skeleton, a.min_score)
    warnings = checked_persons(persons, skeleton, a.maps, a.force)
    poses = lift(model, skeleton, persons, device, input_norm=lcfg.input_norm)
    # input_index: the person's entry in results.json
    records = poses3d_records(persons, poses, skeleton, identity, warnings)
    write_json(out / "results.json", results)
    write_json(out / "poses3d.json", records)
    written = [out / "results.json", out / "poses3d.json"]
    for image_id in drawn:
        mine = [n for n, r in enumerate(results) if r["image_id"] == image_id]
        lifted = [(mine.index(n), poses[i]) for i, n in enumerate(persons.source) if n in mine]
        path = out / f"pipeline_{image_id}.png"
        plot_persons_2d_3d(path, backgrounds[image_id], [results[n] for n in mine], lifted,
                           DATASET_SKELETONS[gcfg.dataset], skeleton,
                           title=f"image {image_id}; lifter {Path(identity['name']).name}")
        written.append(path)
    _, fragments = count_persons(results)
    print(f"{len(sizes)} images: {describe_counts(results)} grouped; {len(persons)} lifted, "
          f"{persons.skipped - fragments} person{'s' if persons.skipped - fragments != 1 else ''} and the "
          f"{fragments} fragment{'s' if fragments != 1 else ''} not (too few keypoints or no torso)")
    print("wrote " + ", ".join(str(p) for p in written))


def add_lifting_args(p):
    p.add_argument("--checkpoint", default=None, help=f"best.pt of train.py lifting, an original SemGCN checkpoint, "
                   f"or a shipped lifter: {' | '.join(SHIPPED)} ({default_help()})")
    p.add_argument("--keypoints", required=True,
                   help="COCO results .json (17 keypoints per person) or .npy/.npz array (P, J, 2|3)")
    p.add_argument("--format", default=None, choices=list(FORMATS),
                   help="joint order of the input (None: coco for .json; for arrays coco if J = 17, h36m16 if 16)")
    p.add_argument("--images", default=None, help="COCO json whose 'images' give each image's width and height")
    p.add_argument("--image-size", type=number(float, 0, above=True), nargs=2, metavar=("W", "H"), default=None,
                   help="one image size for every person (instead of --images)")
    p.add_argument("--min-score", type=number(float, 0, 1), default=0.1,
                   help="keypoints scored lower count as missing (filled; a person with fewer than 13 of COCO's 17 is skipped)")
    p.add_argument("--focal", type=number(float, 0, above=True), default=None,
                   help="the camera's focal length in pixels, if known (lifters of --input-norm pose): each person is "
                        "seen by the camera turned to look at it, which removes most of the error off the image centre")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="where to run")
    p.add_argument("--batch-size", type=number(int, 1), default=1024, help="poses per forward pass")
    p.add_argument("--out", default="runs/predict-lifting", help="writes OUT/poses3d.json")
    p.add_argument("--viz", type=number(int, 0), default=0, help="draw the first N persons (2D input beside 3D)")
    p.add_argument("--flip-test", action="store_true",
                   help="test-time flipping: average each pose's prediction with that of its mirror image")
    add_force_flag(p)


def add_force_flag(p):
    p.add_argument("--force", action="store_true",
                   help="lift an input whose 2D skeletons are mostly implausible (a few pixels across, or bone lengths "
                        "of no human body: normalised keypoints, a wrong --format); without it that is an error")


@inference_mode
def predict_lifting_cli(a):
    from core.checkpoint import checkpoint_config, rebuild_model
    from core.device import resolve_device
    from tasks.lifting.original import load_lifting_checkpoint
    from tasks.lifting.plots import filled_joints, plot_lifted_pose
    from tasks.lifting.prediction import lift, poses3d_records
    if a.images and a.image_size:
        raise InputError("--images and --image-size: give one of them")
    sizes = image_sizes(a.images) if a.images else None
    given = a.checkpoint
    default = default_lifter(keypoint_format(a.keypoints, a.format))  # photos or Human3.6M's cameras
    a.checkpoint = resolve_lifter(a.checkpoint, default=default)
    ckpt = load_lifting_checkpoint(a.checkpoint)
    skeleton = SKELETONS[ckpt["skeleton"]]
    input_norm = checkpoint_config(ckpt, a.checkpoint, lifting.LiftingConfig.from_dict).input_norm
    identity = lifter_identity(given, a.checkpoint, ckpt, input_norm, default)
    print(describe_lifter(identity), flush=True)
    persons = read_persons(a.keypoints, a.format, skeleton.num_joints, sizes,
                           tuple(a.image_size) if a.image_size else None, a.min_score)
    warnings = checked_persons(persons, skeleton, a.keypoints, a.force)
    device = resolve_device(a.device)
    model = rebuild_model(ckpt, a.checkpoint, lifting.model_from_spec).to(device)
    out = prepare_out_dir(a.out)
    if a.focal is not None and (input_norm != "pose" or a.focal <= 0):
        raise InputError(f"--focal {a.focal:g}: needs a positive focal length and a lifter trained with "
                         f"--input-norm pose ({a.checkpoint} uses {input_norm})")
    poses = lift(model, skeleton, persons, device, a.batch_size, input_norm, a.focal, a.flip_test)
    write_json(out / "poses3d.json", poses3d_records(persons, poses, skeleton, identity, warnings))
    written = [out / "poses3d.json"]
    for i in range(min(a.viz, len(persons))):
        n = persons.source[i]  # the person's index in the input, as poses3d.json's input_index
        path = out / f"person_{n:03d}_image_{persons.image_id[i]}.png"
        plot_lifted_pose(path, persons.joints[i], persons.size[i], poses[i], skeleton,
                         title=f"image {persons.image_id[i]}, input person {n}, score {persons.score[i]:.2f}; "
                               f"lifter {Path(identity['name']).name}" + (" (flagged)" if warnings[i] else ""),
                         filled=filled_joints(persons.filled[i], skeleton))
        written.append(path)
    print(f"{len(persons)} persons lifted, {persons.skipped} skipped (fewer than 13 of 17 keypoints with "
          f"score >= {a.min_score:g}, or no shoulder and hip)")
    print("wrote " + ", ".join(str(p) for p in written))


def checked_persons(persons, skeleton, source, force: bool) -> list[list[str]]:
    """Each person's plausibility warnings (`tasks.lifting.plausibility`); one console line when
    some are flagged; a one-line error when most of the input is (unless `force`)."""
    import numpy as np
    from tasks.lifting.plausibility import file_implausible, person_warnings, summary
    warnings = person_warnings(np.stack(persons.joints), skeleton) if len(persons) else []
    line = summary(warnings)
    if file_implausible(warnings) and not force:
        raise InputError(f"{source}: {line}; most of the input is implausible, nothing lifted (--force lifts it anyway)")
    if line:
        print(f"warning: {line} (their poses3d.json entries list it)", flush=True)
    return warnings


def add_grouping_args(p):
    p.add_argument("--maps", required=True, help="folder of <image_id>.npz AE maps (heatmaps, tags, scale)")
    p.add_argument("--checkpoint", help=f"best.pt of train.py grouping, or a shipped name ({' | '.join(GROUPING_SHIPPED)}; "
                   f"None: {GROUPING_DEFAULT} for --decoder gnn on COCO maps)")
    p.add_argument("--decoder", default="gnn", choices=["gnn", "ae"],
                   help="gnn: the checkpoint's classifier; ae: associative-embedding grouping, no checkpoint")
    p.add_argument("--dataset", default=None, choices=sorted(DATASET_SKELETONS),
                   help="keypoint set of the maps (None: the checkpoint's, else coco)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="where to run")
    p.add_argument("--out", default="runs/predict-grouping", help="writes OUT/results.json")
    p.add_argument("--viz", type=number(int, 0), default=0, help="draw the persons of the first N images")
    add_decode_flags(p)
    add_compile_flag(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _grouping(checkpoint, flag: str, decoder: str, dataset, device, compile: str = "auto") -> tuple:
    """A grouping checkpoint (needed by the gnn decoder) -> (config, pair scorer or None, tag
    statistics, the tag dimension its maps must have)."""
    from core.checkpoint import checkpoint_config, load_checkpoint
    from tasks.grouping.model import checkpoint_tag_dim
    from tasks.grouping.probabilities import checkpoint_scorer
    if checkpoint in SHIPPED:
        raise InputError(f"{flag} {checkpoint}: is a shipped lifting checkpoint, expected a grouping one "
                         f"(train.py grouping's best.pt, or the shipped {GROUPING_DEFAULT})")
    # no checkpoint: the shipped classifier for the gnn decoder (COCO maps), none for the AE decoder
    checkpoint = resolve_grouping(checkpoint, flag, default=decoder == "gnn" and dataset in (None, "coco"))
    if decoder == "gnn" and not checkpoint:
        raise InputError(f"{{decoder}} gnn: needs {flag} for {dataset} maps (the shipped {GROUPING_DEFAULT} is for "
                         f"COCO's; or use --decoder ae)")
    if not checkpoint:
        return GroupingConfig(dataset=dataset or "coco"), None, None, None
    ckpt = load_checkpoint(checkpoint, "grouping")
    cfg = checkpoint_config(ckpt, checkpoint, GroupingConfig.from_dict)
    if dataset and dataset != cfg.dataset:
        raise InputError(f"{{dataset}} {dataset}: {checkpoint} is a {cfg.dataset} model")
    if decoder != "gnn":
        return cfg, None, ckpt["normalization"]["tag_stats"], None
    return (cfg, checkpoint_scorer(ckpt, checkpoint, device, compile), ckpt["normalization"]["tag_stats"],
            checkpoint_tag_dim(ckpt, checkpoint))


@inference_mode
def predict_grouping_cli(a):
    from core.device import resolve_device
    from tasks.grouping.data import heatmap_background
    from tasks.grouping.prediction import predict_folder
    from tasks.plots import plot_grouped_images
    device = resolve_device(a.device)
    cfg, scorer, tag_stats, tag_dim = _grouping(a.checkpoint, "--checkpoint", a.decoder, a.dataset, device, a.compile)
    cfg = decode_overrides(cfg, a)
    out = prepare_out_dir(a.out)
    results, drawn, backgrounds = [], [], {}
    start, images = time.perf_counter(), 0
    progress = not a.no_progress
    for maps, pred in predict_folder(a.maps, a.decoder, cfg, scorer, tag_stats, tag_dim, progress, a.batch):
        results += pred.results
        images += 1
        if len(drawn) < a.viz:
            drawn.append(pred.graph)
            backgrounds[pred.image_id] = heatmap_background(maps)
    seconds = time.perf_counter() - start
    write_json(out / "results.json", results)
    written = [out / "results.json"] + plot_grouped_images(drawn, results, out, cfg.dataset, backgrounds)
    print(f"{images} images, {describe_counts(results)} ({a.decoder} decoder), {images / seconds:.1f} images/s "
          f"(reading the maps included)")
    print("wrote " + ", ".join(str(p) for p in written))


def build_parser() -> ArgumentParser:
    parser, subs = task_parser("predict.py", "Predict with a PoseGraph model, no ground truth needed.", TASKS)
    add_grouping_args(subs["grouping"])
    add_lifting_args(subs["lifting"])
    add_pipeline_args(subs["pipeline"])
    add_export_args(subs["export"])
    return parser


def main(argv):
    return run_task(build_parser(), argv, {"grouping": predict_grouping_cli, "lifting": predict_lifting_cli,
                                              "pipeline": predict_pipeline_cli, "export": export_cli},
                    paths={"grouping": {"maps": "maps", "checkpoint": "checkpoint"},
                           "lifting": {"keypoints": "file", "checkpoint": "checkpoint", "images": "file"},
                           "pipeline": {"maps": "maps", "grouping": "checkpoint", "lifting": "checkpoint"},
                           "export": {"checkpoint": "checkpoint"}}, names=frozenset(SHIPPED) | frozenset(GROUPING_SHIPPED))


if __name__ == "__main__":
    sys.exit(run_cli(main))
