"""Benchmark: how lifters survive cameras unlike Human3.6M's.

The test subjects' 3D poses of the built-in data (S9, S11; never trained on) are seen (1) by
Human3.6M's four cameras, as `evaluate.py lifting` scores them, and (2) by random pinhole
cameras: focal length 500-2000 px, image 640-1920 px wide (16:9 or 4:3), the person's largest extent
15-80 % of the image height (near and far, 1.5-25 m), anywhere in the frame; looking along the
viewing directions of Human3.6M's cameras (`h36m` views) or along any yaw, tilted up to 15
degrees (`any` views). MPJPE (mm, mean over poses) of each checkpoint on all three, in one run;
for `--input-norm pose` lifters also with the focal length known, each camera turned to look at
the person (`datasets.input_norm.virtual_camera`, `predict.py lifting --focal`).
Usage: python bench/experiments/lifting_cameras.py CKPT [CKPT ...] [--cameras-per-pose 1] [--seed 0] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core.checkpoint import checkpoint_config, rebuild_model  # noqa: E402
from core.cli import HelpFormatter  # noqa: E402
from datasets.cameras import h36m_cameras, normalize_screen  # noqa: E402
from datasets.h36m import TEST_SUBJECTS, read_npz_dict  # noqa: E402
from datasets.input_norm import apply_input_norm, normalize_pose, virtual_camera  # noqa: E402
from datasets.pose_graph import SkeletonBatcher  # noqa: E402
from datasets.skeleton import SKELETONS  # noqa: E402
from tasks import lifting  # noqa: E402
from tasks.lifting.original import load_lifting_checkpoint  # noqa: E402


def _rotation(yaw: float, pitch: float) -> np.ndarray:
    """World (z up) -> camera (x right, y down, z forward): looking horizontally along yaw, then
    tilted by pitch about the camera's x axis."""
    fwd = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    down = np.array([0.0, 0.0, -1.0])
    right = np.cross(down, fwd)
    R = np.stack([right, down, fwd])
    c, s = np.cos(pitch), np.sin(pitch)
    tilt = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    return tilt @ R


def other_cameras(world: np.ndarray, rng, copies: int = 1, views: str = "h36m"):
    """(P, J, 3) world poses (metres, z up) -> 2D pixels (P', J, 2), image sizes (P', 2), root-relative
    camera-frame targets (P', J, 3), distances (P',), focal lengths (P',). `views`: h36m (the viewing directions of
    Human3.6M's four cameras, so only the intrinsics, the distance and the place in the frame
    differ) or any (any yaw, tilt up to 15 degrees: also viewpoints never seen in training)."""
    h36m_rotations = [c.R for c in h36m_cameras()["S1"]]
    xs, sizes, ys, dists, focals = [], [], [], [], []
    for _ in range(copies):
        for pose in world:
            f = rng.uniform(500, 2000)
            W = float(rng.choice([640, 1280, 1920]))
            H = W * float(rng.choice([9 / 16, 3 / 4]))
            R = h36m_rotations[rng.integers(4)] if views == "h36m" else \
                _rotation(rng.uniform(0, 2 * np.pi), np.deg2rad(rng.uniform(-15, 15)))
            local = (pose - pose[:1]) @ R.T  # root-relative, camera axes
            size = float(np.ptp(local, axis=0).max())  # metres: the pose's largest extent
            Z = float(np.clip(f * size / (rng.uniform(0.15, 0.8) * H), 1.5, 25.0))
            u, v = rng.uniform(0.2 * W, 0.8 * W), rng.uniform(0.3 * H, 0.7 * H)
            root = np.array([(u - W / 2) * Z / f, (v - H / 2) * Z / f, Z])
            cam = local + root
            if np.any(cam[:, 2] <= 0.1):
                continue
            xs.append(f * cam[:, :2] / cam[:, 2:] + np.array([W / 2, H / 2]))
            sizes.append((W, H))
            ys.append(local)
            dists.append(Z)
            focals.append(f)
    return np.array(xs), np.array(sizes), np.array(ys), np.array(dists), np.array(focals)


def _predict(model, skeleton, x) -> np.ndarray:
    return lifting.predict_all(model, SkeletonBatcher(skeleton, torch.from_numpy(x.astype(np.float32))), 2048).numpy()


def _mpjpe(model, skeleton, x, y, rotations=None) -> float:
    """MPJPE (mm); `rotations` (P, 3, 3): predictions made in turned cameras, turned back first."""
    pred = _predict(model, skeleton, x)
    if rotations is not None:
        pred = np.einsum("pjk,pkl->pjl", pred, rotations)
    return float(np.linalg.norm(pred - y, axis=-1).mean()) * 1000


@torch.inference_mode()
def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=HelpFormatter)
    ap.add_argument("checkpoints", nargs="+", help="lifting checkpoints (best.pt)")
    ap.add_argument("--cameras-per-pose", type=int, default=1, help="random cameras per test pose")
    ap.add_argument("--seed", type=int, default=0, help="seeds the cameras")
    ap.add_argument("--json", default=None, help="also write the results here")
    a = ap.parse_args()
    rows = []
    for path in a.checkpoints:
        ckpt = load_lifting_checkpoint(path)
        cfg = checkpoint_config(ckpt, path, lifting.LiftingConfig.from_dict)
        skeleton = SKELETONS[ckpt["skeleton"]]
        model = rebuild_model(ckpt, path, lifting.model_from_spec).eval()
        h36m = lifting.load_lifting_split(cfg, train=False)  # Human3.6M's cameras, the lifter's normalisation
        folder = Path(lifting.data_folder(cfg.data, cfg.keypoints))
        pos3d, _ = read_npz_dict(folder / "data_3d_h36m.npz", "positions_3d")
        world = np.concatenate([seq[:, list(skeleton.joints_from_32)] for s in TEST_SUBJECTS
                                for seq in pos3d[s].values()]).astype(np.float64)
        on_h36m = _mpjpe(model, skeleton, h36m.x2d, h36m.y3d)
        row = {"checkpoint": str(path), "input_norm": cfg.input_norm, "model": cfg.model.name,
               "h36m_cameras_mpjpe": on_h36m, "poses_h36m": len(h36m)}
        line = f"{path}: input-norm {cfg.input_norm:6s}  Human3.6M's cameras {on_h36m:6.1f} mm"
        for views in ("h36m", "any"):
            px, size, y, dist, focal = other_cameras(world, np.random.default_rng(a.seed), a.cameras_per_pose, views)
            x = np.stack([normalize_screen(p, w, h) for p, (w, h) in zip(px, size)])
            on_other = _mpjpe(model, skeleton, apply_input_norm(x, cfg.input_norm), y)
            row[f"other_cameras_{views}_views_mpjpe"] = on_other
            row[f"ratio_{views}_views"] = on_other / on_h36m
            line += f" | other cameras, {views} views {on_other:6.1f} mm ({on_other / on_h36m:.2f}x)"
            if cfg.input_norm == "pose":  # with the focal length known: the camera turned to the person
                turned = [virtual_camera(p, f, (w / 2, h / 2)) for p, f, (w, h) in zip(px, focal, size)]
                xt = normalize_pose(np.stack([t[0] for t in turned]))
                on_turned = _mpjpe(model, skeleton, xt, y, np.stack([t[1] for t in turned]))
                row[f"other_cameras_{views}_views_turned_mpjpe"] = on_turned
                row[f"ratio_{views}_views_turned"] = on_turned / on_h36m
                line += f", turned {on_turned:6.1f} mm ({on_turned / on_h36m:.2f}x)"
        row.update(poses_other=len(y), distance_m=[float(dist.min()), float(np.median(dist)), float(dist.max())])
        rows.append(row)
        print(line + f"; {len(y)} poses each, {dist.min():.1f}-{dist.max():.1f} m away", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
