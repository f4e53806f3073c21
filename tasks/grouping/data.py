"""Grouping data: annotations read, each image's maps read or synthesised, its candidate graph
built and labelled, the images split into training and validation; the built-in scenes."""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch_geometric.data import Data
from core.progress import progress as progress_bar

from core.atomic_io import write_json
from core.errors import InputError
from datasets.ae_maps import AEMaps, read_ae_maps
from datasets.synthetic.ae_maps import randomized, synthesize_maps, with_artifacts
from datasets.graph.candidate_graph import build_graph
from datasets.synthetic.ae_maps_fourth import synthesize_maps_fourth
from datasets.synthetic.ae_maps_second import synthesize_maps_second
from datasets.coco import DATASET_SKELETONS, load_coco_gt, persons_by_image
from core.file_digest import file_digest
from datasets.graph.cache import cached_graphs, folder_fingerprint
from datasets.graph.features import finalize_features
from datasets.graph.labels import label_graph
from datasets.synthetic.scenes import synthetic_scenes
from tasks.grouping.config import GroupingConfig, GroupingModelConfig


@dataclass
class GroupingData:
    gt: object  # pycocotools COCO
    graphs: list[Data]  # one per image, raw (see finalize_features)
    train_ids: list[int]
    val_ids: list[int]
    backgrounds: dict = field(default_factory=dict)  # image id -> its maps' heatmap maximum and extent

    def split_ids(self, split: str) -> list[int]:
        """The image ids of `split` (all | train | val), ascending."""
        return sorted({"all": self.train_ids + self.val_ids, "val": self.val_ids, "train": self.train_ids}[split])


def write_builtin_annotations(cfg: GroupingConfig, folder: Path, name: str = "annotations.json",
                              num_scenes: Optional[int] = None) -> Path:
    path = folder / name
    write_json(path, synthetic_scenes(num_scenes or cfg.num_scenes, seed=cfg.seed))
    return path


def builtin_training_graphs(cfg: GroupingConfig, folder: Path, synth_seed: int, progress: bool = False) -> list[Data]:
    """`cfg.builtin_scenes` built-in scenes (written to `folder`/builtin_scenes.json) with
    synthesised maps, `cfg.synth_copies` draws each: training images mixed into a user's own."""
    path = write_builtin_annotations(cfg, folder, "builtin_scenes.json", cfg.builtin_scenes)
    own = dataclasses.replace(cfg, annotations=None, maps=None, builtin_scenes=0, val_fraction=0.0)
    data = prepare_grouping_data(own, path, synth_seed + 7919, progress)  # other noise than the user's images
    return data.graphs + synthesized_copies(own, data, path, synth_seed + 7919, progress)


def prepare_grouping_data(cfg: GroupingConfig, annotations_path, synth_seed: int,
                          progress: bool = False, backgrounds: int = 0, split: str = "all") -> GroupingData:
    """Read the annotations, split the images into train / validation (seeded), get each image's
    maps (read or synthesised with `synth_seed`) and build its labelled graph. `backgrounds`:
    keep the heatmap backgrounds of the first N images of `split` (for drawings)."""
    gt = load_coco_gt(annotations_path, cfg.dataset)
    ids = sorted(gt.imgs)
    order = np.random.default_rng(cfg.seed).permutation(len(ids))
    n_val = int(round(cfg.val_fraction * len(ids)))
    data = GroupingData(gt, [], sorted(ids[i] for i in order[n_val:]), sorted(ids[i] for i in order[:n_val]))
    if not data.train_ids and split in ("all", "train"):
        raise InputError(f"{{val_fraction}} {cfg.val_fraction}: leaves none of the {len(ids)} image(s) of "
                         f"{Path(annotations_path).name} for training")
    keep = set(data.split_ids(split)[:backgrounds])
    data.graphs = _image_graphs(cfg, gt, annotations_path, ids, synth_seed, progress, "graphs", keep,
                                data.backgrounds)
    return data


def synthesized_copies(cfg: GroupingConfig, data: GroupingData, annotations_path, synth_seed: int,
                       progress: bool = False, split: str = "train") -> list[Data]:
    """Graphs of the training images with maps synthesised `cfg.synth_copies - 1` more times,
    each with new noise (seeded by (`synth_seed`, copy)): data augmentation for training. `split`
    "val": the validation images `cfg.val_copies - 1` more times (other seeds), drawn as the
    training copies are, so that the epoch chosen is not chosen on one draw of a few images."""
    graphs = []
    count, ids, tail = (cfg.synth_copies, data.train_ids, []) if split == "train" else (cfg.val_copies, data.val_ids, [1])
    for c in range(1, count if ids else 1):
        generator = cfg.synth_generators[c % len(cfg.synth_generators)]
        graphs += _image_graphs(cfg, data.gt, annotations_path, ids, [synth_seed, c, *tail], progress,
                                f"{split} copy {c}", generator=generator)
    return graphs


def data_fingerprint(cfg: GroupingConfig, annotations_path) -> str:
    """A digest of what a grouping run trains on: the annotation file's bytes and the map files'
    names and bytes (their folder may move), or the synthesiser's settings; checked on resume."""
    import hashlib
    import json
    parts = {"annotations": file_digest(annotations_path), "dataset": cfg.dataset,
             "maps": folder_fingerprint(cfg.maps) if cfg.maps is not None else None}
    return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _image_graphs(cfg: GroupingConfig, gt, annotations_path, image_ids, seed, progress: bool,
                  desc: str, keep=frozenset(), backgrounds: Optional[dict] = None,
                  generator: str = "project") -> list[Data]:
    """The labelled graphs of `image_ids`, from the map files or synthesised (rng seeded by
    `seed`); from the graph cache when built before (not when backgrounds are kept)."""
    def build():
        return _build_image_graphs(cfg, gt, annotations_path, image_ids, np.random.default_rng(seed), progress,
                                   desc, keep, backgrounds, generator)
    if keep or cfg.graph_cache is None:  # no cache: no digests of the inputs either
        return build()
    parts = {"annotations": file_digest(annotations_path), "ids": image_ids, "graph": dataclasses.asdict(cfg.graph),
             "dataset": cfg.dataset}
    if cfg.maps is not None:
        parts["maps"] = [str(Path(cfg.maps).resolve()), folder_fingerprint(cfg.maps)]
    else:
        parts.update(synth=dataclasses.asdict(cfg.synth), randomize=cfg.synth_randomize, seed=seed)
        if cfg.synth_artifacts:  # (absent from the keys of caches made before they existed)
            parts["artifacts"] = True
        if cfg.synth_artifacts and cfg.synth_extras:
            parts["extras"] = list(cfg.synth_extras)
        if generator != "project":
            parts["generator"] = generator
    return cached_graphs(cfg.graph_cache, parts, build)


def _build_image_graphs(cfg: GroupingConfig, gt, annotations_path, image_ids, rng, progress: bool,
                        desc: str, keep=frozenset(), backgrounds: Optional[dict] = None,
                        generator: str = "project") -> list[Data]:
    skeleton = DATASET_SKELETONS[cfg.dataset]
    K = skeleton.num_joints
    people = persons_by_image(gt, K)
    graphs, tag_dim = [], None
    for image_id in progress_bar(image_ids, desc=desc, enabled=progress, leave=False):
        img = gt.imgs[image_id]
        kps, areas, anns = people[image_id]
        if cfg.maps is not None:
            maps = read_ae_maps(cfg.maps, image_id, K)
            D = maps.tags.shape[-1]
            tag_dim = D if tag_dim is None else tag_dim
            if D != tag_dim:  # the folder is one model's maps: one tag dimension
                raise InputError(f"{Path(cfg.maps) / f'{image_id}.npz'}: tags have {D} dimension(s), the "
                                 f"folder's first file {image_ids[0]}.npz has {tag_dim}")
        else:
            if "width" not in img or "height" not in img:
                raise InputError(f"{Path(annotations_path).name}: image {image_id} has no width/height "
                                 f"(needed to synthesise maps)")
            synth = randomized(cfg.synth, rng) if cfg.synth_randomize else cfg.synth
            if cfg.synth_artifacts:
                synth = with_artifacts(synth, rng, cfg.synth_extras)
            if generator == "second":
                maps = synthesize_maps_second(img["width"], img["height"], anns, skeleton, rng)
            elif generator == "fourth":
                maps = synthesize_maps_fourth(img["width"], img["height"], anns, skeleton, rng)
            else:
                maps = synthesize_maps(img["width"], img["height"], anns, K, synth, rng, skeleton.flip_permutation)
        graphs.append(label_graph(build_graph(maps, skeleton, cfg.graph, image_id), kps, areas, cfg.graph))
        if image_id in keep:
            backgrounds[image_id] = heatmap_background(maps)
    return graphs


class FeatureGraphs(torch.utils.data.Dataset):
    """Raw graphs whose features are computed when a batch takes them (in the DataLoader's
    worker processes when it has any), so that only the small raw graphs stay in memory."""

    def __init__(self, graphs: list[Data], cfg: GroupingConfig, stats: Optional[dict]):
        self.graphs, self.stats = graphs, stats
        self.K, self.settings = DATASET_SKELETONS[cfg.dataset].num_joints, feature_settings(cfg)

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, i: int) -> Data:
        return finalize_features(copy.copy(self.graphs[i]), self.K, stats=self.stats, **self.settings)


def finalize_all(graphs: list[Data], cfg: GroupingConfig, stats: Optional[dict]) -> list[Data]:
    K = DATASET_SKELETONS[cfg.dataset].num_joints
    return [finalize_features(g, K, stats=stats, **feature_settings(cfg))
            for g in graphs]


def feature_settings(cfg: GroupingConfig) -> dict:
    """How `finalize_features` computes the features of `cfg`'s classifier."""
    return {"mode": cfg.graph.feature_norm, "score_norm": cfg.graph.score_norm, **attributes_read(cfg.model)}


def attributes_read(model: GroupingModelConfig) -> dict:
    """Which edge attributes the model reads: `finalize_features` computes only those."""
    return {"edge_attr": model.name == "edgeconv-attr", "pair_attr": model.pair_attr}


def heatmap_background(maps: AEMaps) -> tuple[np.ndarray, list[float]]:
    """The maximum over the heatmaps (H, W) and its extent in image pixels (left, right, bottom,
    top), for drawing persons over the maps."""
    hm = maps.heatmaps.max(axis=0)
    H, W = hm.shape
    (x0, y0), (x1, y1) = maps.to_image(np.array([[-0.5, -0.5], [W - 0.5, H - 0.5]]))
    return hm, [float(x0), float(x1), float(y1), float(y0)]
