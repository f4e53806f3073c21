"""Lifting data: the standard Human3.6M files (or the built-in synthetic set) -> the splits a
run trains and validates on, in the lifter's input normalisation; the poses on the device."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional, Sequence

from torch import Tensor

from core.errors import InputError
from datasets.h36m import FILE_3D, PoseSet, load_h36m, resolve_2d_file
from datasets.input_norm import apply_input_norm
from datasets.synthetic.h36m import synthetic_h36m_dir
from tasks.lifting.config import LiftingConfig


def data_folder(data: Optional[str], keypoints: str):
    """The folder of the standard .npz files: `data`, or the built-in synthetic set."""
    if data is not None:
        return data
    if keypoints != "gt":
        raise InputError(f"{{keypoints}} {keypoints}: the built-in synthetic data has only gt "
                         f"keypoints; set {{data}} to the folder of your Human3.6M files")
    return synthetic_h36m_dir()


def data_fingerprint(cfg: LiftingConfig) -> str:
    """A digest of what a run trains on: the content of its data files (so a moved folder with the
    same files is the same data), the keypoint set, joints, subjects, actions and downsampling."""
    import hashlib
    from core.file_digest import file_digest
    folder = Path(data_folder(cfg.data, cfg.keypoints))
    files = [folder / FILE_3D, resolve_2d_file(folder, cfg.keypoints)]
    text = "|".join([*(file_digest(f) for f in files), cfg.keypoints, str(cfg.joints), ",".join(cfg.train_subjects),
                     ",".join(cfg.val_subjects), ",".join(cfg.actions or ()), str(cfg.downsample)])
    return hashlib.sha1(text.encode()).hexdigest()


def load_lifting_split(cfg: LiftingConfig, train: bool, subjects: Optional[Sequence[str]] = None,
                       field: Optional[str] = None) -> PoseSet:
    """One split, its 2D in the lifter's input normalisation (`cfg.input_norm`): the training
    subjects, or the validation subjects (`subjects` instead, asked for by the config field or
    flag `field`)."""
    if subjects is None:
        subjects, field = (cfg.train_subjects, "train_subjects") if train else (cfg.val_subjects, "val_subjects")
    poses = load_h36m(data_folder(cfg.data, cfg.keypoints), cfg.keypoints, cfg.joints,
                      subjects, cfg.actions, cfg.downsample, subjects_field="{" + field + "}")
    return dataclasses.replace(poses, x2d=apply_input_norm(poses.x2d, cfg.input_norm))


def dense_data(batcher, device) -> tuple[Tensor, Optional[Tensor], Tensor]:
    """A batcher's poses on `device` as (P, J, 2), (P, J, 3) tensors (moved once and kept) and
    its skeleton template's directed bones (2, E)."""
    key = str(device)
    cache = batcher.__dict__.setdefault("_dense", {})
    if key not in cache:
        y = batcher.y3d.to(device) if batcher.y3d is not None else None
        cache[key] = (batcher.x2d.to(device), y, batcher.skeleton.edge_index().to(device))
    return cache[key]
