"""COCO-17 -> Human3.6M joints on hand-built poses, and the missing-keypoint strategy."""
import json
import re

import numpy as np
import pytest

from core.errors import InputError
from datasets.coco_to_h36m import coco_to_h36m, convert_person, fill_missing
from datasets.keypoints_2d import read_persons
from datasets.skeleton import H36M16, H36M17

# A frontal person, x right, y down (pixels): COCO order.
POSE = np.array([[50, 10], [47, 8], [53, 8], [44, 10], [56, 10],  # nose, eyes, ears
                 [40, 25], [60, 25], [36, 40], [64, 40], [34, 55], [66, 55],  # shoulders, elbows, wrists
                 [44, 60], [56, 60], [43, 80], [57, 80], [42, 100], [58, 100]], dtype=float)  # hips, knees, ankles


def test_conversion_of_a_hand_built_pose():
    j17 = coco_to_h36m(POSE, 17)
    names = dict(zip(H36M17.joint_names, j17))
    np.testing.assert_allclose(names["Hip"], [50, 60])
    np.testing.assert_allclose(names["Thorax"], [50, 25])
    np.testing.assert_allclose(names["Spine"], [50, 42.5])
    np.testing.assert_allclose(names["Neck/Nose"], [50, 10])
    np.testing.assert_allclose(names["Head"], [50, 8])
    np.testing.assert_allclose(names["RKnee"], POSE[14]), np.testing.assert_allclose(names["LWrist"], POSE[9])
    np.testing.assert_allclose(names["RShoulder"], POSE[6]), np.testing.assert_allclose(names["LFoot"], POSE[15])
    j16 = coco_to_h36m(POSE, 16)
    assert j16.shape == (16, 2)
    np.testing.assert_allclose(j16, np.delete(j17, 9, axis=0))
    assert dict(zip(H36M16.joint_names, j16))["Head"].tolist() == [50, 8]


def test_a_missing_keypoint_is_its_partner_mirrored_across_the_body_axis():
    present = np.ones(17, bool)
    present[[7, 16]] = False  # left elbow, right ankle
    out, filled = fill_missing(np.where(present[:, None], POSE, 0), present)
    assert filled == [7, 16]
    np.testing.assert_allclose(out[7], POSE[7])  # the pose is symmetric about x = 50
    np.testing.assert_allclose(out[16], POSE[16])
    np.testing.assert_allclose(out[present], POSE[present])


def test_both_sides_missing_face_and_limbs():
    present = np.ones(17, bool)
    present[[0, 9, 10]] = False  # nose, both wrists
    out, filled = fill_missing(POSE, present)
    assert filled == [0, 9, 10]
    np.testing.assert_allclose(out[0], POSE[1:5].mean(0))  # the face keypoints present
    np.testing.assert_allclose(out[9], POSE[7]), np.testing.assert_allclose(out[10], POSE[8])  # at the elbows
    present[:5] = False
    out, _ = fill_missing(POSE, present)
    np.testing.assert_allclose(out[0], [50, 25 - 35 / 3])  # above the shoulders: a third of the torso


def test_who_is_lifted():
    kps = np.concatenate([POSE, np.full((17, 1), 0.9)], axis=1)
    assert convert_person(kps, 0.1).filled == []
    few = kps.copy()
    few[[0, 1, 2, 3, 4], 2] = 0.05  # 12 of 17 above the score threshold
    assert convert_person(few, 0.1) is None
    few[4, 2] = 0.5  # 13: always lifted
    c = convert_person(few, 0.1)
    assert c is not None and c.filled == ["nose", "left_eye", "right_eye", "left_ear"]
    assert np.all(np.isfinite(c.joints)) and not np.any(c.joints == 0)
    torso = kps.copy()
    torso[[5, 6], 2] = 0  # no shoulder
    assert convert_person(torso, 0.1) is None


def test_reading_files_and_bad_input(tmp_path):
    res = [{"image_id": 3, "category_id": 1, "keypoints": np.c_[POSE, np.ones(17)].ravel().tolist(), "score": 0.8}]
    (tmp_path / "r.json").write_text(json.dumps(res))
    p = read_persons(tmp_path / "r.json", None, 16, image_size=(100, 120))
    assert len(p) == 1 and p.image_id == [3] and p.score == [0.8] and p.size == [(100, 120)]
    np.testing.assert_allclose(p.joints[0], coco_to_h36m(POSE, 16))
    np.save(tmp_path / "a.npy", np.stack([coco_to_h36m(POSE, 17)] * 2))
    q = read_persons(tmp_path / "a.npy", "h36m17", 16, image_size=(100, 120))
    assert q.image_id == [0, 1]
    np.testing.assert_allclose(q.joints[1], coco_to_h36m(POSE, 16))
    cases = [
        ("short.json", json.dumps([dict(res[0], keypoints=res[0]["keypoints"][:42])]), {"image_size": (1, 1)},
         "short.json: result [0] has 42 keypoint values, expected 51"),
        ("r.json", None, {"sizes": {4: (1, 1)}}, "r.json: image 3 (person 0) is not in the images list"),
        ("r.json", None, {}, "image sizes are needed"),
    ]
    for name, text, kwargs, msg in cases:
        if text is not None:
            (tmp_path / name).write_text(text)
        with pytest.raises(InputError, match=re.escape(msg)):
            read_persons(tmp_path / name, None, 16, **kwargs)
    np.save(tmp_path / "bad.npy", np.zeros((2, 15, 2)))
    with pytest.raises(InputError, match=r"bad.npy: array has shape \(2, 15, 2\)"):
        read_persons(tmp_path / "bad.npy", None, 16, image_size=(1, 1))
