"""Plots of a run: loss curves and skeletons (matplotlib, no screen needed)."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from core.atomic_io import atomic_write  # noqa: E402


def save_figure(fig, path):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    atomic_write(path, lambda f: f.write(buf.getvalue()))


def plot_loss_curve(records: list[dict], path, metric: str, loss_key: str = "loss"):
    """Training loss and a validation metric per epoch, side by side."""
    epochs = [r["epoch"] for r in records]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    a.plot(epochs, [r[loss_key] for r in records], marker="o")
    a.set_xlabel("epoch"), a.set_ylabel(f"training {loss_key}"), a.set_yscale("log")
    b.plot(epochs, [r[metric] for r in records], marker="o", color="tab:red")
    b.set_xlabel("epoch"), b.set_ylabel(f"validation {metric}")
    for ax in (a, b):
        ax.grid(alpha=0.3)
    save_figure(fig, path)


def _draw_bones(ax, pts, skeleton, three_d: bool):
    left, right = set(skeleton.left), set(skeleton.right)
    for a, b in skeleton.edges:
        color = "tab:blue" if b in left else "tab:red" if b in right else "black"
        seg = pts[[a, b]]
        if three_d:
            ax.plot(seg[:, 0], seg[:, 2], -seg[:, 1], color=color, lw=2)
        else:
            ax.plot(seg[:, 0], seg[:, 1], color=color, lw=2)


def plot_lifting_example(x2d, y_true, y_pred, skeleton, path, title: str = ""):
    """Input 2D, ground-truth 3D and predicted 3D skeleton side by side (camera frame)."""
    fig = plt.figure(figsize=(12, 4))
    ax = fig.add_subplot(1, 3, 1)
    _draw_bones(ax, np.asarray(x2d), skeleton, False)
    ax.invert_yaxis(), ax.set_aspect("equal"), ax.set_title("input 2D")
    lim = float(np.abs(np.concatenate([y_true, y_pred])).max()) or 1.0
    for i, (pts, name) in enumerate(((y_true, "ground truth 3D"), (y_pred, "predicted 3D"))):
        ax = fig.add_subplot(1, 3, i + 2, projection="3d")
        _draw_bones(ax, np.asarray(pts), skeleton, True)
        ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim), ax.set_zlim(-lim, lim)
        ax.view_init(elev=15, azim=-75)
        ax.set_title(name)
    fig.suptitle(title)
    save_figure(fig, path)


def plot_grouping(gt, image_id: int, results: list[dict], graph, skeleton, path):
    """Predicted persons (left) and ground truth (right), one colour per person, limbs as lines,
    over the maximum of the heatmaps' candidates (grey dots: all candidates)."""
    img = gt.imgs[image_id]
    W, H = img.get("width", 1), img.get("height", 1)
    fig, axes = plt.subplots(1, 2, figsize=(12, 6))
    K = skeleton.num_joints
    cand = (graph.pos * graph.factor + graph.offset).numpy()
    truth = [a for a in gt.imgToAnns.get(image_id, []) if not a.get("iscrowd", 0)]
    for ax, people, title in ((axes[0], [r["keypoints"] for r in results], "predicted"),
                              (axes[1], [a["keypoints"] for a in truth], "ground truth")):
        ax.scatter(cand[:, 0], cand[:, 1], s=6, c="lightgrey")
        cmap = plt.get_cmap("tab20")
        for p, kps in enumerate(people):
            k = np.asarray(kps, dtype=float).reshape(K, 3)
            color = cmap(p % 20)
            for a, b in skeleton.edges:
                if k[a, 2] > 0 and k[b, 2] > 0:
                    ax.plot(k[[a, b], 0], k[[a, b], 1], color=color, lw=2)
            vis = k[:, 2] > 0
            ax.scatter(k[vis, 0], k[vis, 1], s=14, color=color)
        ax.set_xlim(0, W), ax.set_ylim(H, 0), ax.set_aspect("equal")
        ax.set_title(f"{title}: {len(people)} persons")
    fig.suptitle(f"image {image_id}")
    save_figure(fig, path)
