"""Train a model: `python train.py lifting|grouping [options]` (README.md; `--help` of each task).
The parser is built from the configs alone; torch and the training code load when a task runs,
so `--help` and a bad flag answer at once."""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import time
from dataclasses import fields
from pathlib import Path

import numpy as np

from core.atomic_io import read_jsonl, write_json
from core.console_tee import log_console_to
from core.run_folder import run_folder
from core.cli import ArgumentParser, number, run_cli, run_task, task_parser
from core.errors import InputError
from datasets.synthetic.ae_maps import EXTRAS, SynthConfig
from datasets.coco import DATASET_SKELETONS
from datasets.graph.config import GraphConfig
from datasets.input_norm import DESCRIPTIONS, INPUT_NORMS
from datasets.skeleton import h36m_skeleton
from tasks import grouping, lifting
from tasks.cli import field_defaults, or_none, parse_actions, synth_config
from tasks.grouping.config import FLOOR_REFERENCES

TASKS = {"lifting": "2D -> 3D pose lifting (SemGCN and variants) on Human3.6M-format data",
         "grouping": "bottom-up multi-person grouping: an EdgeConv edge classifier on AE maps"}


def _progress(a, d) -> bool:
    return not a.no_progress and d.is_main


def add_common_args(p, out: str, seed: int, device: str):
    p.add_argument("--seed", type=number(int, 0, 2**32 - 1), default=seed, help="seeds weights, shuffling and synthetic data")
    p.add_argument("--device", default=device, choices=("auto", "cpu", "cuda"), help="where to run")
    p.add_argument("--out", default=out, help="run folder (checkpoints, metrics.jsonl, loss_curve.png)")
    p.add_argument("--resume", default=None, help="checkpoint to continue from (OUT/last.pt)")
    p.add_argument("--overwrite", action="store_true", help="replace the run that OUT already holds (without it, "
                   "a folder holding a run is refused)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--tensorboard", action="store_true", help="also write each epoch's metrics as TensorBoard "
                   "scalars into OUT/tensorboard (needs the tensorboard package)")


def add_lifting_args(p):
    d, m = field_defaults(lifting.LiftingConfig), field_defaults(lifting.LiftingModelConfig)
    p.add_argument("--data", help="folder with data_3d_h36m.npz and data_2d_h36m_<kp>.npz "
                   "(None: the built-in synthetic data)")
    p.add_argument("--keypoints", default=d["keypoints"],
                   help="gt | cpn_ft_h36m_dbb | sh_ft_h36m | path.npz")
    p.add_argument("--joints", type=int, choices=(16, 17), default=d["joints"], help="16 (SemGCN) or 17")
    p.add_argument("--model", default=m["name"], choices=lifting.MODEL_NAMES, help="the lifting model")
    p.add_argument("--hidden", type=number(int, 1), default=m["hidden"],
                   help="channels of the graph layers (None: the model's, 128; graformer 96)")
    p.add_argument("--blocks", type=number(int, 0), default=m["blocks"],
                   help="residual blocks (None: the model's, 4; graformer 5 attention + Chebyshev layers)")
    p.add_argument("--epochs", type=number(int, 1), default=d["epochs"], help="training epochs")
    p.add_argument("--batch-size", type=number(int, 1), default=d["batch_size"], help="poses per step")
    p.add_argument("--lr", type=number(float, 0, above=True), default=d["lr"], help="Adam learning rate")
    p.add_argument("--lr-decay", type=number(float, 0, 1, above=True), default=d["lr_decay"], help="the learning rate's factor every "
                   "--lr-decay-steps steps (SemGCN's schedule)")
    p.add_argument("--lr-decay-steps", type=number(int, 1), default=d["lr_decay_steps"], help="steps between decays")
    p.add_argument("--lr-schedule", default=d["lr_schedule"], choices=list(lifting.LR_SCHEDULES),
                   help="step: x --lr-decay every --lr-decay-steps steps (SemGCN's); cosine: from --lr down to 0 at "
                        "the last step of --epochs")
    p.add_argument("--dropout", type=number(float, 0, 1), default=None,
                   help="None: 0 for the graph models, 0.25 for graformer, 0.5 for linear")
    p.add_argument("--l1-weight", type=number(float, 0), default=d["l1_weight"],
                   help="loss = MSE + this x L1 (None: the model's own, 0.1 for modulated as in Modulated GCN's "
                        "code, 0 for the others: SemGCN's MSE)")
    p.add_argument("--compile", default=d["compile"], choices=["auto", "on", "off"],
                   help="torch.compile the training step (forward, loss, backward; CUDA graphs on a GPU); auto: "
                        f"for runs of at least {lifting.COMPILE_MIN_STEPS:,} steps")
    p.add_argument("--precision", default=d["precision"], choices=["auto", "fp32", "bf16"],
                   help="bf16: autocast the forward to bfloat16; auto: bf16 where the hardware computes it "
                        "(AVX-512 BF16 / AMX CPUs, bf16 GPUs), else fp32")
    p.add_argument("--input-norm", default=d["input_norm"], choices=list(INPUT_NORMS),
                   help="2D input: screen (SemGCN's x / w * 2 - [1, h / w]) or pose (centred on the pelvis, "
                        "divided by the pose's size: camera-independent)")
    p.add_argument("--augment", default=d["augment"], choices=list(lifting.AUGMENTS),
                   help="cameras: each epoch, half of the 2D inputs from random cameras (near and far, off-centre; "
                        "with --input-norm pose); mirror (the default, best on Human3.6M's S8): each epoch, half of the poses mirrored (2D and 3D)")
    p.add_argument("--downsample", type=number(int, 1), default=d["downsample"], help="keep every S-th frame")
    p.add_argument("--actions", default=None, help="comma-separated, e.g. Walking,Eating (None: all)")
    p.add_argument("--init", default=None, help="start from this lifting checkpoint's weights (fine-tuning): a run's "
                   "best.pt, a shipped name (h36m-gt), or a file of the original SemGCN or Modulated GCN code; the "
                   "model flags must describe its model")
    p.add_argument("--seeds", default=None, help="comma-separated seeds (e.g. 0,1,2): train one run per seed in this "
                   "process (OUT/seed-N; on a GPU side by side, each on its own CUDA stream) and write OUT/summary.json "
                   "(mean and standard deviation); instead of --seed")
    p.add_argument("--train-subjects", default=",".join(d["train_subjects"]),
                   help="comma-separated subjects to train on")
    p.add_argument("--val-subjects", default=",".join(d["val_subjects"]),
                   help="comma-separated subjects evaluated after each epoch; best.pt has their lowest MPJPE "
                        "(e.g. S8 with --train-subjects S1,S5,S6,S7); none: no evaluation, best.pt is the last epoch")
    add_common_args(p, d["out"], d["seed"], d["device"])


def lifting_config_from_args(a) -> lifting.LiftingConfig:
    model = lifting.LiftingModelConfig(name=a.model, hidden=a.hidden, blocks=a.blocks, dropout=a.dropout)
    return lifting.LiftingConfig(model=model, data=a.data, keypoints=a.keypoints, joints=a.joints,
                                 epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, lr_decay=a.lr_decay,
                                 lr_decay_steps=a.lr_decay_steps, lr_schedule=a.lr_schedule, l1_weight=a.l1_weight, input_norm=a.input_norm, augment=a.augment,
                                 compile=a.compile, precision=a.precision,
                                 downsample=a.downsample, actions=parse_actions(a.actions),
                                 train_subjects=lifting.parse_subjects(a.train_subjects, "train_subjects"),
                                 val_subjects=lifting.parse_subjects(a.val_subjects, "val_subjects"),
                                 seed=a.seed, device=a.device, out=a.out, init=a.init)


def _resumed(a, task: str, cfg, from_args, from_dict, fixed_length=lambda c: True):
    """The config to train with: the command line's, or with --resume the checkpoint's run with
    the explicit flags on top (`tasks.resume`)."""
    from tasks.resume import describe, resume_config
    if not a.resume:
        return cfg, []
    cfg, r = resume_config(a, task, cfg, from_args(a._parser.parse_args([])), from_dict, fixed_length)
    if os.environ.get("RANK", "0") == "0":
        print(describe(r, a._parser.flag_for), flush=True)
    return cfg, r.history


def _epochs_may_change(cfg) -> bool:
    """Whether a resumed lifting run may change --epochs: not with a cosine schedule, laid out for its epochs."""
    return cfg.lr_schedule == "step"


def train_lifting(a):
    from core import distributed
    from tasks.lifting import seeds as lifting_seeds
    seeds = lifting_seeds.parse_seeds(a.seeds) if a.seeds else None
    top = Path(a.resume) if a.resume and Path(a.resume).is_dir() else None
    if top is not None:  # --resume OUT of a --seeds run: every seed goes on
        found = lifting_seeds.seed_folders(top)
        if not found:
            raise InputError(f"{{resume}} {top}: a folder; a resume takes a run's last.pt, or the folder of a --seeds run "
                             f"(it has no seed-N folders)")
        if seeds and sorted(seeds) != sorted(found):
            raise InputError(f"{{seeds}} {a.seeds}: the run of {top} has seeds {','.join(map(str, sorted(found)))}")
        return _train_lifting_seeds(a, sorted(found), top)
    if seeds and a.resume:
        raise InputError("{seeds}: a resume of a --seeds run takes its folder: --resume OUT (every seed goes on)")
    if seeds:
        return _train_lifting_seeds(a, seeds, Path(a.out))
    cfg, resumes = _resumed(a, "lifting", lifting_config_from_args(a), lifting_config_from_args,
                            lifting.LiftingConfig.from_dict, fixed_length=_epochs_may_change)
    d, device = distributed.setup(cfg.device)
    data = _lifting_data(cfg)
    with run_folder(cfg.out, resuming=bool(a.resume), overwrite=a.overwrite, lock=d.is_main) as out:
        a._run_out = out
        if d.is_main:
            log_console_to(out / "train.log", fresh=not a.resume)
        _lifting_run(a, cfg, data, out, d, device, resumes)
    parent = Path(cfg.out).parent
    if d.is_main and lifting_seeds.seed_of(Path(cfg.out)) is not None and (parent / "summary.json").exists():
        _write_seed_summary(parent)  # a seed of a --seeds run trained on its own: the summary follows


def _train_lifting_seeds(a, seeds: list[int], top: Path) -> None:
    """--seeds: one run per seed in OUT/seed-N (trained in this process), OUT/summary.json after
    each; `--resume OUT` continues every seed from its last.pt (a seed without one starts)."""
    from core import distributed
    from tasks.lifting import seeds as lifting_seeds
    a._run_out = top
    resuming = bool(a.resume)
    held = [f"seed-{s}" for s in seeds if any((top / f"seed-{s}" / f).exists() for f in ("last.pt", "metrics.jsonl"))]
    if held and not resuming and not a.overwrite:
        raise InputError(f"{{out}} {top}: already holds a --seeds run ({', '.join(held)}); continue every seed with "
                         f"--resume {top}, replace them with --overwrite, or choose another {{out}}")
    runs = []
    for s in seeds:
        last = top / f"seed-{s}" / "last.pt"
        a_s = argparse.Namespace(**{**vars(a), "resume": str(last) if resuming and last.exists() else None,
                                    "seed": s, "out": str(top / f"seed-{s}")})
        a_s._given = a._given | {"seed", "out"}
        cfg, resumes = _resumed(a_s, "lifting", lifting_config_from_args(a_s), lifting_config_from_args,
                                lifting.LiftingConfig.from_dict, fixed_length=_epochs_may_change)
        runs.append((a_s, cfg, resumes))  # cfg's seed and out are a_s's (a resume's folder is seed-N)
    d, device = distributed.setup(runs[0][1].device)
    if d.enabled:
        raise InputError("{seeds}: train several seeds in one process, not under torchrun")
    data = _lifting_data(runs[0][1])
    top.mkdir(parents=True, exist_ok=True)
    log_console_to(top / "train.log", fresh=not resuming)
    if a.overwrite:
        (top / "summary.json").unlink(missing_ok=True)
    with contextlib.ExitStack() as stack:  # every seed's folder checked and locked before any trains
        outs = [stack.enter_context(run_folder(cfg.out, resuming=bool(a_s.resume), overwrite=a.overwrite or resuming))
                for a_s, cfg, _ in runs]

        def one(a_s, cfg, out, resumes):
            _lifting_run(a_s, cfg, data, out, d, device, resumes)
            _write_seed_summary(top)
        lifting_seeds.train_seeds([lambda r=r, o=o: one(r[0], r[1], o, r[2]) for r, o in zip(runs, outs)], device)
    summary = _write_seed_summary(top)
    print(lifting_seeds.describe_seed_summary(summary) + f"; wrote {top / 'summary.json'}")


def _write_seed_summary(top: Path) -> dict:
    """OUT/summary.json from the seed folders OUT holds now (so it never describes other runs)."""
    from tasks.lifting import seeds as lifting_seeds
    records = {s: read_jsonl(top / f"seed-{s}" / "metrics.jsonl") for s in lifting_seeds.seed_folders(top)
               if (top / f"seed-{s}" / "metrics.jsonl").exists()}
    summary = lifting_seeds.seed_summary(records)
    write_json(top / "summary.json", summary)
    return summary


def _lifting_data(cfg) -> tuple:
    """The run's skeleton, training and validation poses and their batchers (shared by seeds)."""
    from datasets.pose_graph import SkeletonBatcher
    skeleton = h36m_skeleton(cfg.joints)
    train_set = lifting.load_lifting_split(cfg, train=True)
    test_set = lifting.load_lifting_split(cfg, train=False) if cfg.val_subjects else None
    return (skeleton, train_set, test_set, SkeletonBatcher.from_poses(train_set, skeleton),
            SkeletonBatcher.from_poses(test_set, skeleton) if test_set is not None else None)


def _lifting_run(a, cfg, data, out, d, device, resumes):
    from core import distributed
    from core.device import resolve_precision
    from tasks.lifting import seeds as lifting_seeds
    from tasks.training import TrainingRun, fit
    import torch
    skeleton, train_set, test_set, train_batcher, test_batcher = data
    precision = resolve_precision(cfg.precision, device)
    spec = lifting.model_spec(cfg.model, skeleton)
    with lifting_seeds.SEED_LOCK:  # the global generator draws the weights: one seed at a time (--seeds)
        torch.manual_seed(cfg.seed)
        model = lifting.model_from_spec(spec).to(device)
    if cfg.init and not a.resume:  # a resume restores the weights the run reached
        _init_lifter(model, spec, cfg.init)
    optimizer = lifting.make_optimizer(model, cfg.lr)
    steps_per_epoch = -(-len(train_batcher) // (cfg.batch_size * d.world_size))
    scheduler = lifting.make_scheduler(optimizer, cfg.lr_decay, cfg.lr_decay_steps, cfg.lr_schedule,
                                       cfg.epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(cfg.seed)
    progress = _progress(a, d)

    steps = {}  # the run's TrainStep, made for the network the loop trains (DDP-wrapped or not)

    def train_epoch(net, epoch, sampler):
        shard = None if sampler is None else torch.tensor(list(sampler), dtype=torch.long)
        if "step" not in steps:
            template = lifting.dense_data(train_batcher, device)[2]
            total = cfg.epochs * steps_per_epoch
            steps["step"] = lifting.TrainStep(net, optimizer, scheduler, cfg.max_grad_norm, template,
                                              compile=lifting.compile_wanted(cfg.compile, total),
                                              bf16=precision == "bf16", l1_weight=cfg.effective_l1_weight)
        stats = lifting.train_epoch(net, train_batcher, optimizer, scheduler, cfg.batch_size,
                                    cfg.max_grad_norm, generator, device, progress,
                                    desc=f"epoch {epoch}/{cfg.epochs}", indices=shard, dist_ctx=d,
                                    step=steps["step"], augment=cfg.augment)
        first = steps["step"].first_call_seconds
        extra = {"first_step_seconds": first} if first is not None and "reported" not in steps else {}
        steps["reported"] = True
        return {**stats, **extra, "lr": optimizer.param_groups[0]["lr"]}

    run = TrainingRun(
        tensorboard=a.tensorboard,
        task="lifting", spec=spec, model=model, optimizer=optimizer, scheduler=scheduler,
        generator=generator, num_items=len(train_batcher), train_epoch=train_epoch,
        validate=None if test_set is None else
        lambda m: lifting.evaluate_lifting(m, test_batcher, test_set.actions, cfg.eval_batch_size, device, dist_ctx=d),
        record=lambda s, ev: {"lr": s["lr"], "loss": s["loss"], "MPJPE": ev.get("MPJPE"),
                              "P-MPJPE": ev.get("P-MPJPE"), "seconds": s["seconds"],
                              "train_poses_per_s": s["poses_per_s"],
                              **({"first_step_seconds": s["first_step_seconds"]} if "first_step_seconds" in s else {})},
        line=lambda r: (f"epoch {r['epoch']:3d}  lr {r['lr']:.2e}  loss {r['loss']:.6f}  " +
                        (f"MPJPE {r['MPJPE']:7.2f} mm  P-MPJPE {r['P-MPJPE']:7.2f} mm  " if r["MPJPE"] is not None
                         else "") +
                        f"{r['seconds']:6.1f} s  {r['train_poses_per_s']:8.0f} poses/s"),
        checkpoint={"task": "lifting", "model": spec, "skeleton": skeleton.name,
                    "normalization": {"input_2d": DESCRIPTIONS[cfg.input_norm],
                                      "target_3d": "camera frame, root-relative, metres"},
                    "config": cfg.to_dict(), "resumes": resumes, "data_fingerprint": lifting.data_fingerprint(cfg)},
        mismatch=lambda ck: f"is a checkpoint of {ck['model']['class']} {ck['config']['model']['name']}, "
                            f"not of {{model.name}} {cfg.model.name} with these settings",
        metric="MPJPE", maximize=False,
        best_text=lambda b: f"best MPJPE {b:.2f} mm" if test_set is not None else "no validation subjects: best.pt is the last epoch",
        loss_label=lifting.loss_description(cfg.effective_l1_weight),
        metric_label=f"MPJPE on the validation subjects {', '.join(cfg.val_subjects)} (mm)")
    header = (f"lifting: {cfg.model.name} ({lifting.count_parameters(model):,} parameters), "
              f"{len(train_set):,} train ({','.join(cfg.train_subjects)}) / "
              f"{len(test_set) if test_set is not None else 0:,} validation ({','.join(cfg.val_subjects) or 'none'}) poses, {cfg.joints} joints, "
              f"device {device}{distributed.describe(d)}, {precision}, data {cfg.data or 'built-in synthetic'}, "
              f"seed {cfg.seed}")
    fit(run, cfg.epochs, cfg.seed, out, d, device, a.resume, header)


def _init_lifter(model, spec: dict, init: str) -> None:
    """Load the weights of the lifting checkpoint `init` (ours, shipped, or an original SemGCN /
    Modulated GCN file) into `model`, whose spec must be the checkpoint's."""
    from tasks.lifting.original import load_lifting_checkpoint
    from tasks.lifting.shipped import resolve_lifter
    path = resolve_lifter(init, "--init")
    start = load_lifting_checkpoint(path)
    if start["model"] != spec:
        theirs = start.get("config", {}).get("model", {})
        raise InputError(f"{{init}} {init}: its model ({start['model']['class']} {theirs.get('name')}, hidden "
                         f"{theirs.get('hidden')}, blocks {theirs.get('blocks')}, skeleton {start['skeleton']}) is not "
                         f"the one these flags build; give the same --model/--hidden/--blocks/--joints")
    model.load_state_dict(start["state_dict"])


def add_grouping_args(p):
    d, m, g = (field_defaults(grouping.GroupingConfig), field_defaults(grouping.GroupingModelConfig),
               field_defaults(GraphConfig))
    p.add_argument("--annotations", help="COCO-format person keypoints json (None: built-in "
                   "synthetic scenes written to OUT/annotations.json)")
    p.add_argument("--maps", help="folder of <image_id>.npz AE maps (None: synthesised from the annotations)")
    p.add_argument("--dataset", default=d["dataset"], help="coco | crowdpose")
    p.add_argument("--preset", default="default", choices=list(grouping.PRESETS),
                   help="starting settings: default (the best measured) or reference (the reference design: "
                        "edgeconv, no pair attributes, one draw); the flags below override them")
    p.add_argument("--model", default=None, choices=grouping.MODEL_NAMES, help=f"(None: the preset's, "
                   f"default {m['name']})")
    p.add_argument("--hidden", type=number(int, 1), default=m["hidden"], help="channels of every layer")
    p.add_argument("--pair-attr", action=argparse.BooleanOptionalAction, default=None,
                   help=f"the edge classifier also takes the pair's attributes [h_i, h_j, e_ij] (None: the "
                        f"preset's, default {m['pair_attr']})")
    p.add_argument("--edges", default=g["edges"], help="message-passing edges: skeleton | skeleton2 | skeleton3 | knn")
    ref = grouping.PRESETS["reference"]["graph"]
    p.add_argument("--pairs", default=None, help=f"classified candidate pairs: skeleton | skeleton2 | skeleton3 | knn "
                   f"(default: the preset's, {g['pairs']}; reference: {ref.pairs})")
    p.add_argument("--type-nearest", type=number(int, 1, none=True), default=argparse.SUPPRESS,
                   help=f"skeleton edges/pairs: per candidate, the k nearest of each adjacent type (none: all; default: "
                        f"the preset's, {g['type_nearest']}; reference: {ref.type_nearest})")
    p.add_argument("--radius", type=number(float, 0, above=True, none=True), default=g["radius"],
                   help="max edge/pair length, fraction of the heatmap width (none: any)")
    p.add_argument("--feature-norm", default=g["feature_norm"], help="tag normalisation: per-map | dataset")
    p.add_argument("--score-norm", default=g["score_norm"],
                   help="heatmap score feature: raw | per-map (divided by the image's highest score)")
    p.add_argument("--min-keypoints", type=number(int, 1), default=d["min_keypoints"],
                   help="decoded persons with fewer keypoints are dropped")
    p.add_argument("--merge-threshold", type=number(float, 0, 1), default=argparse.SUPPRESS,
                   help="pairs at least this probable join their groups, most probable first, unless a joint type "
                        f"would repeat (default: the preset's, {d['merge_threshold']}; reference: "
                        f"{grouping.PRESETS['reference']['merge_threshold']})")
    p.add_argument("--attach-threshold", type=number(float, 0, 1, none=True), default=argparse.SUPPRESS,
                   help="a fragment (fewer than 5 keypoints) joins the person whose missing joint types it fills "
                        f"through a pair at least this probable (none: fragments stay apart; default: the preset's, "
                        f"{d['attach_threshold']})")
    p.add_argument("--person-floor", type=number(float, 0, none=True), default=argparse.SUPPRESS,
                   help="persons scored lower are not written (none, the default preset's: chosen after training on "
                        "the training and validation images, the highest floor that costs at most 0.5 AP and AR "
                        "points there; the reference preset: 0)")
    p.add_argument("--floor-reference", choices=list(FLOOR_REFERENCES), default=argparse.SUPPRESS,
                   help="the person floor is a share of the image's strongest candidate's heatmap score (image), "
                        "so that it holds for models whose heatmaps peak lower, or in heatmap score units (none; "
                        f"default: the preset's, {d['floor_reference']})")
    p.add_argument("--num-scenes", type=number(int, 1), default=d["num_scenes"], help="built-in scenes")
    p.add_argument("--synth-copies", type=number(int, 1), default=None,
                   help=f"synthesise each training image's maps N times, each with new noise (None: the "
                        f"preset's, default {d['synth_copies']})")
    p.add_argument("--synth-randomize", action=argparse.BooleanOptionalAction, default=None,
                   help="draw each training image's synthesiser anew (peak widths, tag scale and noise, "
                        "false positives, misses, resolutions), so the classifier does not learn one model's maps "
                        f"(None: the preset's, default {d['synth_randomize']})")
    p.add_argument("--synth-generators", default=",".join(d["synth_generators"]),
                   help="map generators of the synthesised training copies, in turn (project, second, fourth); the first "
                        "draw of every image, and the validation images, use the project's")
    p.add_argument("--synth-artifacts", action=argparse.BooleanOptionalAction, default=None,
                   help="give each synthesised training image artifacts of real AE models, drawn per image: left/right "
                        "ghost peaks, tag drift across a person, misses of joints occluded by a person in front "
                        f"(None: the preset's, default {d['synth_artifacts']})")
    p.add_argument("--synth-extras", default=None,
                   help="more artifacts drawn with --synth-artifacts, comma-separated, or none: "
                        + ", ".join(EXTRAS) + " (datasets/synthetic/ae_maps.py with_artifacts; None: the preset's, default "
                        + (",".join(d["synth_extras"]) or "none") + ")")
    p.add_argument("--builtin-scenes", type=number(int, 0), default=d["builtin_scenes"],
                   help="mix N built-in scenes (synthesised maps) into the training images of --annotations")
    p.add_argument("--synth", action="append", default=[], metavar="KNOB=VALUE",
                   help="a synthesiser knob (repeatable), e.g. tag_noise=0.2, tag_dim=2, "
                        "heatmap_size=256,256; knobs: " + ", ".join(f.name for f in fields(SynthConfig)))
    p.add_argument("--val-fraction", type=number(float, 0, 1), default=d["val_fraction"],
                   help="fraction of the images held out for validation (0: validate on the training images)")
    p.add_argument("--val-copies", type=number(int, 1), default=None,
                   help="synthesise each validation image's maps N times, drawn as the training copies, so "
                        f"the best epoch is chosen on more than one draw (None: the preset's, default {d['val_copies']})")
    p.add_argument("--epochs", type=number(int, 1), default=d["epochs"], help="training epochs")
    p.add_argument("--batch-size", type=number(int, 1), default=d["batch_size"], help="images per step")
    p.add_argument("--lr", type=number(float, 0, above=True), default=d["lr"], help="Adam learning rate")
    p.add_argument("--lr-schedule", default=d["lr_schedule"], help="constant | cosine")
    p.add_argument("--optimizer", default=d["optimizer"], help="adam | sgd (momentum 0.9)")
    p.add_argument("--graph-cache", type=or_none(str), default=d["graph_cache"],
                   help="folder where built graphs are kept for the next run (auto: graphs/ in the user cache folder, "
                        "$POSEGRAPH_CACHE or ~/.cache/posegraph; none: no cache)")
    p.add_argument("--workers", type=number(int, 0), default=d["workers"],
                   help="DataLoader worker processes computing the training batches' features")
    p.add_argument("--init", default=None, help="start from this grouping checkpoint's classifier (fine-tuning)")
    add_common_args(p, d["out"], d["seed"], d["device"])


def grouping_config_from_args(a) -> grouping.GroupingConfig:
    preset = {**field_defaults(grouping.GroupingConfig), "model": grouping.GroupingModelConfig(),
              "graph": GraphConfig(), **grouping.PRESETS[a.preset]}

    def given(value, default):
        return default if value is None else value

    artifacts = given(a.synth_artifacts, preset["synth_artifacts"])  # (the extras go with them)
    model = grouping.GroupingModelConfig(name=given(a.model, preset["model"].name), hidden=a.hidden,
                                         pair_attr=given(a.pair_attr, preset["model"].pair_attr))
    graph = GraphConfig(edges=a.edges, pairs=given(a.pairs, preset["graph"].pairs),
                        type_nearest=getattr(a, "type_nearest", preset["graph"].type_nearest), radius=a.radius,
                        feature_norm=a.feature_norm, score_norm=a.score_norm)
    return grouping.GroupingConfig(
        model=model, graph=graph, synth=synth_config(a.synth, maps=a.maps), annotations=a.annotations,
        maps=a.maps, dataset=a.dataset, num_scenes=a.num_scenes,
        synth_copies=given(a.synth_copies, preset["synth_copies"] if a.maps is None else 1),  # copies: synthesised maps only
        synth_randomize=given(a.synth_randomize, preset["synth_randomize"]), synth_generators=tuple(a.synth_generators.split(",")),
        synth_artifacts=artifacts,
        synth_extras=(preset["synth_extras"] if artifacts else ()) if a.synth_extras is None else
        tuple(e for e in a.synth_extras.split(",") if e and e != "none"),
        builtin_scenes=a.builtin_scenes,
        val_fraction=a.val_fraction, epochs=a.epochs,
        val_copies=given(a.val_copies, preset["val_copies"] if a.maps is None else 1), batch_size=a.batch_size, lr=a.lr,
        lr_schedule=a.lr_schedule, optimizer=a.optimizer, init=a.init, graph_cache=a.graph_cache,
        workers=a.workers, seed=a.seed, min_keypoints=a.min_keypoints, attach_threshold=getattr(a, "attach_threshold", preset["attach_threshold"]),
        merge_threshold=getattr(a, "merge_threshold", preset["merge_threshold"]),
        person_floor=getattr(a, "person_floor", preset["person_floor"]),
        floor_reference=getattr(a, "floor_reference", preset["floor_reference"]), device=a.device, out=a.out)


COMPILE_AFTER_SECONDS = 120  # grouping runs this long get their classifier compiled for inference


def train_grouping(a):
    from core import distributed
    from core.checkpoint import load_checkpoint
    from datasets.graph.features import tag_statistics
    from tasks.grouping.data import data_fingerprint as grouping_data_fingerprint
    from tasks.grouping.model import describe_mismatch
    from tasks.training import TrainingRun, fit
    from torch_geometric.loader import DataLoader
    import torch
    started = time.perf_counter()
    cfg, resumes = _resumed(a, "grouping", grouping_config_from_args(a), grouping_config_from_args,
                            grouping.GroupingConfig.from_dict, fixed_length=lambda c: c.lr_schedule != "cosine")
    if a.resume and not hasattr(a, "person_floor") and "person_floor_choice" in load_checkpoint(a.resume, "grouping"):
        cfg = dataclasses.replace(cfg, person_floor=None)  # chosen after training: chosen again for the new weights
    d, device = distributed.setup(cfg.device)
    out = a._exit_stack.enter_context(run_folder(cfg.out, resuming=bool(a.resume), overwrite=a.overwrite,
                                                 lock=d.is_main))
    a._run_out = out
    if d.is_main:
        log_console_to(out / "train.log", fresh=not a.resume)
    torch.manual_seed(cfg.seed)
    progress = _progress(a, d)
    annotations = cfg.annotations or (out / "annotations.json")
    if not cfg.annotations and d.is_main:
        grouping.write_builtin_annotations(cfg, out)
    distributed.barrier(d)
    data = grouping.prepare_grouping_data(cfg, annotations, synth_seed=cfg.seed, progress=progress)
    by_id = {int(g.image_id): g for g in data.graphs}
    copies = grouping.synthesized_copies(cfg, data, annotations, cfg.seed, progress)
    mixed = grouping.builtin_training_graphs(cfg, out, cfg.seed, progress) if cfg.builtin_scenes else []
    train_graphs = [by_id[i] for i in data.train_ids] + copies + mixed
    val_graphs = [by_id[i] for i in (data.val_ids or data.train_ids)]
    val_graphs += grouping.synthesized_copies(cfg, data, annotations, cfg.seed, progress, split="val")
    val_labels = torch.cat([g.y for g in val_graphs]).numpy()
    for split, labels in (("training", torch.cat([g.y for g in train_graphs]).numpy()), ("validation", val_labels)):
        if labels.size == 0 or labels.min() == labels.max():  # no edge AP, no pos_weight: nothing to learn or pick by
            kind = "no candidate pairs" if labels.size == 0 else \
                f"only {'positive' if labels[0] else 'negative'} candidate pairs ({labels.size})"
            raise InputError(f"{annotations}: the {split} images have {kind}; edge AP is undefined. "
                             f"Use more images or another {{val_fraction}}")
    stats = tag_statistics(train_graphs) if cfg.graph.feature_norm == "dataset" else None
    grouping.finalize_all(val_graphs, cfg, stats)  # the training graphs get theirs batch by batch
    train_set = grouping.FeatureGraphs(train_graphs, cfg, stats)
    pos_weight = grouping.pos_weight_of(train_graphs)
    tag_dim = data.graphs[0].tag.size(1)  # D of the maps' tags; evaluation checks its maps against it
    spec = grouping.model_spec(cfg, tag_dim=tag_dim)
    model = grouping.model_from_spec(spec)
    if cfg.init and not a.resume:  # a resume restores the weights the run reached
        start = load_checkpoint(cfg.init, "grouping")
        if start["model"] != spec:
            raise InputError(f"{{init}} {cfg.init}: its classifier cannot start this run: "
                             f"{describe_mismatch(start, spec, cfg, tag_dim)}")
        model.load_state_dict(start["state_dict"])
    model = model.to(device)
    optimizer = grouping.make_optimizer(model, cfg)
    scheduler = grouping.make_scheduler(optimizer, cfg)
    generator = torch.Generator().manual_seed(cfg.seed)

    def train_epoch(net, epoch, sampler):
        workers = {"num_workers": cfg.workers, "persistent_workers": False}
        if sampler is not None:
            loader = DataLoader(train_set, batch_size=cfg.batch_size, sampler=sampler, **workers)
        else:
            loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, generator=generator, **workers)
        stats_e = grouping.train_epoch(net, loader, optimizer, pos_weight, device, progress,
                                       desc=f"epoch {epoch}/{cfg.epochs}", dist_ctx=d)
        lr = optimizer.param_groups[0]["lr"]  # the rate this epoch trained with
        scheduler.step()
        return {**stats_e, "lr": lr}

    def validate(m):
        probs = np.concatenate(grouping.edge_probabilities(m, val_graphs, device, dist_ctx=d))
        return {"val_loss": grouping.pair_bce(probs, val_labels, pos_weight),
                **grouping.edge_metrics(probs, val_labels, cfg.decode_threshold)}

    run = TrainingRun(
        tensorboard=a.tensorboard,
        task="grouping", spec=spec, model=model, optimizer=optimizer, scheduler=scheduler,
        generator=generator, num_items=len(train_graphs), train_epoch=train_epoch, validate=validate,
        record=lambda s, em: {"lr": s["lr"], "loss": s["loss"], **em, "seconds": s["seconds"]},
        line=lambda r: (f"epoch {r['epoch']:3d}  loss {r['loss']:.4f}  edge acc {r['edge_accuracy']:.4f}  "
                        f"F1 {r['edge_f1']:.4f}  AP {r['edge_ap']:.4f}  {r['seconds']:5.1f} s"),
        checkpoint={"task": "grouping", "model": spec, "skeleton": DATASET_SKELETONS[cfg.dataset].name,
                    "normalization": {"feature_norm": cfg.graph.feature_norm, "tag_stats": stats},
                    "config": cfg.to_dict(), "annotations": str(annotations), "pos_weight": pos_weight,
                    "tag_dim": tag_dim, "resumes": resumes,
                    "data_fingerprint": grouping_data_fingerprint(cfg, annotations)},
        mismatch=lambda ck: f"is a checkpoint of another grouping model ({ck['config']['model']['name']}), "
                            f"not of {{model.name}} {cfg.model.name}",
        metric="edge_ap", maximize=True, best_text=lambda b: f"best validation edge AP {b:.4f}",
        loss_label="loss (weighted BCE)", metric_label="validation edge AP")
    header = (f"grouping: {cfg.model.name} ({sum(p.numel() for p in model.parameters()):,} parameters), "
              f"{len(data.train_ids)} train images x {cfg.synth_copies}"
              + (f" + {cfg.builtin_scenes} built-in scenes" if cfg.builtin_scenes else "")
              + f" / {len(data.val_ids)} val images" + (f" x {cfg.val_copies}" if cfg.val_copies > 1 else "") + ", "
              f"pos_weight {pos_weight:.2f}, device {device}{distributed.describe(d)}, annotations {annotations}")
    fit(run, cfg.epochs, cfg.seed, out, d, device, a.resume, header)
    if d.is_main and cfg.person_floor is None:  # on every image of the file: validation images alone hold too few
        _choose_floors(out, _floor_graphs(cfg, data, annotations, stats), data, cfg, device,  # people with one or
                       "training and validation", progress)  # two keypoints (docs/results.md)
    if d.is_main and time.perf_counter() - started >= COMPILE_AFTER_SECONDS and (out / "best.pt").exists():
        start = time.perf_counter()
        package = grouping.compile_checkpoint(out / "best.pt", val_graphs, device)
        if package is not None:
            print(f"compiled the classifier of {out / 'best.pt'} for inference in {time.perf_counter() - start:.0f} s "
                  f"({package})", flush=True)


def _floor_graphs(cfg, data, annotations, stats) -> list:
    """The graphs the person floor is chosen on: every image of the run, with its own maps, or
    with maps of the plain synthesiser (as `evaluate.py grouping` draws them, seed + 1) when the
    training maps are drawn randomised or with artifacts: their many false peaks would keep the
    floor low and the debris written (docs/results.md)."""
    from tasks.grouping import evaluation as grouping_evaluation
    if cfg.maps is None and (cfg.synth_randomize or cfg.synth_artifacts):
        plain = grouping_evaluation.eval_config(cfg, None, cfg.device)
        graphs = grouping.prepare_grouping_data(plain, annotations, grouping_evaluation.default_synth_seed(cfg)).graphs
    else:
        graphs = data.graphs
    return grouping.finalize_all(graphs, cfg, stats)


def _choose_floors(out, graphs, data, cfg, device, split: str, show_progress: bool = False) -> None:
    """The person floor of best.pt and last.pt, each chosen with its own classifier on `graphs`."""
    from core.checkpoint import load_checkpoint
    from tasks.grouping.floor_choice import choose_person_floor, record_floor
    from tasks.grouping.probabilities import checkpoint_scorer
    from core.progress import progress
    for name in ("best.pt", "last.pt"):
        if not (out / name).exists():
            continue
        print(f"{name}: choosing the person floor on {len(graphs)} {split} images", flush=True)
        ckpt = load_checkpoint(out / name, "grouping")
        scorer = checkpoint_scorer(ckpt, out / name, device, "off")
        probs = [scorer(g) for g in progress(graphs, desc=f"person floor of {name}", enabled=show_progress, leave=False)]
        choice = choose_person_floor(graphs, probs, cfg, data.gt)
        record_floor(out / name, ckpt, {**choice, "split": split})
        print(f"{name}: person floor {choice['floor']:.4f}, chosen on {choice['images']} {split} images: persons "
              f"written {choice['persons_before']} -> {choice['persons_after']}, AP {choice['AP_before']:.3f} -> "
              f"{choice['AP_after']:.3f}, AR {choice['AR_before']:.3f} -> {choice['AR_after']:.3f}", flush=True)


def build_parser() -> ArgumentParser:
    parser, subs = task_parser("train.py", "Train a PoseGraph model.", TASKS)
    add_lifting_args(subs["lifting"])
    add_grouping_args(subs["grouping"])
    return parser


def _logged(task: str, handler):
    """A task's handler whose console goes to its run's train.log (`core.console_tee`), and whose
    Ctrl-C says what was saved and how to go on."""
    def run(a):
        from core.console_tee import ConsoleTee
        with ConsoleTee.capture():
            try:
                handler(a)
            except KeyboardInterrupt as e:
                raise _interrupted(task, a, e) from None
    return run


def _interrupted(task: str, a, e: KeyboardInterrupt) -> KeyboardInterrupt:
    """The Ctrl-C line (printed here, so that it reaches train.log) -> the interrupt to re-raise."""
    if str(e):  # the run folder's own account (nothing was saved)
        return e
    out = Path(getattr(a, "_run_out", None) or a.out)
    seeds = sorted(out.glob("seed-*/last.pt")) if getattr(a, "seeds", None) else []
    if seeds:
        text = (f"interrupted: {len(seeds)} seed folder(s) of {out} hold their last finished epoch; continue every "
                f"seed with: python train.py {task} --resume {out}")
    elif (out / "last.pt").exists():
        epoch = read_jsonl(out / "metrics.jsonl")[-1]["epoch"] if (out / "metrics.jsonl").exists() else "?"
        text = (f"interrupted: {out / 'last.pt'} holds epoch {epoch} (the last one finished); continue with: "
                f"python train.py {task} --resume {out / 'last.pt'}")
    else:
        text = "interrupted: nothing was saved"
    print(text, file=sys.stderr, flush=True)
    reported = KeyboardInterrupt(text)
    reported.reported = True
    return reported


def main(argv):
    from tasks.lifting.shipped import SHIPPED
    return run_task(build_parser(), argv, {"lifting": _logged("lifting", train_lifting),
                                           "grouping": _logged("grouping", train_grouping)},
                    paths={"lifting": {"data": "dir", "init": "checkpoint"},
                           "grouping": {"annotations": "file", "maps": "maps", "init": "checkpoint"}},
                    names=frozenset(SHIPPED))


if __name__ == "__main__":
    sys.exit(run_cli(main))
