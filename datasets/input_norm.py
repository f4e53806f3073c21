"""The 2D input normalisations of a lifter.

- `screen` (SemGCN, VideoPose3D): pixels -> `x / w * 2 - [1, h / w]`. Depends on the image size,
  and through the training data on the camera's focal length and the subject's distance: a
  lifter trained this way learns Human3.6M's four cameras.
- `pose`: each pose centred on its root joint (the pelvis, joint 0) and divided by its own size,
  the root-mean-square distance of its joints from the root. Invariant to the image size, the
  focal length, the distance (under weak perspective) and where the person stands in the frame.
  Applied to screen coordinates it gives the same as applied to pixels (the screen transform is a
  scale and a shift).
"""
from __future__ import annotations

import numpy as np

INPUT_NORMS = ("screen", "pose")
DESCRIPTIONS = {"screen": "x / w * 2 - [1, h / w] (SemGCN screen coordinates)",
                "pose": "(x - pelvis) / RMS distance of the joints from the pelvis (camera-independent)"}


def normalize_pose(x: np.ndarray) -> np.ndarray:
    """(..., J, 2) -> centred on joint 0, divided by the RMS joint distance from it."""
    centred = x - x[..., :1, :]
    scale = np.sqrt(np.mean(np.sum(centred ** 2, axis=-1), axis=-1))[..., None, None]
    return (centred / np.maximum(scale, 1e-8)).astype(x.dtype)


def apply_input_norm(x_screen: np.ndarray, mode: str) -> np.ndarray:
    """Screen-normalised (..., J, 2) -> the lifter's input for `mode`."""
    return x_screen if mode == "screen" else normalize_pose(x_screen)
