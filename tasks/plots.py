"""Plots of a run: loss curves and skeletons (matplotlib, no screen needed)."""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from core.atomic_io import atomic_write  # noqa: E402
from datasets.coco import DATASET_SKELETONS  # noqa: E402


# Persons get distinct hues (tab10 without its grey, then Dark2): never two shades of one hue.
PERSON_COLOURS = [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 7] + list(plt.get_cmap("Dark2").colors)
FRAGMENT_STYLE = {"marker": "x", "color": "0.45", "s": 22, "linewidths": 1.2}  # one way to draw a fragment, everywhere


def person_colour(n: int):
    return PERSON_COLOURS[n % len(PERSON_COLOURS)]


def draw_fragment(ax, k: np.ndarray, zorder: int = 3):
    """A fragment (`tasks.grouping.results.is_fragment`): its keypoints as small grey crosses."""
    vis = k[:, 2] > 0
    ax.scatter(k[vis, 0], k[vis, 1], zorder=zorder, **FRAGMENT_STYLE)


def fragment_legend(ax, extra=()):
    """The legend of a grouping picture: a person, a fragment, and `extra` (label, handle) items."""
    from matplotlib.lines import Line2D
    from tasks.grouping.results import FRAGMENT_BELOW
    handles = [Line2D([], [], color=PERSON_COLOURS[0], lw=2, marker="o", ms=4, label="a person (one colour each)"),
               Line2D([], [], ls="", marker="x", color=FRAGMENT_STYLE["color"], ms=6,
                      label=f"fragment (< {FRAGMENT_BELOW} keypoints)")] + list(extra)
    ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.85)


def save_figure(fig, path):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    atomic_write(path, lambda f: f.write(buf.getvalue()))


def plot_loss_curve(records: list[dict], path, metric: str, loss_key: str = "loss",
                    loss_label: str = "loss", metric_label: str = ""):
    """Training loss (and the validation loss when logged) and a held-out metric per epoch,
    side by side, with whole-number epochs; the labels name what is plotted, with units."""
    from matplotlib.ticker import MaxNLocator
    epochs = [r["epoch"] for r in records]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    a.plot(epochs, [r[loss_key] for r in records], marker="o", label="training")
    if all(f"val_{loss_key}" in r for r in records):
        a.plot(epochs, [r[f"val_{loss_key}"] for r in records], marker="o", label="validation")
        a.legend()
    a.set_xlabel("epoch"), a.set_ylabel(loss_label), a.set_yscale("log")
    scored = [r for r in records if r.get(metric) is not None]  # runs without validation log none
    b.plot([r["epoch"] for r in scored], [r[metric] for r in scored], marker="o", color="tab:red")
    b.set_xlabel("epoch"), b.set_ylabel(metric_label or f"validation {metric}")
    if not scored:
        b.text(0.5, 0.5, "no validation subjects", ha="center", va="center", transform=b.transAxes)
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
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


def wrong_joints(person: np.ndarray, match: int, truth: list[np.ndarray]) -> np.ndarray:
    """(K,) bool: the joints of a predicted person (K, 3) that lie on another ground-truth
    person than the one it matches (`match`, -1: none): within a tenth of that person's box
    diagonal (+2 px) of its keypoint of the same type, and not so near the matched one's."""
    wrong = np.zeros(len(person), dtype=bool)
    if match < 0:
        return wrong
    for g, t in enumerate(truth):
        if g == match:
            continue
        vis = t[t[:, 2] > 0, :2]
        if len(vis) < 2:
            continue
        radius = 0.1 * np.linalg.norm(vis.max(0) - vis.min(0)) + 2.0
        both = (person[:, 2] > 0) & (t[:, 2] > 0)
        d_other = np.linalg.norm(person[:, :2] - t[:, :2], axis=1)
        own = truth[match]
        d_own = np.where(own[:, 2] > 0, np.linalg.norm(person[:, :2] - own[:, :2], axis=1), np.inf)
        wrong |= both & (d_other <= radius) & (d_other < d_own)
    return wrong


def plot_grouping(path, title: str, results: list[dict], skeleton, background=None, candidates=None,
                  truth: list[np.ndarray] | None = None, image_size=None):
    """Persons of one image drawn over its maps: predicted (left) and, when known, ground truth
    (right). `background`: (heatmap maximum (H, W), its extent in image pixels) as grey;
    `candidates` (M, 2) image pixels as small dots. A predicted person has the colour of the
    ground-truth person it lies on (black: none), and its joints that lie on another person are
    crossed out in red; fragments (`is_fragment`) are grey crosses, counted apart. Each panel's
    title says what it shows; a legend explains the marks."""
    K = skeleton.num_joints
    pred = [np.asarray(r["keypoints"], dtype=float).reshape(K, 3) for r in results]
    panels = [("predicted", pred)] + ([("ground truth", truth)] if truth is not None else [])
    if image_size is not None:
        aspect = image_size[1] / image_size[0]
    elif background is not None:
        aspect = abs(background[1][2] - background[1][3]) / abs(background[1][1] - background[1][0])
    else:
        aspect = 1.0
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 6 * min(max(aspect, 0.4), 1.6) + 0.8),
                             squeeze=False)
    from tasks.grouping.results import is_fragment
    match = match_to_truth(pred, truth) if truth is not None else np.arange(len(pred))
    colours = [[person_colour(g) if g >= 0 else "black" for g in match], [person_colour(g) for g in range(len(truth or []))]]
    for i, (ax, (name, people)) in enumerate(zip(axes[0], panels)):
        if background is not None:
            ax.imshow(background[0], extent=background[1], cmap="gray_r", vmin=0, vmax=1.5, interpolation="nearest")
        if candidates is not None:
            ax.scatter(candidates[:, 0], candidates[:, 1], s=4, c="silver", zorder=2)
        fragments = 0
        for p, (k, color) in enumerate(zip(people, colours[i])):
            vis = k[:, 2] > 0
            if is_fragment(k):
                fragments += 1
                draw_fragment(ax, k)
                continue
            for a, b in skeleton.edges:
                if vis[a] and vis[b]:
                    ax.plot(k[[a, b], 0], k[[a, b], 1], color=color, lw=2, zorder=3)
            ax.scatter(k[vis, 0], k[vis, 1], s=14, color=color, zorder=4)
            if i == 0 and truth is not None:
                bad = wrong_joints(k, match[p], truth) & vis
                ax.scatter(k[bad, 0], k[bad, 1], s=70, marker="x", color="red", lw=2, zorder=5)
        if image_size is not None:
            ax.set_xlim(0, image_size[0]), ax.set_ylim(image_size[1], 0)
        elif background is not None:
            ax.set_xlim(background[1][0], background[1][1]), ax.set_ylim(background[1][2], background[1][3])
        else:
            ax.invert_yaxis()
        ax.set_aspect("equal")
        persons = len(people) - fragments
        ax.set_title(f"{title}, {name}: {persons} person{'s' if persons != 1 else ''}"
                     + (f" + {fragments} fragment{'s' if fragments != 1 else ''}" if fragments else ""), fontsize=10)
        if i == 0:
            from matplotlib.lines import Line2D
            wrong = [Line2D([], [], color="black", lw=2, label="on no true person"),
                     Line2D([], [], ls="", marker="x", color="red", ms=8, mew=2, label="joint on another person")] \
                if truth is not None else []
            fragment_legend(ax, wrong)
    fig.tight_layout()
    save_figure(fig, path)


def plot_grouped_images(graphs, results: list[dict], out: Path, dataset: str, backgrounds: dict, gt=None) -> list[Path]:
    """`grouping_<image_id>.png` for each graph: its persons over its maps (beside the ground
    truth when `gt` is given)."""
    skeleton, K = DATASET_SKELETONS[dataset], DATASET_SKELETONS[dataset].num_joints
    paths = []
    for g in graphs:
        img_id = int(g.image_id)
        truth = size = None
        if gt is not None:
            truth = [np.asarray(t["keypoints"], dtype=float).reshape(K, 3)
                     for t in gt.imgToAnns.get(img_id, []) if not t.get("iscrowd", 0)]
            size = (gt.imgs[img_id].get("width"), gt.imgs[img_id].get("height"))
            size = size if None not in size else None
        path = out / f"grouping_{img_id}.png"
        plot_grouping(path, f"image {img_id}", [r for r in results if r["image_id"] == img_id], skeleton,
                      backgrounds.get(img_id), (g.pos * g.factor + g.offset).numpy(), truth, size)
        paths.append(path)
    return paths
