"""Does a lifter give the same person the same 3D body at any size or place in a photo?

Every COCO person with at least 13 labelled keypoints (missing ones filled as `predict.py lifting`
fills them) is redrawn in a 1000 x 1000 image four times: 600, 300 and 150 px tall, centred, and
300 px tall in a corner; each copy is lifted (`predict.py lifting`'s conversion and
normalisation). Per person, the 3D size (RMS distance of the joints from their mean) over the four
copies: the median and worst max/min ratio, and each copy's median size (Human3.6M's S9/S11
bodies: 0.489 m). Issue 33's check, on the COCO layouts we have.

Usage: python bench/experiments/lifting_photo_scale.py [--lifting h36m-sh|CKPT ...]
           [--coco ../shared/data/coco/example_coco_val.json ../shared/data/coco/person_keypoints_train2017_mini80.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.checkpoint import checkpoint_config, rebuild_model  # noqa: E402
from datasets.keypoints_2d import to_persons  # noqa: E402
from datasets.skeleton import SKELETONS  # noqa: E402
from tasks import lifting  # noqa: E402
from tasks.lifting.original import load_lifting_checkpoint  # noqa: E402
from tasks.lifting.prediction import lift  # noqa: E402
from tasks.lifting.shipped import resolve_lifter  # noqa: E402

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "coco"
COPIES = {"600 px": (600, "centre"), "300 px": (300, "centre"), "150 px": (150, "centre"), "300 px, corner": (300, "corner")}


def coco_keypoints(paths) -> np.ndarray:
    out = []
    for path in paths:
        for a in json.loads(Path(path).read_text())["annotations"]:
            k = np.array(a["keypoints"], dtype=np.float64).reshape(17, 3)
            if (k[:, 2] > 0).sum() >= 13:
                k[:, 2] = (k[:, 2] > 0).astype(float)
                out.append(k)
    return np.array(out)


def redrawn(k: np.ndarray, height: float, where: str) -> np.ndarray:
    """COCO keypoints (17, 3) scaled to `height` px tall (labelled ones) in a 1000 x 1000 image."""
    xy, seen = k[:, :2].copy(), k[:, 2] > 0
    lo, hi = xy[seen].min(0), xy[seen].max(0)
    s = height / max(hi[1] - lo[1], 1e-6)
    xy = (xy - (lo + hi) / 2) * s
    xy += np.array([500.0, 500.0]) if where == "centre" else np.array([30.0, 30.0]) + (hi - lo) * s / 2
    return np.c_[xy, k[:, 2]]


def sizes(name: str, persons_kps: np.ndarray) -> dict:
    path = resolve_lifter(name, "--lifting")
    ckpt = load_lifting_checkpoint(path)
    skeleton = SKELETONS[ckpt["skeleton"]]
    norm = checkpoint_config(ckpt, path, lifting.LiftingConfig.from_dict).input_norm
    model = rebuild_model(ckpt, path, lifting.model_from_spec)
    per_copy = {}
    for label, (height, where) in COPIES.items():
        kps = np.stack([redrawn(k, height, where) for k in persons_kps])
        persons = to_persons(list(range(len(kps))), kps, [1.0] * len(kps), lambda n, i: (1000.0, 1000.0),
                             "coco", skeleton.num_joints, 0.5)
        assert persons.skipped == 0
        pose = lift(model, skeleton, persons, input_norm=norm)
        per_copy[label] = np.sqrt(((pose - pose.mean(1, keepdims=True)) ** 2).sum(-1).mean(-1))
    table = np.stack(list(per_copy.values()), 1)  # (P, 4)
    ratio = table.max(1) / table.min(1)
    return {"lifter": name, "input_norm": norm, "persons": len(table), "median_ratio": float(np.median(ratio)),
            "worst_ratio": float(ratio.max()), "median_size_m": {k: float(np.median(v)) for k, v in per_copy.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lifting", nargs="+", default=["h36m-sh", "h36m-gt"], help="lifters (shipped names or paths)")
    ap.add_argument("--coco", nargs="+", default=[str(SHARED / "example_coco_val.json"),
                                                  str(SHARED / "person_keypoints_train2017_mini80.json")])
    a = ap.parse_args()
    kps = coco_keypoints(a.coco)
    for name in a.lifting:
        r = sizes(name, kps)
        print(f"{r['lifter']} ({r['input_norm']}): {r['persons']} persons, max/min 3D size over the copies median "
              f"{r['median_ratio']:.2f}, worst {r['worst_ratio']:.2f}; median size "
              + ", ".join(f"{k} {v:.3f} m" for k, v in r["median_size_m"].items()))


if __name__ == "__main__":
    main()
