"""Built-in multi-person scenes: 2D poses from the kinematic body model of the synthetic lifting
data, 1-15 people per image standing, walking or sitting at different depths (so they overlap
and vary in size), written as a COCO person-keypoint annotation file (17 keypoints).
"""
from __future__ import annotations

import numpy as np

from datasets.skeleton import COCO17
from datasets.synthetic.h36m import ACTIONS, forward_kinematics, joint_angles, subject_bones

# COCO-17 keypoint -> H36M-17 joint, for the body joints; the face is built from the head.
_COCO_FROM_H36M = {5: 11, 6: 14, 7: 12, 8: 15, 9: 13, 10: 16, 11: 4, 12: 1, 13: 5, 14: 2,
                   15: 6, 16: 3}


def coco_keypoints_3d(h36m: np.ndarray) -> np.ndarray:
    """(17, 3) H36M-17 joints (z up) -> (17, 3) COCO-17 keypoints; face points from the head."""
    out = np.zeros((17, 3))
    for c, h in _COCO_FROM_H36M.items():
        out[c] = h36m[h]
    lateral = h36m[11] - h36m[14]  # right -> left shoulder
    lateral /= np.linalg.norm(lateral) + 1e-9
    head, nose = h36m[10], h36m[9]
    forward = nose - head
    forward -= lateral * (forward @ lateral)
    forward /= np.linalg.norm(forward) + 1e-9
    face = head + 0.09 * forward
    out[0] = face - np.array([0, 0, 0.02])  # nose
    out[1], out[2] = face + 0.03 * lateral + 0.02 * np.array([0, 0, 1]), face - 0.03 * lateral + 0.02 * np.array([0, 0, 1])
    out[3], out[4] = head + 0.075 * lateral, head - 0.075 * lateral  # ears
    return out


def synthetic_scenes(num_images: int = 200, seed: int = 0, width: int = 512, height: int = 512,
                     max_people: int = 15, num_people: int = None) -> dict:
    """-> a COCO-format dict (images, annotations, categories). Seeded and deterministic.
    Each image gets 1..`max_people` people, or exactly `num_people` placed (people with fewer
    than 3 keypoints inside the image are left out)."""
    rng = np.random.default_rng(seed)
    f = 1.1 * width  # focal length in pixels; camera 1.6 m high, looking horizontally
    images, annotations = [], []
    ann_id = 1
    for image_id in range(1, num_images + 1):
        images.append({"id": image_id, "file_name": f"synthetic_{image_id:06d}.png",
                       "width": width, "height": height})
        n = num_people if num_people is not None else int(rng.integers(1, max_people + 1))
        for _ in range(n):
            action = ACTIONS[int(rng.integers(len(ACTIONS)))]
            bones = subject_bones(rng)
            angles = {k: v[:1] for k, v in joint_angles(action, 1, rng).items()}
            pose = forward_kinematics(angles, np.array([rng.uniform(0, 2 * np.pi)]), bones)[0]
            pose[:, 2] -= pose[:, 2].min()  # on the floor
            depth = rng.uniform(3.0, 9.0)
            lateral = rng.uniform(-0.45, 0.45) * depth
            world = coco_keypoints_3d(pose) + np.array([lateral, depth, 0.0])
            # Camera frame: x right, y down, z forward; camera at height 1.6 m, its principal
            # point high in the image so that people fill it.
            cam = np.stack([world[:, 0], 1.6 - world[:, 2], world[:, 1]], axis=-1)
            u = f * cam[:, 0] / cam[:, 2] + width / 2
            v = f * cam[:, 1] / cam[:, 2] + 0.3 * height
            inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
            if inside.sum() < 3:
                continue
            kps = np.zeros((17, 3))
            kps[inside, 0], kps[inside, 1], kps[inside, 2] = u[inside], v[inside], 2
            x0, y0 = u[inside].min(), v[inside].min()
            w, h = u[inside].max() - x0, v[inside].max() - y0
            pad = 0.1 * max(w, h)
            bbox = [max(0.0, x0 - pad), max(0.0, y0 - pad), w + 2 * pad, h + 2 * pad]
            annotations.append({
                "id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                "keypoints": [round(float(x), 2) for x in kps.ravel()],
                "num_keypoints": int(inside.sum()), "bbox": [round(float(b), 2) for b in bbox],
                "area": round(float(0.55 * bbox[2] * bbox[3]), 2)})
            ann_id += 1
    return {"info": {"description": f"PoseGraph synthetic multi-person scenes, seed {seed}"},
            "images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "person", "supercategory": "person",
                            "keypoints": list(COCO17.joint_names),
                            "skeleton": [[a + 1, b + 1] for a, b in COCO17.edges]}]}
