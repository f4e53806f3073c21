"""Where the plausibility checks of `predict.py lifting` draw their lines (`tasks.lifting.plausibility`).

For every 2D skeleton of real people it can read, it prints the largest share of the skeleton's
summed 2D bone length that each bone takes (a bone seen side-on takes a large share, a
foreshortened one a small share: only the upper end says anything about the body) and the
smallest 2D extent, in pixels:

- Human3.6M ground-truth 2D (`--h36m DIR`, the standard files, every camera);
- the same subjects' 3D poses seen from random directions (any yaw, pitch and roll: from behind,
  from above, lying down), orthographic;
- COCO ground truth (`--coco FILE ...`: annotations with at least 13 labelled keypoints,
  converted to Human3.6M joints as `predict.py lifting` converts them, missing ones filled);

and the shares of the two input mistakes the checks are for: COCO-order keypoints read as
Human3.6M order (`--format h36m17`), and keypoints divided by the image size. The bounds in
`tasks.lifting.plausibility` are the real maxima times its MARGIN.

Usage: python bench/experiments/lifting_plausibility.py --h36m ../shared/data/h36m_train
           --coco ../shared/data/coco/person_keypoints_train2017_mini80.json ../shared/data/coco/example_coco_val.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from datasets.camera_augment import random_rotations  # noqa: E402
from datasets.coco_to_h36m import convert_person, fill_missing  # noqa: E402
from datasets.h36m import TRAIN_SUBJECTS, load_h36m  # noqa: E402
from datasets.skeleton import h36m_skeleton  # noqa: E402
from tasks.lifting.plausibility import (BONE_SHARE_MAX, LEG_SPREAD_MIN, MARGIN, MIN_EXTENT_PX, bone_shares,  # noqa: E402
                                        leg_spread, person_warnings)


def coco_persons(paths, num_joints: int) -> tuple[np.ndarray, np.ndarray]:
    """-> H36M joints (P, J, 2) of every annotation with >= 13 labelled keypoints, and their COCO
    keypoints (P, 17, 2), the missing ones filled (what a detector's complete output looks like)."""
    conv, full = [], []
    for path in paths:
        for a in json.loads(Path(path).read_text())["annotations"]:
            k = np.array(a["keypoints"], dtype=np.float64).reshape(17, 3)
            k[:, 2] = (k[:, 2] > 0).astype(float)
            c = convert_person(k, 0.5, num_joints)
            if c is not None:
                conv.append(c.joints)
            present = k[:, 2] > 0
            if present.sum() >= 13 and present[[5, 6]].any() and present[[11, 12]].any():
                filled = fill_missing(k[:, :2], present)
                if filled is not None:
                    full.append(filled[0])
    return np.array(conv), np.array(full)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--h36m", required=True, help="folder of the standard Human3.6M files")
    ap.add_argument("--coco", nargs="+", required=True, help="COCO annotation files")
    ap.add_argument("--views", type=int, default=50_000, help="random views of the 3D poses")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    for J in (17, 16):
        sk = h36m_skeleton(J)
        poses = load_h36m(a.h36m, "gt", J, TRAIN_SUBJECTS)
        # in pixels (the screen coordinates and metres scaled to Human3.6M's 1000-px frames; the shape
        # checks are scale-free, the extent check is about pixels)
        sets = {"Human3.6M GT 2D": poses.x2d.astype(np.float64) * 500}
        pick = rng.integers(0, len(poses), a.views)
        R = random_rotations(a.views, rng)
        sets["Human3.6M 3D, random views"] = 200 * np.einsum("pij,pkj->pki", R, poses.y3d[pick].astype(np.float64))[..., :2]
        coco, full = coco_persons(a.coco, J)
        sets["COCO GT"] = coco
        print(f"\n{J} joints, bones {sk.edges}")
        real_max = np.zeros(len(sk.edges))
        for name, x in sets.items():
            s = bone_shares(x, sk)
            real_max = np.maximum(real_max, s.max(0))
            ext = (x.max(1) - x.min(1)).max(1)
            print(f"{name:28s} {len(x):7,d} skeletons; leg spread min {leg_spread(x).min():.3f}; "
                  f"max share per bone {np.round(s.max(0), 3).tolist()}"
                  + (f"; smallest extent {ext.min():.1f} px" if name == "COCO GT" else ""))
        print(f"{'real maximum':28s} {np.round(real_max, 3).tolist()}; x MARGIN {MARGIN}: "
              f"{np.round(real_max * MARGIN, 3).tolist()}")
        print(f"{'shipped bounds':28s} {list(BONE_SHARE_MAX[J])}")
        if J == 17:  # COCO order (complete, missing keypoints filled) read as H36M-17
            flagged = sum(bool(w) for w in person_warnings(full, sk))
            print(f"COCO order as h36m17: {flagged / len(full):.1%} of {len(full)} persons flagged")
        flagged = [sum(bool(w) for w in person_warnings(x, sk)) for x in sets.values()]
        print(f"real skeletons over a bound: {dict(zip(sets, (int(f) for f in flagged)))}; "
              f"extent bound {MIN_EXTENT_PX} px, leg spread bound {LEG_SPREAD_MIN}")


if __name__ == "__main__":
    main()
