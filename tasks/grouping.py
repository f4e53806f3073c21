"""Bottom-up multi-person grouping: configuration, data preparation, loss, edge metrics,
decoders (GNN greedy merging, associative-embedding greedy matching, oracle) and COCO results.

A person is a (K, 3) array of keypoints in image pixels (x, y, score; zeros where missing) and a
score: the sum of its keypoints' heatmap scores over K, so that a complete person ranks above
a fragment of one.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import average_precision_score, roc_auc_score
from torch import Tensor, nn
from torch_geometric.data import Data
from tqdm import tqdm

from datasets.ae_maps import SynthConfig, read_ae_maps, synthesize_maps
from datasets.coco import DATASET_SKELETONS, load_coco_gt, persons_by_image, quiet_coco
from core.errors import InputError
from datasets.keypoint_graph import (GraphConfig, build_graph, edge_dim, finalize_features,
                                     vertex_dim)
from datasets.synthetic_scenes import synthetic_scenes
from gnn.models import MODEL_CLASSES
from gnn.trace import Traced
from core.distributed import Dist, all_sum, eval_block, gather
from core.atomic_io import write_json

MODEL_NAMES = ("edgeconv", "edgeconv-attr")
DECODERS = ("gnn", "ae", "oracle")
LR_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class GroupingModelConfig:
    name: str = "edgeconv"
    hidden: int = 32
    pair_attr: bool = False  # the edge MLP also sees the pair's attributes

    def __post_init__(self):
        if self.name not in MODEL_NAMES:
            raise InputError(f"{{model.name}} {self.name}: unknown model (expected {', '.join(MODEL_NAMES)})")
        if self.hidden < 1:
            raise InputError(f"{{model.hidden}} {self.hidden}: must be >= 1")


@dataclass(frozen=True)
class GroupingConfig:
    """Everything a grouping run depends on. Defaults: the reference design (Adam, batch 5,
    50 epochs) on the built-in synthetic scenes."""

    model: GroupingModelConfig = field(default_factory=GroupingModelConfig)
    graph: GraphConfig = field(default_factory=GraphConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    annotations: Optional[str] = None  # None: built-in synthetic scenes
    maps: Optional[str] = None  # folder of <image_id>.npz; None: synthesise
    dataset: str = "coco"
    num_scenes: int = 200
    synth_copies: int = 1  # synthesised maps per training image (augmentation)
    val_fraction: float = 0.2
    epochs: int = 50
    batch_size: int = 5
    lr: float = 1e-3
    lr_schedule: str = "constant"  # "constant" (the reference design) | "cosine" (to 0 at the last epoch)
    seed: int = 0
    device: str = "auto"
    out: str = "runs/grouping"
    decode_threshold: float = 0.5
    min_keypoints: int = 1  # as the oracle: COCO people with one or two labelled keypoints count
    ae_tag_threshold: float = 1.0

    def __post_init__(self):
        if self.dataset not in DATASET_SKELETONS:
            raise InputError(f"{{dataset}} {self.dataset}: expected one of {', '.join(DATASET_SKELETONS)}")
        for name in ("epochs", "batch_size", "num_scenes", "min_keypoints", "synth_copies"):
            if getattr(self, name) < 1:
                raise InputError(f"{{{name}}} {getattr(self, name)}: must be >= 1")
        if self.synth_copies > 1 and self.maps is not None:
            raise InputError(f"{{synth_copies}} {self.synth_copies}: needs synthesised maps, not {{maps}}")
        if not self.lr > 0:
            raise InputError(f"{{lr}} {self.lr}: must be positive")
        if self.lr_schedule not in LR_SCHEDULES:
            raise InputError(f"{{lr_schedule}} {self.lr_schedule}: expected one of {', '.join(LR_SCHEDULES)}")
        if not 0 <= self.val_fraction < 1:
            raise InputError(f"{{val_fraction}} {self.val_fraction}: must be in [0, 1)")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GroupingConfig":
        d = dict(d)
        d["model"] = GroupingModelConfig(**d["model"])
        d["graph"] = GraphConfig(**{"type_nearest": None, **d["graph"]})  # older checkpoints: no such bound
        d["synth"] = SynthConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d["synth"].items()})
        return cls(**d)


# ---------------------------------------------------------------------------------------------
# Data

@dataclass
class GroupingData:
    gt: object  # pycocotools COCO
    graphs: list[Data]  # one per image, raw (see finalize_features)
    train_ids: list[int]
    val_ids: list[int]


def write_builtin_annotations(cfg: GroupingConfig, folder: Path) -> Path:
    path = folder / "annotations.json"
    write_json(path, synthetic_scenes(cfg.num_scenes, seed=cfg.seed))
    return path


def prepare_grouping_data(cfg: GroupingConfig, annotations_path, synth_seed: int,
                          progress: bool = False) -> GroupingData:
    """Read the annotations, get each image's maps (read or synthesised with `synth_seed`),
    build its graph, and split the images into train / validation (seeded)."""
    gt = load_coco_gt(annotations_path, cfg.dataset)
    graphs = _image_graphs(cfg, gt, annotations_path, sorted(gt.imgs), np.random.default_rng(synth_seed),
                           progress, "graphs")
    ids = [int(g.image_id) for g in graphs]
    order = np.random.default_rng(cfg.seed).permutation(len(ids))
    n_val = int(round(cfg.val_fraction * len(ids)))
    val = sorted(ids[i] for i in order[:n_val])
    train = sorted(ids[i] for i in order[n_val:])
    return GroupingData(gt, graphs, train, val)


def synthesized_copies(cfg: GroupingConfig, data: GroupingData, annotations_path, synth_seed: int,
                       progress: bool = False) -> list[Data]:
    """Graphs of the training images with maps synthesised `cfg.synth_copies - 1` more times,
    each with new noise (seeded by (`synth_seed`, copy)): data augmentation for training."""
    graphs = []
    for c in range(1, cfg.synth_copies):
        graphs += _image_graphs(cfg, data.gt, annotations_path, data.train_ids,
                                np.random.default_rng([synth_seed, c]), progress, f"copy {c}")
    return graphs


def _image_graphs(cfg: GroupingConfig, gt, annotations_path, image_ids, rng, progress: bool,
                  desc: str) -> list[Data]:
    skeleton = DATASET_SKELETONS[cfg.dataset]
    K = skeleton.num_joints
    people = persons_by_image(gt, K)
    graphs = []
    for image_id in tqdm(image_ids, desc=desc, disable=not progress, leave=False):
        img = gt.imgs[image_id]
        kps, areas, anns = people[image_id]
        if cfg.maps is not None:
            maps = read_ae_maps(cfg.maps, image_id, K)
        else:
            if "width" not in img or "height" not in img:
                raise InputError(f"{Path(annotations_path).name}: image {image_id} has no width/height "
                                 f"(needed to synthesise maps)")
            maps = synthesize_maps(img["width"], img["height"], anns, K, cfg.synth, rng)
        graphs.append(build_graph(maps, skeleton, cfg.graph, kps, areas, image_id))
    return graphs


def finalize_all(graphs: list[Data], cfg: GroupingConfig, stats: Optional[dict]) -> list[Data]:
    K = DATASET_SKELETONS[cfg.dataset].num_joints
    return [finalize_features(g, K, cfg.graph.feature_norm, stats, **attributes_read(cfg.model))
            for g in graphs]


def attributes_read(model: GroupingModelConfig) -> dict:
    """Which edge attributes the model reads: `finalize_features` computes only those."""
    return {"edge_attr": model.name == "edgeconv-attr", "pair_attr": model.pair_attr}


# ---------------------------------------------------------------------------------------------
# Model, loss, metrics

def model_spec(cfg: GroupingConfig, tag_dim: int) -> dict:
    K = DATASET_SKELETONS[cfg.dataset].num_joints
    return {"class": "EdgeClassifier",
            "kwargs": {"in_channels": vertex_dim(K, tag_dim),
                       "edge_dim": edge_dim(K), "hidden_channels": cfg.model.hidden,
                       "edge_attr_in_conv": cfg.model.name == "edgeconv-attr",
                       "pair_attr": cfg.model.pair_attr}}


def tag_dim_of(spec: dict, dataset: str) -> int:
    """The tag dimension D the model of `spec` reads (its input width less the other features)."""
    return spec["kwargs"]["in_channels"] - vertex_dim(DATASET_SKELETONS[dataset].num_joints, 0)


def model_from_spec(spec: dict) -> nn.Module:
    return MODEL_CLASSES[spec["class"]](**spec["kwargs"])


def classifier_inputs(batch) -> tuple:
    """The classifier's arguments from a graph / batch: x, edge_index, edge_attr, pair_index,
    pair_attr (the attributes `None` when the features left them out)."""
    return (batch.x, batch.edge_index, getattr(batch, "edge_attr", None), batch.pair_index,
            getattr(batch, "pair_attr", None))


def edge_logits(model: nn.Module, batch) -> Tensor:
    return model(*classifier_inputs(batch))


def inference_classifier(model: nn.Module, graphs: list[Data], device) -> nn.Module:
    """The classifier as decoding runs it: on `device`, eval mode, BatchNorms folded (`fused`),
    and traced with TorchScript (`gnn.trace.Traced`) on the first of `graphs` (finalized) with
    message edges and pairs; the eager fused copy when there is none."""
    fused = model.to(device).fused()
    for g in graphs:
        if g.edge_index.size(1) > 0 and g.pair_index.size(1) > 0:
            return Traced(fused, classifier_inputs(copy.copy(g).to(device)))
    return fused


def pos_weight_of(graphs: list[Data]) -> float:
    """negatives / positives over the training pairs (BCE `pos_weight`)."""
    y = torch.cat([g.y for g in graphs])
    pos = float(y.sum())
    return (len(y) - pos) / pos if pos > 0 else 1.0


def make_scheduler(optimizer, cfg: GroupingConfig):
    """Per-epoch learning-rate schedule: constant, or cosine annealing to 0 over `cfg.epochs`."""
    if cfg.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0)


def grouping_loss(logits: Tensor, labels: Tensor, pos_weight: float) -> Tensor:
    return nn.functional.binary_cross_entropy_with_logits(
        logits, labels, pos_weight=torch.tensor(pos_weight, device=logits.device))


def edge_metrics(probs: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> dict:
    """accuracy, precision, recall, F1 at `threshold`; ROC-AUC and average precision."""
    pred = probs >= threshold
    labels = labels.astype(bool)
    tp, fp, fn = int((pred & labels).sum()), int((pred & ~labels).sum()), int((~pred & labels).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    both = len(np.unique(labels)) == 2
    return {"edge_accuracy": float((pred == labels).mean()) if len(labels) else float("nan"),
            "edge_precision": precision, "edge_recall": recall,
            "edge_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "edge_roc_auc": float(roc_auc_score(labels, probs)) if both else float("nan"),
            "edge_ap": float(average_precision_score(labels, probs)) if both else float("nan")}


# ---------------------------------------------------------------------------------------------
# Decoders: candidates (+ edge probabilities) -> persons

def _persons(data: Data, label: np.ndarray, K: int, min_keypoints: int) -> list[tuple[np.ndarray, float]]:
    """Candidates' group labels (M,) (-1: in no group; at most one candidate of a type per
    group) -> persons (K, 3) image pixels + score (summed keypoint scores / K), one per group
    with at least `min_keypoints` members, in the order of the groups' smallest labels."""
    idx = np.nonzero(label >= 0)[0]
    if idx.size == 0:
        return []
    _, group = np.unique(label[idx], return_inverse=True)  # (n,) 0..G-1 by label
    count = np.bincount(group)
    img = (data.pos * data.factor + data.offset).numpy()
    scores = data.score.numpy().astype(np.float64)[idx]
    kps = np.zeros((count.size, K, 3))
    t = data.jtype.numpy()[idx]
    kps[group, t, :2], kps[group, t, 2] = img[idx], scores
    total = np.bincount(group, weights=scores, minlength=count.size)
    return [(kps[g], float(total[g] / K)) for g in np.nonzero(count >= min_keypoints)[0]]


def decode_gnn(data: Data, probs: np.ndarray, K: int, threshold: float = 0.5,
               min_keypoints: int = 3) -> list[tuple[np.ndarray, float]]:
    """Greedy merging: pairs by descending probability (above `threshold`) join their groups
    unless that would give a group two keypoints of one type."""
    M = data.num_nodes
    parent = list(range(M))
    types = [1 << t for t in data.jtype.tolist()]
    keep = np.nonzero(probs >= threshold)[0]
    keep = keep[np.argsort(-probs[keep], kind="stable")]  # pairs above threshold, best first
    pairs = data.pair_index.numpy()
    for a, b in zip(pairs[0, keep].tolist(), pairs[1, keep].tolist()):
        while parent[a] != a:  # find with path halving
            parent[a] = a = parent[parent[a]]
        while parent[b] != b:
            parent[b] = b = parent[parent[b]]
        if a != b and not (types[a] & types[b]):
            parent[b] = a
            types[a] |= types[b]
    root = np.array(parent, dtype=np.int64)
    while True:  # every candidate's root: follow parents until nothing changes
        up = root[root]
        if np.array_equal(up, root):
            break
        root = up
    # Groups in the order of their first candidate (as the candidates are sorted).
    first = np.full(M, M, dtype=np.int64)
    np.minimum.at(first, root, np.arange(M))
    return _persons(data, first[root], K, min_keypoints)


def decode_ae(data: Data, K: int, tag_threshold: float = 1.0, min_keypoints: int = 3,
              order: Optional[list[int]] = None) -> list[tuple[np.ndarray, float]]:
    """Associative-embedding grouping (Newell et al. 2017): keypoint types in a fixed order;
    each type's candidates are matched to the person groups by tag distance (Hungarian
    assignment, cost = rounded distance * 100 - score); a match farther than `tag_threshold`
    starts a new group; a group's tag is the mean of its members' tags."""
    tags = data.tag.numpy()
    scores = data.score.numpy()
    jtype = data.jtype.numpy()
    label = np.full(jtype.size, -1, dtype=np.int64)
    group_tags: list[list[np.ndarray]] = []  # per group, its members' tags
    for k in order or range(K):
        cand = np.nonzero(jtype == k)[0]
        if len(cand) == 0:
            continue
        if group_tags:
            means = np.stack([np.mean(t, axis=0) for t in group_tags])  # (G, D)
            dist = np.linalg.norm(tags[cand][:, None] - means[None], axis=-1)  # (Mk, G)
            cost = np.round(dist) * 100 - scores[cand][:, None]
            rows, cols = linear_sum_assignment(cost)
        else:
            dist, rows, cols = None, [], []
        for r, c in zip(rows, cols):
            if dist[r, c] < tag_threshold:
                label[cand[r]] = c
                group_tags[c].append(tags[cand[r]])
        for i in cand[label[cand] < 0]:  # unmatched: a new group each
            label[i] = len(group_tags)
            group_tags.append([tags[i]])
    return _persons(data, label, K, min_keypoints)


def decode_oracle(data: Data, K: int, min_keypoints: int = 1) -> list[tuple[np.ndarray, float]]:
    """Upper bound for these candidates: group by the ground-truth person each candidate
    matches, keeping the best-scoring candidate per keypoint type."""
    person, jtype, score = data.person.tolist(), data.jtype.tolist(), data.score.tolist()
    best: dict[tuple[int, int], int] = {}  # (person, type) -> candidate
    for i, p in enumerate(person):
        if p >= 0 and ((p, jtype[i]) not in best or score[i] > score[best[p, jtype[i]]]):
            best[p, jtype[i]] = i
    label = np.full(len(person), -1, dtype=np.int64)
    for (p, _), i in best.items():
        label[i] = p
    return _persons(data, label, K, min_keypoints)


def coco_results(image_id: int, persons) -> list[dict]:
    """Persons of one image -> COCO results entries (category 1, keypoints in image pixels)."""
    return [{"image_id": int(image_id), "category_id": 1,
             "keypoints": [round(float(v), 3) for v in kps.ravel()], "score": round(score, 5)}
            for kps, score in persons]


# ---------------------------------------------------------------------------------------------
# Train and eval steps

def train_epoch(model, loader, optimizer, pos_weight: float, device, progress=False, desc="train",
                dist_ctx: Optional[Dist] = None) -> dict:
    """One pass over the loader's batches. -> {loss (summed over ranks when distributed), seconds}."""
    d = dist_ctx or Dist()
    model.train()
    total, count, start = 0.0, 0, time.perf_counter()
    for batch in tqdm(loader, desc=desc, leave=False, disable=not progress):
        batch = batch.to(device)
        if batch.y.numel() == 0 or batch.num_nodes < 2:
            if not d.enabled:
                continue
            # Every rank must take part in each gradient all-reduce: a zero loss on all parameters.
            loss = sum(p.sum() * 0.0 for p in model.parameters())
        else:
            loss = grouping_loss(edge_logits(model, batch), batch.y, pos_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * batch.y.numel()
        count += batch.y.numel()
    total, count = all_sum([total, count], d)
    return {"loss": total / max(count, 1), "seconds": time.perf_counter() - start}


@torch.inference_mode()
def edge_probabilities(model, graphs: list[Data], device, dist_ctx: Optional[Dist] = None) -> list[np.ndarray]:
    """Per graph, the probability of each candidate pair (graphs one at a time). Distributed:
    each rank scores its block of the graphs and the blocks are gathered."""
    d = dist_ctx or Dist()
    if model.training:
        model.eval()
    out = []
    for k in eval_block(len(graphs), d):
        g = graphs[k]
        if g.pair_index.size(1) == 0:
            out.append(np.zeros(0))
            continue
        if g.x.device != torch.device(device):
            g = copy.copy(g).to(device)  # Data.to moves in place: leave the caller's graph where it is
        out.append(torch.sigmoid(edge_logits(model, g)).cpu().numpy())
    return [p for part in gather(out, d) for p in part] if d.enabled else out


def decode_all(graphs: list[Data], decoder: str, cfg: GroupingConfig, probs=None) -> list[dict]:
    K = DATASET_SKELETONS[cfg.dataset].num_joints
    results = []
    for i, g in enumerate(graphs):
        if decoder == "gnn":
            persons = decode_gnn(g, probs[i], K, cfg.decode_threshold, cfg.min_keypoints)
        elif decoder == "ae":
            persons = decode_ae(g, K, cfg.ae_tag_threshold, cfg.min_keypoints)
        else:
            persons = decode_oracle(g, K)
        results += coco_results(int(g.image_id), persons)
    return results


def subset_gt(gt, image_ids):
    """A COCO object holding only `image_ids` (for evaluating a split)."""
    keep = set(image_ids)
    d = {"images": [gt.imgs[i] for i in sorted(keep)],
         "annotations": [a for a in gt.dataset["annotations"] if a["image_id"] in keep],
         "categories": gt.dataset["categories"]}
    return quiet_coco(d)
