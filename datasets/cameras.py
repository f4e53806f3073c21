"""Human3.6M cameras: calibration constants, world -> camera, projection, screen normalisation.

Convention (see `data/h36m_cameras.json`): `X_cam = R @ (X_world - T)` with R world-to-camera and
T the camera centre in metres; pinhole projection with radial (k1, k2, k3) and tangential
(p1, p2) distortion, then `u = fx x_d + cx`, `v = fy y_d + cy`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

CAMERAS_FILE = Path(__file__).parent / "data" / "h36m_cameras.json"


@dataclass(frozen=True)
class Camera:
    id: str
    R: np.ndarray  # (3, 3) world -> camera rotation
    T: np.ndarray  # (3,) camera centre in world metres
    f: np.ndarray  # (2,) focal lengths in pixels
    c: np.ndarray  # (2,) principal point in pixels
    k: np.ndarray  # (3,) radial distortion
    p: np.ndarray  # (2,) tangential distortion
    width: int
    height: int


@lru_cache(maxsize=1)
def h36m_cameras() -> dict[str, list[Camera]]:
    """Subject -> its 4 cameras, in the order of the `positions_2d` camera lists."""
    raw = json.loads(CAMERAS_FILE.read_text())
    out = {}
    for subject, cams in raw["subjects"].items():
        out[subject] = [
            Camera(id=c["id"], R=np.asarray(c["R"], dtype=np.float64),
                   T=np.asarray(c["T"], dtype=np.float64), f=np.asarray(c["f"], dtype=np.float64),
                   c=np.asarray(c["c"], dtype=np.float64), k=np.asarray(c["k"], dtype=np.float64),
                   p=np.asarray(c["p"], dtype=np.float64), width=int(c["width"]),
                   height=int(c["height"]))
            for c in cams
        ]
    return out


def world_to_camera(X: np.ndarray, cam: Camera) -> np.ndarray:
    """(..., 3) world metres -> (..., 3) camera-frame metres."""
    return (X - cam.T) @ cam.R.T


def project_to_pixels(X_cam: np.ndarray, cam: Camera) -> np.ndarray:
    """(..., 3) camera-frame points -> (..., 2) distorted pixel coordinates."""
    xy = X_cam[..., :2] / X_cam[..., 2:3]  # (..., 2)
    r2 = np.sum(xy ** 2, axis=-1, keepdims=True)  # (..., 1)
    k1, k2, k3 = cam.k
    radial = 1 + k1 * r2 + k2 * r2 ** 2 + k3 * r2 ** 3
    tan = xy[..., :1] * cam.p[0] + xy[..., 1:] * cam.p[1]  # (..., 1)
    xy_d = xy * (radial + tan) + r2 * cam.p  # (..., 2)
    return xy_d * cam.f + cam.c


def normalize_screen(uv: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixels -> SemGCN's screen coordinates: `x / w * 2 - [1, h / w]` (x in [-1, 1])."""
    return uv / width * 2 - np.array([1.0, height / width])


def unnormalize_screen(xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Inverse of `normalize_screen`."""
    return (xy + np.array([1.0, height / width])) * width / 2
