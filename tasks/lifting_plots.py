"""Pictures of lifting: the 2D input in its image frame beside the 3D pose seen from the camera
(metres, equal axis scales, a ground grid under the feet), left side blue, right side red; with
ground truth, both overlaid in one view and each joint's error."""
from __future__ import annotations

from typing import Optional

import numpy as np
from matplotlib.lines import Line2D

from tasks.plots import plt, save_figure

LEFT, RIGHT, CENTRE = "tab:blue", "tab:red", "black"


def _side_colour(skeleton, joint: int) -> str:
    return LEFT if joint in skeleton.left else RIGHT if joint in skeleton.right else CENTRE


def _bones_2d(ax, pts, skeleton):
    for a, b in skeleton.edges:
        ax.plot(pts[[a, b], 0], pts[[a, b], 1], color=_side_colour(skeleton, b), lw=2)
    ax.scatter(pts[:, 0], pts[:, 1], s=12, c=[_side_colour(skeleton, j) for j in range(len(pts))], zorder=3)


def _to_view(p: np.ndarray) -> np.ndarray:
    """Camera frame (x right, y down, z forward) -> plot axes (x right, depth, up)."""
    return np.stack([p[..., 0], p[..., 2], -p[..., 1]], axis=-1)


def _bones_3d(ax, pts, skeleton, truth: bool = False):
    v = _to_view(pts)
    for a, b in skeleton.edges:
        if truth:
            ax.plot(*v[[a, b]].T, color="0.45", lw=1.5, ls="--")
        else:
            ax.plot(*v[[a, b]].T, color=_side_colour(skeleton, b), lw=2.5)


def _equal_box(ax, poses: list[np.ndarray]):
    """Equal scales on the three axes, a ground grid at the lowest joint."""
    v = _to_view(np.concatenate(poses))
    centre = (v.max(0) + v.min(0)) / 2
    half = max(float((v.max(0) - v.min(0)).max()) / 2, 0.3) * 1.1
    ax.set_xlim(centre[0] - half, centre[0] + half)
    ax.set_ylim(centre[1] - half, centre[1] + half)
    ax.set_zlim(centre[2] - half, centre[2] + half)
    ax.set_box_aspect((1, 1, 1))
    floor = v[:, 2].min()
    grid = np.linspace(-half, half, 7)
    for g in grid:
        ax.plot([centre[0] + g] * 2, [centre[1] - half, centre[1] + half], [floor] * 2, color="0.85", lw=0.8)
        ax.plot([centre[0] - half, centre[0] + half], [centre[1] + g] * 2, [floor] * 2, color="0.85", lw=0.8)
    ax.set_xlabel("x (m)"), ax.set_ylabel("depth (m)"), ax.set_zlabel("up (m)")
    ax.view_init(elev=15, azim=-75)  # from behind the camera, a little above and to the side


def _legend(ax, truth: bool):
    handles = [Line2D([], [], color=LEFT, lw=2, label="left"), Line2D([], [], color=RIGHT, lw=2, label="right")]
    if truth:
        handles.append(Line2D([], [], color="0.45", lw=1.5, ls="--", label="ground truth"))
    ax.legend(handles=handles, loc="upper right", fontsize=8)


def plot_lifted_pose(path, joints_2d: np.ndarray, frame: tuple[float, float], pose_3d: np.ndarray, skeleton,
                     title: str = "", truth: Optional[np.ndarray] = None, frame_origin=(0.0, 0.0), units: str = "px"):
    """The 2D input inside its image frame (width, height from `frame_origin`; y down) beside the
    3D pose (metres); with `truth`, the ground truth overlaid dashed and the per-joint error (mm)."""
    fig = plt.figure(figsize=(11, 4.8))
    ax = fig.add_subplot(1, 2, 1)
    (x0, y0), (w, h) = frame_origin, frame
    ax.add_patch(plt.Rectangle((x0, y0), w, h, fill=False, color="0.6", lw=1))
    _bones_2d(ax, np.asarray(joints_2d), skeleton)
    ax.set_xlim(x0 - 0.02 * w, x0 + 1.02 * w), ax.set_ylim(y0 + 1.02 * h, y0 - 0.02 * h)
    ax.set_aspect("equal"), ax.set_title(f"2D input ({units}, image frame)"), ax.grid(alpha=0.2)
    ax3 = fig.add_subplot(1, 2, 2, projection="3d")
    poses = [pose_3d] + ([truth] if truth is not None else [])
    _equal_box(ax3, poses)
    if truth is not None:
        _bones_3d(ax3, truth, skeleton, truth=True)
        err = np.linalg.norm(pose_3d - truth, axis=-1) * 1000
        v = _to_view(pose_3d)
        sc = ax3.scatter(*v.T, c=err, cmap="viridis", s=25, vmin=0, depthshade=False)
        fig.colorbar(sc, ax=ax3, shrink=0.6, pad=0.1, label="joint error (mm)")
        ax3.set_title(f"3D, seen from the camera: MPJPE {err.mean():.0f} mm")
    else:
        ax3.set_title("3D (root-relative, m), seen from the camera")
    _bones_3d(ax3, pose_3d, skeleton)
    _legend(ax3, truth is not None)
    fig.suptitle(title)
    save_figure(fig, path)
