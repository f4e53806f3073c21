"""Random cameras for training a `pose`-normalised lifter (`--augment cameras`).

Each root-relative 3D pose (metres, camera frame) is placed in front of a pinhole camera at a
random distance and off the optical axis, and projected. Translating a person does not turn the
camera's axes, so the 3D target stays the pose as it is; only the 2D input changes: its
perspective (near or far) and the skew of a person seen off-centre. The focal length and the
image size cancel in the `pose` normalisation (a scale and a shift), so they are not drawn.
Human3.6M's cameras see their subjects 4-7 m away near the middle of the picture; a lifter
trained on them alone meets wide angles and near or off-centre people only at test time.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from datasets.input_norm import normalize_pose

DISTANCE_M = (1.5, 30.0)  # log-uniform
OFF_AXIS_DEG = 40.0  # the root's ray at most this far from the optical axis (uniform in the cone's solid angle)


def random_views(x: Tensor, y3d: Tensor, generator: torch.Generator, fraction: float = 0.5) -> Tensor:
    """`pose`-normalised inputs x (P, J, 2) of the root-relative poses y3d (P, J, 3), a random
    `fraction` of them replaced by the view of a random camera. Draws from `generator` (CPU) in a
    fixed order, so runs and resumes repeat."""
    P = y3d.size(0)
    chosen = torch.rand(P, generator=generator) < fraction
    lo, hi = math.log(DISTANCE_M[0]), math.log(DISTANCE_M[1])
    distance = torch.exp(lo + (hi - lo) * torch.rand(P, generator=generator))
    cos_max = math.cos(math.radians(OFF_AXIS_DEG))
    cos_t = 1 - (1 - cos_max) * torch.rand(P, generator=generator)
    sin_t = (1 - cos_t ** 2).sqrt()
    phi = 2 * math.pi * torch.rand(P, generator=generator)
    ray = torch.stack([sin_t * torch.cos(phi), sin_t * torch.sin(phi), cos_t], dim=-1)  # (P, 3) unit
    root = (distance[:, None] * ray).to(y3d)  # (P, 3)
    points = y3d + root[:, None, :]  # (P, J, 3)
    views = normalize_pose(points[..., :2] / points[..., 2:].clamp_min(1e-3))  # (P, J, 2)
    return torch.where(chosen.to(x.device)[:, None, None], views.to(x.dtype), x)


def random_rotations(n: int, rng):
    """`n` rotation matrices (n, 3, 3) uniform over all 3D orientations (unit quaternions), drawn from
    the numpy Generator `rng`: poses seen from every direction (from behind, above, lying down)."""
    import numpy as np
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack([np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
                     np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
                     np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1)], 1)
