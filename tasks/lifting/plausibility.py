"""Implausible 2D input, flagged per person before lifting (`predict.py lifting`, `pipeline`).

Two mistakes give confident nonsense from any lifter, and both show in the 2D skeleton itself:

- **a skeleton a few pixels across**: keypoints normalised to [0, 1] (or otherwise scaled down)
  while the command was promised pixels (`--image-size`, `--images`). No real person with 13 of
  COCO's 17 keypoints labelled is that small; the smallest in the COCO ground truth we have is
  far larger (bench/experiments/lifting_plausibility.py).
- **bone lengths no human body has**: a wrong `--format` or joint order. Each bone's share of the
  skeleton's summed 2D bone length is compared with the largest share that bone takes in real
  skeletons: Human3.6M's ground-truth 2D, its 3D poses seen from every direction (so a person
  seen from behind, from above, foreshortened or lying down stays within), and COCO's ground
  truth converted as `predict.py` converts it. Foreshortening only shortens a bone, so only the
  upper end is a test. `BONE_SHARE_MAX` holds those maxima times `MARGIN`. And the pelvis, right
  leg and left hip must span a part of the skeleton's extent that real people's do from any
  direction (`LEG_SPREAD_MIN`): in COCO's order these five are the face keypoints.

On COCO's ground truth read in COCO order as `--format h36m17` (37 persons), 86% are flagged; no
real skeleton (Human3.6M's 366,324 ground-truth 2D poses, 50,000 random views of its 3D poses,
COCO's) is.
"""
from __future__ import annotations

import numpy as np

from datasets.skeleton import Skeleton

MIN_EXTENT_PX = 4.0  # a 2D skeleton whose larger side is below this (pixels) is not a real person's
MARGIN = 1.2  # the bone-share bounds: the real skeletons' maxima times this

# The largest share of the summed 2D bone length each bone takes in real skeletons (in the order
# of the skeleton's `edges`), times MARGIN: bench/experiments/lifting_plausibility.py prints the maxima.
BONE_SHARE_MAX = {
    17: (0.124, 0.258, 0.287, 0.124, 0.231, 0.279, 0.148, 0.158, 0.117, 0.091, 0.128, 0.22, 0.179, 0.122, 0.204, 0.186),
    16: (0.139, 0.24, 0.273, 0.139, 0.245, 0.293, 0.148, 0.17, 0.134, 0.148, 0.196, 0.197, 0.144, 0.223, 0.188),
}

# The pelvis, right leg and left hip (joints 0-4 of both Human3.6M orders) span at least this share of
# the skeleton's extent in real people (the smallest in 50,000 random views of Human3.6M's poses: 0.157;
# COCO: 0.297); in COCO order read as Human3.6M's they are the five face keypoints (median 0.14).
LEG_SPREAD_MIN = 0.15
LEG_JOINTS = (0, 1, 2, 3, 4)

FLAG_FRACTION = 0.5  # more of a file's persons flagged than this: the whole file is an error (unless --force)


def bone_shares(joints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """(P, J, 2) -> (P, B): each bone's 2D length over the skeleton's summed 2D bone length."""
    edges = np.asarray(skeleton.edges)
    lengths = np.linalg.norm(joints[:, edges[:, 0]] - joints[:, edges[:, 1]], axis=-1)  # (P, B)
    return lengths / np.clip(lengths.sum(1, keepdims=True), 1e-12, None)


def leg_spread(joints: np.ndarray) -> np.ndarray:
    """(P, J, 2) -> (P,): the largest distance among joints 0-4 over the skeleton's extent (the
    largest distance between any two joints)."""
    def widest(x):
        return np.linalg.norm(x[:, :, None] - x[:, None, :], axis=-1).max((1, 2))
    return widest(joints[:, list(LEG_JOINTS)]) / np.clip(widest(joints), 1e-12, None)


def person_warnings(joints: np.ndarray, skeleton: Skeleton) -> list[list[str]]:
    """(P, J, 2) pixels in the lifter's Human3.6M order -> per person, its warnings (empty when
    plausible)."""
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or not len(joints):
        return []
    extent = (joints.max(1) - joints.min(1)).max(1)  # (P,)
    shares = bone_shares(joints, skeleton)
    spread = leg_spread(joints)
    bounds = np.asarray(BONE_SHARE_MAX[skeleton.num_joints])
    out = []
    for p in range(len(joints)):
        w = []
        if extent[p] < MIN_EXTENT_PX:
            w.append(f"2D skeleton {extent[p]:.2g} px tall -- are the keypoints normalised? see --image-size")
        else:
            over = np.flatnonzero(shares[p] > bounds)
            if len(over):
                b = int(over[np.argmax(shares[p, over] / bounds[over])])
                i, j = skeleton.edges[b]
                w.append(f"bone {skeleton.joint_names[i]}-{skeleton.joint_names[j]} is {shares[p, b]:.0%} of the "
                         f"skeleton (at most {bounds[b]:.0%} in real people) -- is the joint order right? see --format")
            elif spread[p] < LEG_SPREAD_MIN:
                w.append(f"pelvis, right leg and left hip span {spread[p]:.0%} of the skeleton (at least "
                         f"{LEG_SPREAD_MIN:.0%} in real people) -- is the joint order right? see --format")
        out.append(w)
    return out


def summary(warnings: list[list[str]]) -> str:
    """One console line: how many persons were flagged and the most common reason ('' if none)."""
    flagged = [w[0] for w in warnings if w]
    if not flagged:
        return ""
    kinds = {}
    for text in flagged:
        kinds.setdefault(text.split(" -- ")[1] if " -- " in text else text, []).append(text)
    hint, texts = max(kinds.items(), key=lambda kv: len(kv[1]))
    return f"{len(flagged)} of {len(warnings)} persons: {texts[0]}"


def file_implausible(warnings: list[list[str]]) -> bool:
    """Whether so many of a file's persons are flagged that the file itself is wrong."""
    return bool(warnings) and sum(bool(w) for w in warnings) > FLAG_FRACTION * len(warnings)
