"""predict.py pipeline on built-in scenes: the grouping stages as predict.py grouping runs them,
every person with enough keypoints lifted to a finite 3D pose; CrowdPose persons converted."""
import json

import numpy as np
import pytest

import predict
import train
from core.cli import run_cli
from datasets.coco_to_h36m import convert_person, crowdpose_to_h36m
from datasets.skeleton import H36M17
from tests.conftest import REPO


@pytest.fixture(scope="module")
def models(tiny_h36m, tmp_path_factory):
    root = tmp_path_factory.mktemp("pipe")
    assert run_cli(train.main, ["lifting", "--data", str(tiny_h36m), "--out", str(root / "l"), "--epochs", "1",
                                "--hidden", "16", "--blocks", "1", "--actions", "Walking", "--no-progress"]) == 0
    assert run_cli(train.main, ["grouping", "--num-scenes", "8", "--epochs", "1", "--hidden", "8",
                                "--out", str(root / "g"), "--no-progress"]) == 0
    return root


def test_pipeline_on_builtin_scenes(models, tmp_path, capsys):
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "bench/write_maps.py", "--scenes", "3", "--seed", "2", "--out",
                           str(tmp_path / "maps")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for decoder in ("gnn", "ae"):  # the AE decoder needs no classifier: well-grouped persons from a quick test
        out = tmp_path / decoder
        assert run_cli(predict.main, ["pipeline", "--grouping", str(models / "g" / "best.pt"), "--decoder", decoder,
                                      "--lifting", str(models / "l" / "best.pt"), "--maps", str(tmp_path / "maps"),
                                      "--out", str(out), "--viz", "1"]) == 0
        assert run_cli(predict.main, ["grouping", "--checkpoint", str(models / "g" / "best.pt"), "--decoder", decoder,
                                      "--maps", str(tmp_path / "maps"), "--out", str(tmp_path / f"p{decoder}")]) == 0
        results = json.loads((out / "results.json").read_text())
        assert results == json.loads((tmp_path / f"p{decoder}" / "results.json").read_text())  # grouping as it is
        poses = json.loads((out / "poses3d.json").read_text())
        lifted = {p["input_index"] for p in poses}
        for n, r in enumerate(results):  # every person with 13 of 17 keypoints and a torso gets a 3D pose
            k = np.array(r["keypoints"]).reshape(17, 3)
            if (k[:, 2] >= 0.1).sum() >= 13 and (k[[5, 6], 2] > 0).any() and (k[[11, 12], 2] > 0).any():
                assert n in lifted, n
        for p in poses:
            assert np.isfinite(p["joints_3d"]).all() and np.shape(p["joints_3d"]) == (16, 3)
            assert results[p["input_index"]]["image_id"] == p["image_id"]
    assert len(poses) >= 10  # the AE decoder's persons of 3 scenes (15 when written)
    assert (tmp_path / "ae" / "pipeline_1.png").stat().st_size > 0
    from tasks.grouping.results import count_persons, describe_counts
    printed = capsys.readouterr().out
    assert f"{describe_counts(results)} grouped; " in printed  # the AE decoder's, the last run
    persons, fragments = count_persons(results)
    assert persons + fragments == len(results) and persons >= 10


def test_crowdpose_person_conversion():
    # CrowdPose: l/r shoulder, elbow, wrist, hip, knee, ankle, head, neck.
    pose = np.array([[40, 25], [60, 25], [36, 40], [64, 40], [34, 55], [66, 55], [44, 60], [56, 60],
                     [43, 80], [57, 80], [42, 100], [58, 100], [50, 2], [50, 18]], dtype=float)
    j17 = dict(zip(H36M17.joint_names, crowdpose_to_h36m(pose, 17)))
    np.testing.assert_allclose(j17["Hip"], [50, 60]), np.testing.assert_allclose(j17["Thorax"], [50, 25])
    np.testing.assert_allclose(j17["Head"], [50, 2]), np.testing.assert_allclose(j17["Neck/Nose"], [50, 10])
    np.testing.assert_allclose(j17["RFoot"], [58, 100]), np.testing.assert_allclose(j17["LWrist"], [34, 55])
    kps = np.c_[pose, np.ones(14)]
    kps[[4, 12], 2] = 0  # left wrist and head missing: mirrored and filled from the face (the neck)
    c = convert_person(kps, 0.1, 17, dataset="crowdpose")
    assert c.filled == ["left_wrist", "head"]
    np.testing.assert_allclose(dict(zip(H36M17.joint_names, c.joints))["LWrist"], [34, 55])
    kps[[0, 1, 2, 3], 2] = 0  # 8 of 14 left: skipped
    assert convert_person(kps, 0.1, 17, dataset="crowdpose") is None
