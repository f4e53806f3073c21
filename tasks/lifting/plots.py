"""Pictures of lifting: the 2D input in its image frame beside the 3D pose seen from the camera
(metres, equal axis scales, a ground grid under the feet), left side blue, right side red; with
ground truth, both overlaid in one view and each joint's error."""
from __future__ import annotations

from typing import Optional

import numpy as np
from matplotlib.lines import Line2D

from tasks.grouping.results import is_fragment
from tasks.plots import draw_fragment, fragment_legend, person_colour, plt, save_figure

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
        if truth:  # drawn over the prediction, dark and dashed, so it stays visible
            ax.plot(*v[[a, b]].T, color="black", lw=1.6, ls=(0, (3, 2)), zorder=5)
        else:
            ax.plot(*v[[a, b]].T, color=_side_colour(skeleton, b), lw=2.5, alpha=0.85)


def _equal_box(ax, poses: list[np.ndarray]):
    """Equal scales on the three axes (the box shaped as the poses' extent), a ground grid (0.5 m)
    at the lowest joint."""
    v = _to_view(np.concatenate(poses))
    centre = (v.max(0) + v.min(0)) / 2
    half = np.maximum((v.max(0) - v.min(0)) / 2, 0.5) * 1.1  # per axis; the box's aspect keeps the scales equal
    ax.set_xlim(centre[0] - half[0], centre[0] + half[0])
    ax.set_ylim(centre[1] - half[1], centre[1] + half[1])
    ax.set_zlim(centre[2] - half[2], centre[2] + half[2])
    ax.set_box_aspect(tuple(half))
    floor = v[:, 2].min()
    for g in np.arange(-half[0], half[0] + 1e-9, 0.5):
        ax.plot([centre[0] + g] * 2, [centre[1] - half[1], centre[1] + half[1]], [floor] * 2, color="0.85", lw=0.8)
    for g in np.arange(-half[1], half[1] + 1e-9, 0.5):
        ax.plot([centre[0] - half[0], centre[0] + half[0]], [centre[1] + g] * 2, [floor] * 2, color="0.85", lw=0.8)
    ax.set_xlabel("x (m)"), ax.set_ylabel("depth (m)", labelpad=8), ax.set_zlabel("up (m)")
    ax.locator_params(nbins=4)
    ax.yaxis.set_major_locator(plt.MaxNLocator(3))  # the foreshortened depth axis: few ticks, no collisions
    ax.tick_params(labelsize=8)
    ax.view_init(elev=15, azim=-75)  # from behind the camera, a little above and to the side


FACE = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")


def filled_joints(filled_names: list[str], skeleton) -> list[int]:
    """The lifter's joints made from filled input keypoints (COCO / CrowdPose names: `left_wrist` ->
    LWrist, `left_ankle` -> LFoot, a face keypoint -> Head)."""
    out = set()
    for name in filled_names:
        if name in FACE or name == "head":
            joint = "Head"
        else:
            side, _, part = name.partition("_")
            joint = {"left": "L", "right": "R"}.get(side, "") + {"ankle": "Foot"}.get(part, part.capitalize())
        if joint in skeleton.joint_names:
            out.add(skeleton.joint_names.index(joint))
    return sorted(out)


def _legend(fig, truth: bool, filled: bool):
    handles = [Line2D([], [], color=LEFT, lw=2, label="left side"), Line2D([], [], color=RIGHT, lw=2, label="right side")]
    if filled:
        handles.append(Line2D([], [], ls="", marker="o", mfc="white", mec="0.2", ms=7, label="filled in (not detected)"))
    if truth:
        handles.append(Line2D([], [], color="black", lw=1.6, ls=(0, (3, 2)), label="ground truth"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9, frameon=False)


def plot_lifted_pose(path, joints_2d: np.ndarray, frame: tuple[float, float], pose_3d: np.ndarray, skeleton,
                     title: str = "", truth: Optional[np.ndarray] = None, frame_origin=(0.0, 0.0), units: str = "px",
                     filled: tuple[int, ...] = ()):
    """The 2D input inside its image frame (width, height from `frame_origin`; y down) beside the
    3D pose (metres); with `truth`, the ground truth overlaid dashed and the per-joint error (mm);
    `filled`: joints made from filled-in keypoints, drawn hollow. One legend below both panels."""
    fig = plt.figure(figsize=(12, 5.6))
    grid = fig.add_gridspec(1, 2, width_ratios=(1, 1.5), wspace=0.05)
    ax = fig.add_subplot(grid[0])
    (x0, y0), (w, h) = frame_origin, frame
    ax.add_patch(plt.Rectangle((x0, y0), w, h, fill=False, color="0.6", lw=1))
    pts = np.asarray(joints_2d)
    _bones_2d(ax, pts, skeleton)
    if len(filled):
        ax.scatter(pts[list(filled), 0], pts[list(filled), 1], s=40, facecolors="white", edgecolors="0.2", zorder=4)
    ax.set_xlim(x0 - 0.02 * w, x0 + 1.02 * w), ax.set_ylim(y0 + 1.02 * h, y0 - 0.02 * h)
    ax.set_aspect("equal"), ax.set_title(f"2D input ({units}, image frame)", fontsize=10), ax.grid(alpha=0.2)
    ax3 = fig.add_subplot(grid[1], projection="3d")
    poses = [pose_3d] + ([truth] if truth is not None else [])
    _equal_box(ax3, poses)
    _bones_3d(ax3, pose_3d, skeleton)
    if truth is not None:
        _bones_3d(ax3, truth, skeleton, truth=True)
        err = np.linalg.norm(pose_3d - truth, axis=-1) * 1000
        v = _to_view(pose_3d)
        sc = ax3.scatter(*v.T, c=err, cmap="viridis", s=25, vmin=0, depthshade=False, zorder=6)
        fig.colorbar(sc, ax=ax3, shrink=0.55, pad=0.12, label="joint error (mm)")
        ax3.set_title(f"3D (root-relative, m), seen from the camera: MPJPE {err.mean():.0f} mm", fontsize=10)
    else:
        ax3.set_title("3D (root-relative, m), seen from the camera", fontsize=10)
    _legend(fig, truth is not None, bool(len(filled)))
    fig.suptitle(title, fontsize=11)
    save_figure(fig, path)


def plot_persons_2d_3d(path, background, results: list[dict], lifted: list[tuple[int, np.ndarray]], skeleton_2d,
                       skeleton_3d, title: str = ""):
    """One image of the pipeline: its grouped persons over the heatmaps' maximum (grey), each in
    its own colour, beside each lifted person's 3D pose in the same colour, side by side in
    their left-to-right order in the image (1.2 m apart). `lifted`: (index in `results`, (J, 3))."""
    fig = plt.figure(figsize=(12, 5))
    ax = fig.add_subplot(1, 2, 1)
    if background is not None:
        hm, extent = background
        ax.imshow(hm, cmap="gray_r", extent=extent, vmin=0, vmax=max(float(hm.max()), 1e-6), alpha=0.6)
    lifted_ids = {n for n, _ in lifted}
    fragments = 0
    for n, r in enumerate(results):
        k = np.asarray(r["keypoints"], dtype=float).reshape(-1, 3)
        if is_fragment(k):  # one way to draw and count a fragment, everywhere
            draw_fragment(ax, k)
            fragments += 1
            continue
        c = person_colour(n)
        for a, b in skeleton_2d.edges:
            if k[a, 2] > 0 and k[b, 2] > 0:
                ax.plot(k[[a, b], 0], k[[a, b], 1], color=c, lw=2, ls="-" if n in lifted_ids else ":")
        ax.scatter(*k[k[:, 2] > 0, :2].T, color=c, s=10, zorder=3)
        ax.text(*k[k[:, 2] > 0, :2].min(0), str(n), color=c, fontsize=9, va="bottom", fontweight="bold")
    if background is None:
        ax.invert_yaxis()
    ax.set_aspect("equal")
    persons = len(results) - fragments
    ax.set_title(f"{persons} person{'s' if persons != 1 else ''} grouped + {fragments} fragment"
                 f"{'s' if fragments != 1 else ''}; index = input_index", fontsize=10)
    fragment_legend(ax, [Line2D([], [], color="0.3", lw=2, ls=":", label="a person not lifted")])
    ax3 = fig.add_subplot(1, 2, 2, projection="3d")
    if lifted:
        order = sorted(lifted, key=lambda item: np.mean(np.asarray(results[item[0]]["keypoints"])[0::3]))
        placed = [(n, pose + np.array([1.2 * i, 0.0, 0.0])) for i, (n, pose) in enumerate(order)]
        _equal_box(ax3, [p for _, p in placed])
        for n, pose in placed:
            v = _to_view(pose)
            for a, b in skeleton_3d.edges:
                ax3.plot(*v[[a, b]].T, color=person_colour(n), lw=2.5)
            top = v[np.argmax(v[:, 2])]  # above the head
            ax3.text(top[0], top[1], top[2] + 0.08, str(n), color=person_colour(n), fontsize=9, fontweight="bold")
    ax3.set_title(f"{len(lifted)} lifted to 3D (root-relative, m; 1.2 m apart; same index as in 2D)", fontsize=10)
    fig.suptitle(title)
    save_figure(fig, path)
