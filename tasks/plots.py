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


def match_to_truth(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """For each predicted person (P, K, 3), the ground-truth person (G, K, 3) whose labelled
    keypoints lie nearest on the keypoints both have (mean distance, within a tenth of that
    person's box diagonal), else -1: the drawing's colour link between the two panels."""
    match = np.full(len(pred), -1)
    for p, k in enumerate(pred):
        best = np.inf
        for g, t in enumerate(truth):
            both = (k[:, 2] > 0) & (t[:, 2] > 0)
            vis = t[t[:, 2] > 0, :2]
            if not both.any() or len(vis) < 2:
                continue
            dist = np.linalg.norm(k[both, :2] - t[both, :2], axis=1).mean()
            if dist < min(best, 0.1 * np.linalg.norm(vis.max(0) - vis.min(0)) + 2.0):
                best, match[p] = dist, g
    return match


def plot_grouping(gt, image_id: int, results: list[dict], graph, skeleton, path):
    """Predicted persons (left) and ground truth (right), limbs as lines, over all candidates
    (grey dots). A predicted person has the colour of the ground-truth person it lies on (black:
    none); persons of one or two keypoints are drawn small."""
    img = gt.imgs[image_id]
    W, H = img.get("width", 1), img.get("height", 1)
    fig, axes = plt.subplots(1, 2, figsize=(12, 6))
    K = skeleton.num_joints
    cand = (graph.pos * graph.factor + graph.offset).numpy()
    truth = [np.asarray(a["keypoints"], dtype=float).reshape(K, 3)
             for a in gt.imgToAnns.get(image_id, []) if not a.get("iscrowd", 0)]
    pred = [np.asarray(r["keypoints"], dtype=float).reshape(K, 3) for r in results]
    cmap = plt.get_cmap("tab20")
    colours = ([cmap(g % 20) if g >= 0 else "black" for g in match_to_truth(pred, truth)],
               [cmap(g % 20) for g in range(len(truth))])
    for ax, people, colour, title in ((axes[0], pred, colours[0], "predicted"),
                                      (axes[1], truth, colours[1], "ground truth")):
        ax.scatter(cand[:, 0], cand[:, 1], s=6, c="lightgrey")
        small = 0
        for k, color in zip(people, colour):
            vis = k[:, 2] > 0
            if vis.sum() < 3:
                small += 1
                ax.scatter(k[vis, 0], k[vis, 1], s=5, color=color)
                continue
            for a, b in skeleton.edges:
                if vis[a] and vis[b]:
                    ax.plot(k[[a, b], 0], k[[a, b], 1], color=color, lw=2)
            ax.scatter(k[vis, 0], k[vis, 1], s=14, color=color)
        ax.set_xlim(0, W), ax.set_ylim(H, 0), ax.set_aspect("equal")
        ax.set_title(f"{title}: {len(people)} persons" + (f" ({small} of 1-2 keypoints, small)" if small else ""))
    fig.suptitle(f"image {image_id}")
    save_figure(fig, path)
