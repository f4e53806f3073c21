"""predict.py lifting: 3D from a COCO results file and from arrays, equal to the lifter on the
same poses as training normalises them; bad input in one line."""
import json

import numpy as np
import pytest
import torch

import predict
import train
from core.cli import run_cli
from datasets.cameras import h36m_cameras, unnormalize_screen
from datasets.h36m import TEST_SUBJECTS, load_h36m
from datasets.pose_graph import SkeletonBatcher
from datasets.skeleton import H36M16
from tasks import lifting
from tests.datasets.test_coco_to_h36m import POSE


@pytest.fixture(scope="module")
def lifter(tiny_h36m, tmp_path_factory):
    out = tmp_path_factory.mktemp("lift")
    assert run_cli(train.main, ["lifting", "--data", str(tiny_h36m), "--out", str(out), "--epochs", "1",
                                "--hidden", "16", "--blocks", "1", "--actions", "Walking", "--no-progress"]) == 0
    return out / "best.pt"


def test_arrays_in_pixels_give_what_the_lifter_gives_on_the_test_poses(lifter, tiny_h36m, tmp_path):
    test = load_h36m(tiny_h36m, "gt", 16, TEST_SUBJECTS, ["Walking"])
    cam = h36m_cameras()["S9"][1]
    pick = np.nonzero((test.subject == 0) & (test.camera == 1))[0]
    pixels = unnormalize_screen(test.x2d[pick].astype(np.float64), cam.width, cam.height)
    np.save(tmp_path / "poses.npy", pixels)
    assert run_cli(predict.main, ["lifting", "--checkpoint", str(lifter), "--keypoints", str(tmp_path / "poses.npy"),
                                  "--format", "h36m16", "--image-size", str(cam.width), str(cam.height),
                                  "--out", str(tmp_path / "o")]) == 0
    got = json.loads((tmp_path / "o" / "poses3d.json").read_text())
    ckpt = torch.load(lifter, weights_only=True)
    model = lifting.model_from_spec(ckpt["model"])
    model.load_state_dict(ckpt["state_dict"])
    raw = lifting.predict_all(model, SkeletonBatcher(H36M16, torch.from_numpy(test.x2d[pick])), 64).numpy()
    assert np.abs(raw[:, 0]).max() > 1e-3  # the model's own root is not at zero ...
    ref = raw - raw[:, :1]  # ... the output is root-relative, as MPJPE scores it
    assert len(got) == len(pick) and got[0]["joint_names"] == list(H36M16.joint_names)
    joints = np.array([g["joints_3d"] for g in got])
    assert np.all(joints[:, 0] == 0)
    np.testing.assert_allclose(joints, ref, atol=2e-5)

    # --flip-test: each pose averaged with its mirror image, as evaluate.py lifting --flip-test does.
    assert run_cli(predict.main, ["lifting", "--checkpoint", str(lifter), "--keypoints", str(tmp_path / "poses.npy"),
                                  "--format", "h36m16", "--image-size", str(cam.width), str(cam.height),
                                  "--flip-test", "--out", str(tmp_path / "f")]) == 0
    flipped = np.array([g["joints_3d"] for g in json.loads((tmp_path / "f" / "poses3d.json").read_text())])
    ref_f = lifting.predict_all(model, SkeletonBatcher(H36M16, torch.from_numpy(test.x2d[pick])), 64, flip=True).numpy()
    ref_f = ref_f - ref_f[:, :1]
    np.testing.assert_allclose(flipped, ref_f, atol=2e-5)
    assert np.abs(flipped - ref).max() > 1e-3


def test_coco_results_file_with_missing_keypoints(lifter, tmp_path, capsys):
    full = np.c_[POSE * 4, np.full(17, 0.9)]
    some = full.copy()
    some[[9, 15], 2] = 0  # two missing: filled
    few = full.copy()
    few[:6, 2] = 0.01  # 11 present: skipped
    res = [{"image_id": i, "category_id": 1, "keypoints": k.ravel().tolist(), "score": 0.7, "id": 101 + i}
           for i, k in enumerate((few, full, some))]  # the skipped person first: nothing may shift
    (tmp_path / "r.json").write_text(json.dumps(res))
    (tmp_path / "gt.json").write_text(json.dumps({"images": [{"id": i, "width": 640, "height": 480} for i in range(3)]}))
    assert run_cli(predict.main, ["lifting", "--checkpoint", str(lifter), "--keypoints", str(tmp_path / "r.json"),
                                  "--images", str(tmp_path / "gt.json"), "--out", str(tmp_path / "o"),
                                  "--viz", "1"]) == 0
    assert "2 persons lifted, 1 skipped" in capsys.readouterr().out
    got = json.loads((tmp_path / "o" / "poses3d.json").read_text())
    assert [g["image_id"] for g in got] == [1, 2] and got[1]["filled"] == ["left_wrist", "left_ankle"]
    assert [g["input_index"] for g in got] == [1, 2] and [g["id"] for g in got] == [102, 103]
    assert all(np.isfinite(g["joints_3d"]).all() and np.shape(g["joints_3d"]) == (16, 3) for g in got)
    assert (tmp_path / "o" / "person_001_image_1.png").stat().st_size > 0  # named by its input index


@pytest.mark.parametrize("extra,pattern", [
    (["--image-size", "640", "480", "--images", "TMP/p.npy"], "--images and --image-size: give one of them"),
    (["--image-size", "0", "480"], "--image-size 0: must be > 0"),
    ([], "image sizes are needed to normalise the 2D input: give --images or --image-size"),
])
def test_bad_input_one_line(lifter, tmp_path, capsys, extra, pattern):
    np.save(tmp_path / "p.npy", np.ones((2, 17, 2)))
    extra = [e.replace("TMP", str(tmp_path)) for e in extra]  # an existing file: the paths are checked first
    rc = run_cli(predict.main, ["lifting", "--checkpoint", str(lifter), "--keypoints", str(tmp_path / "p.npy"),
                                "--out", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and pattern in err, err


def test_focal_turns_the_camera_for_pose_normalised_lifters(tiny_h36m, lifter, tmp_path, capsys):
    out = tmp_path / "pose"
    assert run_cli(train.main, ["lifting", "--data", str(tiny_h36m), "--out", str(out), "--epochs", "1",
                                "--hidden", "16", "--blocks", "1", "--actions", "Walking", "--input-norm", "pose",
                                "--no-progress"]) == 0
    j = POSE * 3
    centred = j - (j[11] + j[12]) / 2 + np.array([320.0, 240.0])  # the pelvis at the image centre
    np.save(tmp_path / "c.npy", np.c_[centred, np.ones(17)][None])
    args = ["lifting", "--checkpoint", str(out / "best.pt"), "--keypoints", str(tmp_path / "c.npy"),
            "--image-size", "640", "480"]
    assert run_cli(predict.main, args + ["--out", str(tmp_path / "a")]) == 0
    assert run_cli(predict.main, args + ["--focal", "600", "--out", str(tmp_path / "b")]) == 0
    a, b = (json.loads((tmp_path / d / "poses3d.json").read_text())[0]["joints_3d"] for d in "ab")
    np.testing.assert_allclose(a, b, atol=1e-5)  # on the axis nothing turns
    capsys.readouterr()
    rc = run_cli(predict.main, ["lifting", "--checkpoint", str(lifter), "--keypoints", str(tmp_path / "c.npy"),
                                "--image-size", "640", "480", "--focal", "600", "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert rc == 2 and "needs a positive focal length and a lifter trained with --input-norm pose" in err
