"""Lifting without ground truth: 2D persons (pixels, Human3.6M joints) -> root-relative 3D joints
(metres, camera frame) with a trained lifter, and the `poses3d.json` records."""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch import nn

from datasets.cameras import normalize_screen
from datasets.input_norm import apply_input_norm, normalize_pose, virtual_camera
from datasets.keypoints_2d import Persons2D
from datasets.pose_graph import SkeletonBatcher
from datasets.skeleton import Skeleton
from tasks.lifting.evaluation import predict_all


def normalized_inputs(persons: Persons2D, input_norm: str = "screen") -> np.ndarray:
    """(P, J, 2) pixels -> the lifter's input: screen coordinates of each person's image, then
    the lifter's normalisation (`datasets.input_norm`)."""
    x = np.stack([normalize_screen(j, w, h) for j, (w, h) in zip(persons.joints, persons.size)])
    return apply_input_norm(x, input_norm)


@torch.inference_mode()
def lift(model: nn.Module, skeleton: Skeleton, persons: Persons2D, device="cpu", batch_size: int = 1024,
         input_norm: str = "screen", focal: Optional[float] = None, flip: bool = False) -> np.ndarray:
    """-> (P, J, 3) root-relative joints (the root at exactly zero), metres, camera frame. `focal` (pixels; `pose` lifters):
    each person seen by the camera turned to look at it (principal point at the image centre),
    the prediction turned back (`datasets.input_norm.virtual_camera`). `flip`: test-time
    flipping (`tasks.lifting.flip_tested`)."""
    if not len(persons):
        return np.zeros((0, skeleton.num_joints, 3))
    if focal is not None:
        turned = [virtual_camera(j, focal, (w / 2, h / 2)) for j, (w, h) in zip(persons.joints, persons.size)]
        x = normalize_pose(np.stack([t[0] for t in turned]))
    else:
        x = normalized_inputs(persons, input_norm)
    pred = predict_all(model, SkeletonBatcher(skeleton, torch.from_numpy(x.astype(np.float32))), batch_size,
                       device, flip=flip).numpy().astype(np.float64)
    if focal is not None:
        pred = np.einsum("pjk,pkl->pjl", pred, np.stack([t[1] for t in turned]))
    # A lifter predicts every joint, the root (pelvis) too, and is scored after re-centring on
    # it (MPJPE); its own root is near zero but not at it. Root-relative output, as promised:
    return pred - pred[:, :1]


def poses3d_records(persons: Persons2D, poses: np.ndarray, skeleton: Skeleton, lifter: Optional[dict] = None,
                    warnings: Optional[list] = None) -> list[dict]:
    """One `poses3d.json` entry per lifted person: `input_index` (the person's position in the
    input file, so skipped persons shift nothing), `id` (the input's own id, when it gave one),
    image_id, score, the 2D input used (pixels, H36M order), the 3D joints (root-relative, metres,
    camera frame), joint names, filled keypoints, `lifter` (`shipped.lifter_identity`) and, for a
    person whose 2D input looks implausible (`plausibility`), its `warnings`."""
    return [{"input_index": persons.source[i],
             **({"id": persons.input_id[i]} if persons.input_id and persons.input_id[i] is not None else {}),
             "image_id": persons.image_id[i], "score": round(persons.score[i], 5),
             "joint_names": list(skeleton.joint_names),
             "keypoints_2d": np.round(persons.joints[i], 2).tolist(),
             "joints_3d": np.round(poses[i], 5).tolist(),
             "filled": persons.filled[i],
             **({"lifter": lifter} if lifter is not None else {}),
             **({"warnings": warnings[i]} if warnings and warnings[i] else {})}
            for i in range(len(persons))]
