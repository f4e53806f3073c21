"""COCO-17 keypoints (what COCO detectors and `predict.py grouping` write) -> the lifter's
Human3.6M joints, with missing keypoints filled first.

Joints (H36M-17 order; H36M-16 drops Neck/Nose):

    Hip (pelvis)   mean of left_hip, right_hip              derived
    R/L Hip, Knee, Foot   right/left_hip, _knee, _ankle     direct
    Spine          mean of pelvis and thorax                approximated (H36M's spine marker sits
                                                             about there)
    Thorax         mean of left_shoulder, right_shoulder    derived
    Neck/Nose      nose                                     direct
    Head           mean of the eyes                         approximated (H36M's head joint is
                                                             higher, on the forehead)
    L/R Shoulder, Elbow, Wrist                              direct

CrowdPose-14 (`crowdpose_to_h36m`): the same, with CrowdPose's head (the top of the head, as
H36M's Head) and Neck/Nose approximated by the midpoint of its neck and head.

Missing keypoints (score below `min_score`, or 0 = unlabelled): a person with fewer than
`min_keypoints` (13 of COCO's 17, 11 of CrowdPose's 14), or without a shoulder and a hip, is not
lifted (skipped, and counted). Otherwise each missing keypoint is filled, never left at a zero coordinate:
1. a left/right keypoint whose partner is present: the partner mirrored across the body's
   axis (the line through the shoulders' and hips' midpoints);
2. a face keypoint (COCO: nose, eyes, ears; CrowdPose: head, neck): the mean of the face
   keypoints present, else a point above the shoulders' midpoint (a third of the torso length);
3. a limb keypoint with neither side present: its parent's position (wrist at the elbow, ankle
   at the knee; a zero-length bone).
The filled keypoints are reported per person.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datasets.skeleton import COCO17, CROWDPOSE14, H36M17_TO_16, Skeleton


@dataclass(frozen=True)
class Layout:
    """Where a keypoint set keeps what the conversion needs."""

    skeleton: Skeleton
    shoulders: tuple[int, int]  # (left, right)
    hips: tuple[int, int]
    face: tuple[int, ...]  # filled from each other, else above the shoulders
    limb_parent: dict  # elbow -> shoulder, wrist -> elbow, knee -> hip, ankle -> knee
    min_keypoints: int

    @property
    def mirror(self) -> dict:
        pairs = dict(zip(self.skeleton.left, self.skeleton.right))
        return {**pairs, **{r: left for left, r in pairs.items()}}


COCO = Layout(COCO17, (5, 6), (11, 12), (0, 1, 2, 3, 4),
              {7: 5, 8: 6, 9: 7, 10: 8, 13: 11, 14: 12, 15: 13, 16: 14}, 13)
# CrowdPose: l/r shoulder 0/1, elbow 2/3, wrist 4/5, hip 6/7, knee 8/9, ankle 10/11, head 12, neck 13.
CROWDPOSE = Layout(CROWDPOSE14, (0, 1), (6, 7), (12, 13),
                   {2: 0, 3: 1, 4: 2, 5: 3, 8: 6, 9: 7, 10: 8, 11: 9}, 11)
LAYOUTS = {"coco": COCO, "crowdpose": CROWDPOSE}
MIN_KEYPOINTS = COCO.min_keypoints


@dataclass
class Converted:
    joints: np.ndarray  # (J, 2) H36M order, pixels
    filled: list[str]  # names of the input keypoints that were filled


def fill_missing(kps: np.ndarray, present: np.ndarray, layout: Layout = COCO) -> tuple[np.ndarray, list[int]] | None:
    """(K, 2) keypoints and (K,) bool -> all K filled (the module's rules) and the indices
    filled; None when the torso (a shoulder and a hip) is missing."""
    sho, hip = list(layout.shoulders), list(layout.hips)
    if not (present[sho].any() and present[hip].any()):
        return None
    out = kps.astype(np.float64).copy()
    shoulders = out[sho][present[sho]].mean(0)
    hips = out[hip][present[hip]].mean(0)
    axis = shoulders - hips
    norm = np.linalg.norm(axis)
    filled, have, mirror = [], present.copy(), layout.mirror
    for k in range(len(out)):  # 1. the partner mirrored across the body axis
        if not have[k] and k in mirror and present[mirror[k]]:
            p = out[mirror[k]]
            if norm > 0:
                u = axis / norm
                out[k] = 2 * (hips + u * np.dot(p - hips, u)) - p
            else:
                out[k] = p
            have[k] = True
            filled.append(k)
    for k in layout.face:  # 2. the face from the face, else above the shoulders
        if not have[k]:
            face = [j for j in layout.face if present[j]]
            out[k] = out[face].mean(0) if face else shoulders + axis / 3
            have[k] = True
            filled.append(k)
    for k in sorted(layout.limb_parent):  # 3. a limb end at its parent (parents come first)
        if not have[k]:
            out[k] = out[layout.limb_parent[k]]
            have[k] = True
            filled.append(k)
    return out, sorted(filled)


def coco_to_h36m(kps: np.ndarray, num_joints: int = 16) -> np.ndarray:
    """(..., 17, 2) complete COCO keypoints -> (..., J, 2) Human3.6M joints (J = 16 or 17)."""
    k = np.asarray(kps, dtype=np.float64)
    pelvis = (k[..., 11, :] + k[..., 12, :]) / 2
    thorax = (k[..., 5, :] + k[..., 6, :]) / 2
    joints = np.stack([pelvis, k[..., 12, :], k[..., 14, :], k[..., 16, :], k[..., 11, :],
                       k[..., 13, :], k[..., 15, :], (pelvis + thorax) / 2, thorax, k[..., 0, :],
                       (k[..., 1, :] + k[..., 2, :]) / 2, k[..., 5, :], k[..., 7, :],
                       k[..., 9, :], k[..., 6, :], k[..., 8, :], k[..., 10, :]], axis=-2)
    return joints[..., list(H36M17_TO_16), :] if num_joints == 16 else joints


def crowdpose_to_h36m(kps: np.ndarray, num_joints: int = 16) -> np.ndarray:
    """(..., 14, 2) complete CrowdPose keypoints -> (..., J, 2) Human3.6M joints. Derived: pelvis
    (hips), thorax (shoulders), spine; Head is CrowdPose's head (its top, as H36M's); Neck/Nose
    (17 joints only) is approximated by the midpoint of neck and head."""
    k = np.asarray(kps, dtype=np.float64)
    pelvis = (k[..., 6, :] + k[..., 7, :]) / 2
    thorax = (k[..., 0, :] + k[..., 1, :]) / 2
    joints = np.stack([pelvis, k[..., 7, :], k[..., 9, :], k[..., 11, :], k[..., 6, :],
                       k[..., 8, :], k[..., 10, :], (pelvis + thorax) / 2, thorax,
                       (k[..., 13, :] + k[..., 12, :]) / 2, k[..., 12, :], k[..., 0, :], k[..., 2, :],
                       k[..., 4, :], k[..., 1, :], k[..., 3, :], k[..., 5, :]], axis=-2)
    return joints[..., list(H36M17_TO_16), :] if num_joints == 16 else joints


TO_H36M = {"coco": coco_to_h36m, "crowdpose": crowdpose_to_h36m}


def convert_person(keypoints: np.ndarray, min_score: float, num_joints: int = 16,
                   min_keypoints: int | None = None, dataset: str = "coco") -> Converted | None:
    """(K, 3) keypoints (x, y, score or visibility) of `dataset`'s layout -> `Converted`, or None
    when the person is not lifted (fewer than `min_keypoints` present (default: 13 of COCO's 17,
    11 of CrowdPose's 14), or no torso)."""
    layout = LAYOUTS[dataset]
    present = (keypoints[:, 2] > 0) & (keypoints[:, 2] >= min_score)
    if present.sum() < (layout.min_keypoints if min_keypoints is None else min_keypoints):
        return None
    done = fill_missing(keypoints[:, :2], present, layout)
    if done is None:
        return None
    full, filled = done
    return Converted(TO_H36M[dataset](full, num_joints), [layout.skeleton.joint_names[k] for k in filled])
