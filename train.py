"""Train a model: `python train.py lifting|grouping [options]` (see README.md)."""
from __future__ import annotations

import sys
from dataclasses import fields

import numpy as np
import torch
from torch_geometric.loader import DataLoader

from datasets.ae_maps import SynthConfig
from datasets.coco import DATASET_SKELETONS
from datasets.errors import InputError
from datasets.keypoint_graph import GraphConfig, tag_statistics
from datasets.skeleton import h36m_skeleton
from datasets.pose_graph import SkeletonBatcher
from tasks import distributed, grouping, lifting
from tasks.cli import ArgumentParser, build_config, parse_actions, run_cli, synth_config
from tasks.run_io import (append_jsonl, check_finite_loss, load_checkpoint, prepare_out_dir,
                          restore_training, save_epoch, start_metrics_log)


def _or_none(kind):
    """argparse type: a number of `kind`, or 'none'."""
    def parse(text: str):
        return None if text.lower() == "none" else kind(text)
    parse.__name__ = kind.__name__ + " or none"
    return parse


def _defaults(cls) -> dict:
    return {f.name: f.default for f in fields(cls) if f.default is not f.default_factory}


def _start(a, task, spec, model, optimizer, generator, scheduler, best, mismatch, d, device,
           num_items: int, seed: int, out):
    """What both tasks do before their first epoch: resume from `--resume` (same model spec
    only), wrap the model for data parallelism, make this rank's sampler (None when not
    distributed), start or trim `metrics.jsonl`. -> start epoch, best, net, sampler, log path."""
    start_epoch = 1
    if a.resume:
        ckpt = load_checkpoint(a.resume, task)
        if ckpt["model"] != spec:
            raise InputError(f"{a.resume}: {mismatch(ckpt)}")
        start_epoch, best = restore_training(ckpt, model, optimizer, generator, scheduler)
    net = distributed.wrap(model, d, device)
    sampler = distributed.train_sampler(num_items, d, seed) if d.enabled else None
    metrics_path = out / "metrics.jsonl"
    if d.is_main:
        start_metrics_log(metrics_path, start_epoch)
    return start_epoch, best, net, sampler, metrics_path


def add_lifting_args(p):
    d, m = _defaults(lifting.LiftingConfig), _defaults(lifting.LiftingModelConfig)
    p.add_argument("--data", help="folder with data_3d_h36m.npz and data_2d_h36m_<kp>.npz "
                   "(default: built-in synthetic data)")
    p.add_argument("--keypoints", default=d["keypoints"],
                   help="gt | cpn_ft_h36m_dbb | sh_ft_h36m | path.npz (default: gt)")
    p.add_argument("--joints", type=int, default=d["joints"], help="16 (SemGCN) or 17")
    p.add_argument("--model", default=m["name"], help=", ".join(lifting.MODEL_NAMES))
    p.add_argument("--hidden", type=int, default=m["hidden"])
    p.add_argument("--blocks", type=int, default=m["blocks"])
    p.add_argument("--epochs", type=int, default=d["epochs"])
    p.add_argument("--batch-size", type=int, default=d["batch_size"])
    p.add_argument("--lr", type=float, default=d["lr"])
    p.add_argument("--dropout", type=float, default=None,
                   help="default 0 for graph models, 0.5 for linear")
    p.add_argument("--downsample", type=int, default=d["downsample"])
    p.add_argument("--actions", default=None, help="comma-separated, e.g. Walking,Eating")
    p.add_argument("--seed", type=int, default=d["seed"])
    p.add_argument("--device", default=d["device"], help="auto | cpu | cuda")
    p.add_argument("--out", default=d["out"])
    p.add_argument("--resume", default=None, help="checkpoint to continue from (last.pt)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def lifting_config_from_args(a) -> lifting.LiftingConfig:
    model = build_config(lifting.LiftingModelConfig, name=a.model, hidden=a.hidden,
                         blocks=a.blocks, dropout=a.dropout)
    return build_config(lifting.LiftingConfig, model=model, data=a.data, keypoints=a.keypoints,
                        joints=a.joints, epochs=a.epochs, batch_size=a.batch_size, lr=a.lr,
                        downsample=a.downsample, actions=parse_actions(a.actions), seed=a.seed,
                        device=a.device, out=a.out)


def train_lifting(a):
    cfg = lifting_config_from_args(a)
    d, device = distributed.setup(cfg.device)
    out = prepare_out_dir(cfg.out)
    torch.manual_seed(cfg.seed)
    skeleton = h36m_skeleton(cfg.joints)
    train_set = lifting.load_lifting_split(cfg, train=True)
    test_set = lifting.load_lifting_split(cfg, train=False)
    train_batcher = SkeletonBatcher.from_poses(train_set, skeleton)
    test_batcher = SkeletonBatcher.from_poses(test_set, skeleton)

    spec = lifting.model_spec(cfg.model, skeleton)
    model = lifting.model_from_spec(spec).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    scheduler = lifting.make_scheduler(optimizer, cfg.lr_decay, cfg.lr_decay_steps)
    generator = torch.Generator().manual_seed(cfg.seed)
    start_epoch, best, net, sampler, metrics_path = _start(
        a, "lifting", spec, model, optimizer, generator, scheduler, float("inf"),
        lambda ck: f"is a checkpoint of {ck['model']['class']} {ck['config']['model']['name']}, "
                   f"not of --model {cfg.model.name} with these settings",
        d, device, len(train_batcher), cfg.seed, out)
    if d.is_main:
        print(f"lifting: {cfg.model.name} ({lifting.count_parameters(model):,} parameters), "
              f"{len(train_set):,} train / {len(test_set):,} test poses, {cfg.joints} joints, "
              f"device {device}{distributed.describe(d)}, data {cfg.data or 'built-in synthetic'}")
    progress = not a.no_progress and sys.stderr.isatty() and d.is_main
    for epoch in range(start_epoch, cfg.epochs + 1):
        shard = None
        if sampler is not None:
            sampler.set_epoch(epoch)
            shard = torch.tensor(list(sampler), dtype=torch.long)
        stats = lifting.train_epoch(net, train_batcher, optimizer, scheduler, cfg.batch_size,
                                    cfg.max_grad_norm, generator, device, progress,
                                    desc=f"epoch {epoch}/{cfg.epochs}", indices=shard, dist_ctx=d)
        check_finite_loss(stats["loss"], epoch, out)
        distributed.sync_buffers(model, d)
        ev = lifting.evaluate_lifting(model, test_batcher, test_set.actions, cfg.eval_batch_size,
                                      device, dist_ctx=d)
        improved = ev["MPJPE"] < best
        best = min(best, ev["MPJPE"])
        if d.is_main:
            record = {"epoch": epoch, "lr": optimizer.param_groups[0]["lr"], "loss": stats["loss"],
                      "MPJPE": ev["MPJPE"], "P-MPJPE": ev["P-MPJPE"], "seconds": stats["seconds"],
                      "train_poses_per_s": stats["poses_per_s"]}
            append_jsonl(metrics_path, record)
            print(f"epoch {epoch:3d}  lr {record['lr']:.2e}  loss {stats['loss']:.6f}  "
                  f"MPJPE {ev['MPJPE']:7.2f} mm  P-MPJPE {ev['P-MPJPE']:7.2f} mm  "
                  f"{stats['seconds']:6.1f} s  {stats['poses_per_s']:8.0f} poses/s", flush=True)
            ckpt = {"task": "lifting", "model": spec, "skeleton": skeleton.name,
                    "normalization": {"input_2d": "x / w * 2 - [1, h / w] (SemGCN screen coordinates)",
                                      "target_3d": "camera frame, root-relative, metres"},
                    "config": cfg.to_dict(), "state_dict": model.state_dict(),
                    "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "epoch": epoch, "best_metric": best, "metric_name": "MPJPE",
                    "rng": {"shuffle": generator.get_state(), "torch": torch.get_rng_state()}}
            save_epoch(out, ckpt, improved, metric="MPJPE")
        distributed.barrier(d)
    if d.is_main:
        print(f"best MPJPE {best:.2f} mm; wrote {out / 'best.pt'}, {out / 'last.pt'}, "
              f"{metrics_path}, {out / 'loss_curve.png'}")
    distributed.cleanup(d)


def add_grouping_args(p):
    d = _defaults(grouping.GroupingConfig)
    p.add_argument("--annotations", help="COCO-format person keypoints json (default: built-in "
                   "synthetic scenes written to OUT/annotations.json)")
    maps = p.add_mutually_exclusive_group()
    maps.add_argument("--maps", help="folder of <image_id>.npz AE maps")
    maps.add_argument("--synthesize", action="store_true", help="render maps from the annotations (default)")
    p.add_argument("--dataset", default=d["dataset"], help="coco | crowdpose")
    p.add_argument("--model", default="edgeconv", help=", ".join(grouping.MODEL_NAMES))
    p.add_argument("--hidden", type=int, default=grouping.GroupingModelConfig().hidden)
    p.add_argument("--pair-attr", action="store_true",
                   help="the edge classifier also takes the pair's attributes [h_i, h_j, e_ij]")
    p.add_argument("--edges", default=GraphConfig().edges,
                   help="message-passing edges: skeleton | skeleton2 | knn")
    p.add_argument("--pairs", default=GraphConfig().pairs,
                   help="classified candidate pairs: skeleton | skeleton2 | knn")
    p.add_argument("--type-nearest", type=_or_none(int), default=GraphConfig().type_nearest,
                   help="skeleton edges/pairs: per candidate, the k nearest of each adjacent type (none: all)")
    p.add_argument("--radius", type=_or_none(float), default=GraphConfig().radius,
                   help="max edge/pair length, fraction of the heatmap width (none: any)")
    p.add_argument("--feature-norm", default="per-map", help="tag normalisation: per-map | dataset")
    p.add_argument("--min-keypoints", type=int, default=d["min_keypoints"],
                   help="decoded persons with fewer keypoints are dropped")
    p.add_argument("--num-scenes", type=int, default=d["num_scenes"], help="built-in scenes")
    p.add_argument("--synth-copies", type=int, default=d["synth_copies"],
                   help="synthesise each training image's maps N times, each with new noise")
    p.add_argument("--synth", action="append", default=[], metavar="KNOB=VALUE",
                   help="a synthesiser knob (repeatable), e.g. tag_noise=0.2, tag_dim=2, "
                        "heatmap_size=256,256; knobs: " + ", ".join(f.name for f in fields(SynthConfig)))
    p.add_argument("--val-fraction", type=float, default=d["val_fraction"])
    p.add_argument("--epochs", type=int, default=d["epochs"])
    p.add_argument("--batch-size", type=int, default=d["batch_size"])
    p.add_argument("--lr", type=float, default=d["lr"])
    p.add_argument("--lr-schedule", default=d["lr_schedule"], help="constant | cosine")
    p.add_argument("--seed", type=int, default=d["seed"])
    p.add_argument("--device", default=d["device"])
    p.add_argument("--out", default=d["out"])
    p.add_argument("--resume", default=None)
    p.add_argument("--no-progress", action="store_true")


def grouping_config_from_args(a) -> grouping.GroupingConfig:
    model = build_config(grouping.GroupingModelConfig, name=a.model, hidden=a.hidden, pair_attr=a.pair_attr)
    graph = build_config(GraphConfig, edges=a.edges, pairs=a.pairs, type_nearest=a.type_nearest,
                         radius=a.radius, feature_norm=a.feature_norm)
    return build_config(grouping.GroupingConfig, model=model, graph=graph, synth=synth_config(a.synth, maps=a.maps),
                        annotations=a.annotations, maps=a.maps, dataset=a.dataset,
                        num_scenes=a.num_scenes, synth_copies=a.synth_copies, val_fraction=a.val_fraction, epochs=a.epochs,
                        batch_size=a.batch_size, lr=a.lr, lr_schedule=a.lr_schedule, seed=a.seed,
                        min_keypoints=a.min_keypoints, device=a.device, out=a.out)


def train_grouping(a):
    cfg = grouping_config_from_args(a)
    d, device = distributed.setup(cfg.device)
    out = prepare_out_dir(cfg.out)
    torch.manual_seed(cfg.seed)
    progress = not a.no_progress and sys.stderr.isatty() and d.is_main
    annotations = cfg.annotations or (out / "annotations.json")
    if not cfg.annotations and d.is_main:
        grouping.write_builtin_annotations(cfg, out)
    distributed.barrier(d)
    data = grouping.prepare_grouping_data(cfg, annotations, synth_seed=cfg.seed, progress=progress)
    by_id = {int(g.image_id): g for g in data.graphs}
    copies = grouping.synthesized_copies(cfg, data, annotations, cfg.seed, progress)
    train_graphs = [by_id[i] for i in data.train_ids] + copies
    val_graphs = [by_id[i] for i in (data.val_ids or data.train_ids)]
    stats = tag_statistics(train_graphs) if cfg.graph.feature_norm == "dataset" else None
    grouping.finalize_all(data.graphs + copies, cfg, stats)
    pos_weight = grouping.pos_weight_of(train_graphs)
    spec = grouping.model_spec(cfg, tag_dim=data.graphs[0].tag.size(1))
    model = grouping.model_from_spec(spec).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    scheduler = grouping.make_scheduler(optimizer, cfg)
    generator = torch.Generator().manual_seed(cfg.seed)
    start_epoch, best, net, sampler, metrics_path = _start(
        a, "grouping", spec, model, optimizer, generator, scheduler, -float("inf"),
        lambda ck: f"is a checkpoint of another grouping model ({ck['config']['model']['name']}), "
                   f"not of --model {cfg.model.name}",
        d, device, len(train_graphs), cfg.seed, out)
    if d.is_main:
        print(f"grouping: {cfg.model.name} ({sum(p.numel() for p in model.parameters()):,} parameters), "
              f"{len(data.train_ids)} train images x {cfg.synth_copies} / {len(data.val_ids)} val images, "
              f"pos_weight {pos_weight:.2f}, device {device}{distributed.describe(d)}, annotations {annotations}")
    for epoch in range(start_epoch, cfg.epochs + 1):
        if sampler is not None:
            sampler.set_epoch(epoch)
            loader = DataLoader(train_graphs, batch_size=cfg.batch_size, sampler=sampler)
        else:
            loader = DataLoader(train_graphs, batch_size=cfg.batch_size, shuffle=True, generator=generator)
        stats_e = grouping.train_epoch(net, loader, optimizer, pos_weight, device, progress,
                                       desc=f"epoch {epoch}/{cfg.epochs}", dist_ctx=d)
        check_finite_loss(stats_e["loss"], epoch, out)
        distributed.sync_buffers(model, d)
        record_lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        probs = grouping.edge_probabilities(model, val_graphs, device, dist_ctx=d)
        labels = torch.cat([g.y for g in val_graphs]).numpy()
        em = grouping.edge_metrics(np.concatenate(probs), labels, cfg.decode_threshold)
        improved = em["edge_ap"] > best
        best = max(best, em["edge_ap"])
        if d.is_main:
            record = {"epoch": epoch, "lr": record_lr, "loss": stats_e["loss"], **em,
                      "seconds": stats_e["seconds"]}
            append_jsonl(metrics_path, record)
            print(f"epoch {epoch:3d}  loss {stats_e['loss']:.4f}  edge acc {em['edge_accuracy']:.4f}  "
                  f"F1 {em['edge_f1']:.4f}  AP {em['edge_ap']:.4f}  {stats_e['seconds']:5.1f} s", flush=True)
            ckpt = {"task": "grouping", "model": spec, "skeleton": DATASET_SKELETONS[cfg.dataset].name,
                    "normalization": {"feature_norm": cfg.graph.feature_norm, "tag_stats": stats},
                    "config": cfg.to_dict(), "annotations": str(annotations),
                    "state_dict": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "epoch": epoch, "best_metric": best, "metric_name": "edge_ap",
                    "pos_weight": pos_weight,
                    "rng": {"shuffle": generator.get_state(), "torch": torch.get_rng_state()}}
            save_epoch(out, ckpt, improved, metric="edge_ap")
        distributed.barrier(d)
    if d.is_main:
        print(f"best validation edge AP {best:.4f}; wrote {out / 'best.pt'}, {out / 'last.pt'}, "
              f"{metrics_path}, {out / 'loss_curve.png'}")
    distributed.cleanup(d)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="train.py", description="Train a PoseGraph model.")
    sub = parser.add_subparsers(dest="task", required=True)
    add_lifting_args(sub.add_parser("lifting", help="2D -> 3D pose lifting (SemGCN)"))
    add_grouping_args(sub.add_parser("grouping", help="multi-person grouping (EdgeConv edge classifier)"))
    return parser


def main(argv):
    a = build_parser().parse_args(argv)
    if a.task == "lifting":
        train_lifting(a)
    else:
        train_grouping(a)


if __name__ == "__main__":
    sys.exit(run_cli(main))
