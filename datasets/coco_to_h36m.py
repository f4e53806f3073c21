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

Missing keypoints (score below `min_score`, or 0 = unlabelled): a person with fewer than
`min_keypoints` (13) of the 17, or without a shoulder and a hip, is not lifted (skipped, and
counted). Otherwise each missing keypoint is filled, never left at a zero coordinate:
1. a left/right keypoint whose partner is present: the partner mirrored across the body's
   axis (the line through the shoulders' and hips' midpoints);
2. a face keypoint (nose, eyes, ears): the mean of the face keypoints present, else a point
   above the shoulders' midpoint (a third of the torso length);
3. a limb keypoint with neither side present: its parent's position (wrist at the elbow, ankle
   at the knee; a zero-length bone).
The filled keypoints are reported per person.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datasets.skeleton import COCO17, H36M17_TO_16

NOSE, L_EYE, R_EYE = 0, 1, 2
L_SHO, R_SHO, L_HIP, R_HIP = 5, 6, 11, 12
FACE = (0, 1, 2, 3, 4)
MIRROR = {left: right for left, right in zip(COCO17.left, COCO17.right)}
MIRROR.update({right: left for left, right in MIRROR.items()})
LIMB_PARENT = {7: 5, 8: 6, 9: 7, 10: 8, 13: 11, 14: 12, 15: 13, 16: 14}  # elbow, wrist, knee, ankle
MIN_KEYPOINTS = 13


@dataclass
class Converted:
    joints: np.ndarray  # (J, 2) H36M order, pixels
    filled: list[str]  # COCO names of the keypoints that were filled


def fill_missing(kps: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, list[int]] | None:
    """(17, 2) COCO keypoints and (17,) bool -> all 17 filled (the module's rules) and the
    indices filled; None when the torso (a shoulder and a hip) is missing."""
    if not (present[[L_SHO, R_SHO]].any() and present[[L_HIP, R_HIP]].any()):
        return None
    out = kps.astype(np.float64).copy()
    shoulders = out[[L_SHO, R_SHO]][present[[L_SHO, R_SHO]]].mean(0)
    hips = out[[L_HIP, R_HIP]][present[[L_HIP, R_HIP]]].mean(0)
    axis = shoulders - hips
    norm = np.linalg.norm(axis)
    filled = []
    have = present.copy()
    for k in range(17):  # 1. mirror the partner across the body axis
        if not have[k] and k in MIRROR and present[MIRROR[k]]:
            p = out[MIRROR[k]]
            if norm > 0:
                u = axis / norm
                foot = hips + u * np.dot(p - hips, u)
                out[k] = 2 * foot - p
            else:
                out[k] = p
            have[k] = True
            filled.append(k)
    for k in FACE:  # 2. the face from the face
        if not have[k]:
            face = [j for j in FACE if present[j]]
            out[k] = out[face].mean(0) if face else shoulders + axis / 3
            have[k] = True
            filled.append(k)
    for k in sorted(LIMB_PARENT):  # 3. a limb end at its parent (parents come first in this order)
        if not have[k]:
            out[k] = out[LIMB_PARENT[k]]
            have[k] = True
            filled.append(k)
    return out, sorted(filled)


def coco_to_h36m(kps: np.ndarray, num_joints: int = 16) -> np.ndarray:
    """(..., 17, 2) complete COCO keypoints -> (..., J, 2) Human3.6M joints (J = 16 or 17)."""
    k = np.asarray(kps, dtype=np.float64)
    pelvis = (k[..., L_HIP, :] + k[..., R_HIP, :]) / 2
    thorax = (k[..., L_SHO, :] + k[..., R_SHO, :]) / 2
    joints = np.stack([pelvis, k[..., R_HIP, :], k[..., 14, :], k[..., 16, :], k[..., L_HIP, :],
                       k[..., 13, :], k[..., 15, :], (pelvis + thorax) / 2, thorax, k[..., NOSE, :],
                       (k[..., L_EYE, :] + k[..., R_EYE, :]) / 2, k[..., L_SHO, :], k[..., 7, :],
                       k[..., 9, :], k[..., R_SHO, :], k[..., 8, :], k[..., 10, :]], axis=-2)
    return joints[..., list(H36M17_TO_16), :] if num_joints == 16 else joints


def convert_person(keypoints: np.ndarray, min_score: float, num_joints: int = 16,
                   min_keypoints: int = MIN_KEYPOINTS) -> Converted | None:
    """(17, 3) COCO keypoints (x, y, score or visibility) -> `Converted`, or None when the
    person is not lifted (fewer than `min_keypoints` present, or no torso)."""
    present = (keypoints[:, 2] > 0) & (keypoints[:, 2] >= min_score)
    if present.sum() < min_keypoints:
        return None
    done = fill_missing(keypoints[:, :2], present)
    if done is None:
        return None
    full, filled = done
    return Converted(coco_to_h36m(full, num_joints), [COCO17.joint_names[k] for k in filled])
