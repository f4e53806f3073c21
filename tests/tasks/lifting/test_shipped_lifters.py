"""The lifters shipped in checkpoints/: each loads, rebuilds, predicts finite root-relative poses,
and its card states what the file holds; commands take them by name."""
import hashlib
import json

import numpy as np
import pytest
import torch

import evaluate
import predict
from core.checkpoint import rebuild_model
from core.cli import run_cli
from datasets.h36m import TEST_SUBJECTS, load_h36m
from datasets.pose_graph import SkeletonBatcher
from datasets.skeleton import SKELETONS
from tasks import lifting
from tasks.lifting.original import load_lifting_checkpoint
from tests.conftest import strings_in
from tasks.lifting.shipped import DEFAULT_FOR_H36M, SHIPPED, card_facts, read_card, resolve_lifter, shipped_path


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_shipped_lifter_loads_predicts_and_matches_its_card(name, tiny_h36m):
    path = shipped_path(name)
    assert path.exists() and path.stat().st_size < 8 * 2 ** 20  # a few MB
    ckpt = load_lifting_checkpoint(path)
    assert "optimizer" not in ckpt and ckpt["shipped"] == name
    model = rebuild_model(ckpt, path, lifting.model_from_spec).eval()
    assert lifting.count_parameters(model) <= 1_000_000
    skeleton = SKELETONS[ckpt["skeleton"]]
    poses = load_h36m(tiny_h36m, "gt", skeleton.num_joints, TEST_SUBJECTS, ["Walking"])
    pred = lifting.predict_all(model, SkeletonBatcher(skeleton, torch.from_numpy(poses.x2d)), 256)
    assert torch.isfinite(pred).all() and pred.shape == (len(poses), skeleton.num_joints, 3)
    assert 0.05 < float(pred.abs().max()) < 3  # metres: a body, not noise or zeros
    card = read_card(name)
    facts = card_facts(ckpt, hashlib.sha256(path.read_bytes()).hexdigest(), card["validation"])
    assert json.loads(json.dumps(facts)) == card  # the card states what the file holds, hash included
    assert card["config"]["val_subjects"] == [] and set(card["train_subjects"]) == {"S1", "S5", "S6", "S7", "S8"}
    assert card["keypoints"] == ("gt" if name == "h36m-gt" else "sh_pt_mpii")
    assert card["validation"]["subjects"] == ["S8"] and card["validation"]["MPJPE"] > 0
    text = (path.with_suffix(".md")).read_text()
    assert "research use only" in text and f"MPJPE {card['validation']['MPJPE']:.1f} mm" in text
    # no path of the training machine in the file or the card; the card says how to reproduce the file
    in_file = strings_in({k: v for k, v in ckpt.items() if k != "state_dict"})
    assert not [t for t in in_file + [text] if "/work/" in t or "/home/" in t or "/root/" in t]
    assert all(not t.startswith("/") for t in in_file), in_file
    assert "python train.py lifting --data DIR" in text and f"--out runs/{name}" in text


def test_commands_take_shipped_names(tmp_path, tiny_h36m, capsys):
    assert resolve_lifter(None) == str(shipped_path(DEFAULT_FOR_H36M))
    assert resolve_lifter("h36m-gt") == str(shipped_path("h36m-gt")) and resolve_lifter("x/best.pt") == "x/best.pt"
    pixels = np.full((2, 16, 2), 500.0) + np.random.default_rng(0).normal(0, 80, (2, 16, 2))
    np.save(tmp_path / "p.npy", pixels)
    assert run_cli(predict.main, ["lifting", "--keypoints", str(tmp_path / "p.npy"), "--format", "h36m16",
                                  "--image-size", "1000", "1000", "--out", str(tmp_path / "o")]) == 0
    got = json.loads((tmp_path / "o" / "poses3d.json").read_text())
    assert len(got) == 2 and np.isfinite(got[0]["joints_3d"]).all() and got[0]["joints_3d"][0] == [0, 0, 0]
    assert run_cli(evaluate.main, ["lifting", "--checkpoint", "h36m-gt", "--data", str(tiny_h36m),
                                   "--out", str(tmp_path / "e")]) == 0
    assert json.loads((tmp_path / "e" / "eval.json").read_text())["subjects"] == list(TEST_SUBJECTS)


def test_without_checkpoint_the_lifter_follows_the_input(tmp_path, monkeypatch, capsys):
    """Photos (COCO order: results files, 17-joint arrays) get DEFAULT_FOR_PHOTOS, Human3.6M
    arrays (--format h36m16/h36m17, or 16 joints) DEFAULT_FOR_H36M; the output names which."""
    from tasks.lifting import shipped
    from tests.datasets.test_coco_to_h36m import POSE
    monkeypatch.setattr(shipped, "DEFAULT_FOR_PHOTOS", "h36m-gt")  # two distinct files stand in
    assert shipped.default_lifter("coco") == "h36m-gt" and shipped.default_lifter("h36m17") == "h36m-sh"
    res = [{"image_id": 0, "category_id": 1, "keypoints": np.c_[POSE * 4, np.full(17, 0.9)].ravel().tolist(), "score": 0.9}]
    (tmp_path / "r.json").write_text(json.dumps(res))
    np.save(tmp_path / "c.npy", np.c_[POSE * 4, np.full(17, 0.9)][None])
    h36m = np.full((1, 16, 2), 500.0) + np.random.default_rng(0).normal(0, 80, (1, 16, 2))
    np.save(tmp_path / "h.npy", h36m)
    for keypoints, extra, expected in (("r.json", [], "h36m-gt"), ("c.npy", [], "h36m-gt"),
                                       ("h.npy", [], "h36m-sh"), ("c.npy", ["--format", "h36m17", "--force"], "h36m-sh")):
        out = tmp_path / f"o-{keypoints}-{len(extra)}"
        assert run_cli(predict.main, ["lifting", "--keypoints", str(tmp_path / keypoints), "--image-size", "1000", "1000",
                                      "--out", str(out), *extra]) == 0
        assert json.loads((out / "poses3d.json").read_text())[0]["lifter"]["name"] == expected
        assert capsys.readouterr().out.startswith(f"lifter: {expected} ")
