"""Implausible 2D input: real skeletons (Human3.6M's, COCO's, seen from anywhere) are never flagged;
normalised keypoints and a wrong joint order are, per person and for a whole file (one line)."""
import json

import numpy as np
import pytest

import predict
from core.cli import run_cli
from datasets.camera_augment import random_rotations
from datasets.coco_to_h36m import COCO, convert_person, fill_missing
from datasets.h36m import TRAIN_SUBJECTS, load_h36m
from datasets.skeleton import H36M16, H36M17, H36M17_TO_16
from tasks.lifting.plausibility import file_implausible, person_warnings, summary
from tests.conftest import shared_file
from tests.datasets.test_coco_to_h36m import POSE




def _coco_persons():
    """COCO ground truth with >= 13 keypoints: (H36M-17 joints as predict.py converts them, the
    complete COCO keypoints with the missing ones filled)."""
    conv, full = [], []
    for name in ("person_keypoints_train2017_mini80.json", "example_coco_val.json"):
        for a in json.loads(shared_file("data", "coco", name).read_text())["annotations"]:
            k = np.array(a["keypoints"], dtype=np.float64).reshape(17, 3)
            k[:, 2] = k[:, 2] > 0
            c = convert_person(k, 0.5, 17)
            if c is not None:
                conv.append(c.joints)
                full.append(fill_missing(k[:, :2], k[:, 2] > 0, COCO)[0])
    return np.array(conv), np.array(full)


@pytest.mark.parametrize("skeleton", [H36M16, H36M17])
def test_real_human36m_skeletons_from_any_direction_are_not_flagged(skeleton):
    data = shared_file("data", "h36m_train", "data_3d_h36m.npz").parent
    poses = load_h36m(data, "gt", skeleton.num_joints, TRAIN_SUBJECTS, downsample=8)
    assert not any(person_warnings(poses.x2d.astype(np.float64) * 500, skeleton))  # the 4 cameras, in pixels
    rng = np.random.default_rng(1)
    pick = rng.integers(0, len(poses), 20_000)  # from behind, above, below, lying down: any rotation
    views = 200 * np.einsum("pij,pkj->pki", random_rotations(len(pick), rng), poses.y3d[pick].astype(np.float64))[..., :2]
    assert not any(person_warnings(views, skeleton))


def test_coco_persons_pass_and_coco_order_read_as_h36m17_is_flagged():
    conv, full = _coco_persons()
    assert len(conv) >= 30
    assert not any(person_warnings(conv, H36M17)) and not any(person_warnings(conv[:, list(H36M17_TO_16)], H36M16))
    wrong = person_warnings(full, H36M17)  # COCO-17 order given as --format h36m17
    assert sum(bool(w) for w in wrong) >= 0.8 * len(full) and file_implausible(wrong)
    assert "is the joint order right? see --format" in summary(wrong)
    tiny = person_warnings(conv / np.array([640.0, 480.0]), H36M17)  # normalised to [0, 1], pixels promised
    assert all(tiny) and "px tall -- are the keypoints normalised? see --image-size" in tiny[0][0]
    assert summary(tiny).startswith(f"{len(conv)} of {len(conv)} persons: 2D skeleton 0.")


def _coco_result(kps, image_id=1, score=0.9):
    return {"image_id": image_id, "category_id": 1, "keypoints": kps.ravel().round(2).tolist(), "score": score}


def test_predict_flags_names_the_lifter_and_refuses_a_wrong_file(tmp_path, capsys):
    """predict.py lifting with the shipped default: the console's first line names the lifter,
    poses3d.json records it; normalised keypoints are a one-line error unless --force, which lifts
    them with a warnings list per person; a plausible file with one bad person only warns."""
    good = np.c_[POSE, np.full(17, 2.0)]  # a standing person, COCO order, pixels of a 1000 x 1000 image
    small = good.copy()
    small[:, :2] /= 1000.0
    (tmp_path / "norm.json").write_text(json.dumps([_coco_result(small, i) for i in range(3)]))
    rc = run_cli(predict.main, ["lifting", "--keypoints", str(tmp_path / "norm.json"), "--image-size", "1000", "1000",
                                "--out", str(tmp_path / "a")])
    cap = capsys.readouterr()
    assert rc == 2 and cap.err.count("\n") == 1 and "norm.json: 3 of 3 persons: 2D skeleton" in cap.err, cap.err
    assert "--force" in cap.err and not (tmp_path / "a" / "poses3d.json").exists()
    assert cap.out.splitlines()[0].startswith("lifter: h36m-sh (modulated, screen input normalisation, 16 joints, sha256 ")
    assert run_cli(predict.main, ["lifting", "--keypoints", str(tmp_path / "norm.json"), "--image-size", "1000", "1000",
                                  "--out", str(tmp_path / "b"), "--force"]) == 0
    got = json.loads((tmp_path / "b" / "poses3d.json").read_text())
    assert all("are the keypoints normalised" in g["warnings"][0] for g in got)
    assert got[0]["lifter"]["name"] == "h36m-sh" and len(got[0]["lifter"]["sha256"]) == 64
    assert got[0]["lifter"]["input_norm"] == "screen" and got[0]["lifter"]["joints"] == 16
    capsys.readouterr()
    mixed = [_coco_result(good, i) for i in range(3)] + [_coco_result(small, 9)]
    (tmp_path / "mixed.json").write_text(json.dumps(mixed))
    assert run_cli(predict.main, ["lifting", "--keypoints", str(tmp_path / "mixed.json"), "--image-size", "1000",
                                  "1000", "--out", str(tmp_path / "c"), "--viz", "1"]) == 0
    out = capsys.readouterr().out
    assert "warning: 1 of 4 persons: 2D skeleton" in out
    got = json.loads((tmp_path / "c" / "poses3d.json").read_text())
    assert ["warnings" in g for g in got] == [False, False, False, True]
