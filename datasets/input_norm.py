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


def normalize_pose(x):
    """(..., J, 2) -> centred on joint 0, divided by the RMS joint distance from it. A numpy array
    or a torch tensor (training-time views, `datasets.camera_augment`), in its own dtype."""
    centred = x - x[..., :1, :]
    scale = ((centred ** 2).sum(-1).mean(-1) ** 0.5)[..., None, None]
    return centred / scale.clip(min=1e-8)


def apply_input_norm(x_screen: np.ndarray, mode: str) -> np.ndarray:
    """Screen-normalised (..., J, 2) -> the lifter's input for `mode`."""
    return x_screen if mode == "screen" else normalize_pose(x_screen)


def virtual_camera(pixels: np.ndarray, focal: float, centre) -> tuple[np.ndarray, np.ndarray]:
    """A person off the optical axis seen by a camera turned to look at it: (J, 2) pixels of a
    camera with `focal` length and principal point `centre` -> the pixels the turned camera
    (same focal length and centre) would see, and the rotation R (3, 3) from the real camera's
    frame to the turned one's (a 3D pose predicted in the turned frame is `pose @ R`, i.e.
    R^T p, in the real frame). The turn brings the ray through the root joint onto the optical
    axis: the 2D input then looks as if the person stood in the middle of the picture, the case
    a lifter trained on Human3.6M has seen."""
    c = np.asarray(centre, dtype=np.float64)
    rays = np.c_[(pixels - c) / focal, np.ones(len(pixels))]  # (J, 3)
    r = rays[0] / np.linalg.norm(rays[0])
    z = np.array([0.0, 0.0, 1.0])
    axis, cos = np.cross(r, z), float(np.dot(r, z))
    sin = float(np.linalg.norm(axis))
    if sin < 1e-12:
        R = np.eye(3)
    else:
        k = axis / sin
        K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
        R = np.eye(3) + sin * K + (1 - cos) * K @ K  # Rodrigues: R r = z
    turned = rays @ R.T
    return turned[:, :2] / turned[:, 2:] * focal + c, R
