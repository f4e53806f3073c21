"""Grouping inputs checked as a set: map folders of one tag dimension and float32's range, a
training split that is not empty, pairs of both classes; a resume that would change the cosine
schedule's length; evaluation seeds."""
import json

import numpy as np
import pytest

import evaluate
import train
from core.cli import run_cli
from core.errors import InputError
from datasets.ae_maps import read_ae_maps
from datasets.synthetic.ae_maps import SynthConfig, synthesize_maps
from datasets.coco import persons_by_image, quiet_coco
from datasets.synthetic.scenes import synthetic_scenes

FAST = ["--hidden", "8", "--epochs", "1", "--no-progress"]


def _one_line(capsys, rc, pattern):
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and pattern in lines[0], err


def _scenes_with_maps(tmp_path, n=4, people=2, tag_dims=None, **synth):
    scenes = synthetic_scenes(n, seed=4, num_people=people)
    (tmp_path / "a.json").write_text(json.dumps(scenes))
    gt = quiet_coco(scenes)
    by_image = persons_by_image(gt, 17)
    (tmp_path / "maps").mkdir()
    rng = np.random.default_rng(0)
    for k, (i, img) in enumerate(sorted(gt.imgs.items())):
        cfg = SynthConfig(tag_dim=(tag_dims or {}).get(k, 1), **synth)
        synthesize_maps(img["width"], img["height"], by_image[i][2], 17, cfg, rng).save(tmp_path / "maps" / f"{i}.npz")
    return tmp_path / "a.json", tmp_path / "maps"


def test_a_map_folder_has_one_tag_dimension(tmp_path, capsys):
    ann, maps = _scenes_with_maps(tmp_path, tag_dims={2: 2})
    rc = run_cli(train.main, ["grouping", "--annotations", str(ann), "--maps", str(maps), "--out",
                              str(tmp_path / "r"), "--graph-cache", "none", *FAST])
    _one_line(capsys, rc, "3.npz: tags have 2 dimension(s), the folder's first file 1.npz has 1")


def test_values_beyond_float32_are_an_error(tmp_path):
    ann, maps = _scenes_with_maps(tmp_path, n=1)
    with np.load(maps / "1.npz") as f:
        arrays = dict(f)
    arrays["tags"] = arrays["tags"].astype(np.float64)
    arrays["tags"][0, 0, 0] = 1e300  # finite, so the NaN check passes; inf once read as float32
    np.savez(maps / "1.npz", **arrays)
    with pytest.raises(InputError, match=r"^1.npz: 'tags' has values beyond float32's range \(up to 1e\+300\)$"):
        read_ae_maps(maps, 1, 17)


def test_no_training_images_is_an_error(tmp_path, capsys):
    rc = run_cli(train.main, ["grouping", "--num-scenes", "2", "--val-fraction", "0.9", "--out",
                              str(tmp_path / "r"), *FAST])
    _one_line(capsys, rc, "--val-fraction 0.9: leaves none of the 2 image(s) of annotations.json for training")


def test_pairs_of_one_class_only_are_an_error(tmp_path, capsys):
    """One person per image and no false peaks: every candidate pair is positive, so edge AP (the
    metric best.pt is chosen by) is undefined; the run once claimed to write a best.pt it never wrote."""
    ann, maps = _scenes_with_maps(tmp_path, people=1, false_positives=0.0, miss_prob=0.0)
    rc = run_cli(train.main, ["grouping", "--annotations", str(ann), "--maps", str(maps), "--out",
                              str(tmp_path / "r"), "--graph-cache", "none", *FAST])
    _one_line(capsys, rc, "the training images have only positive candidate pairs")
    assert not (tmp_path / "r" / "best.pt").exists()


def test_resume_cannot_change_a_cosine_schedules_length(tmp_path, capsys):
    out = tmp_path / "c"
    assert run_cli(train.main, ["grouping", "--num-scenes", "6", "--lr-schedule", "cosine", "--out", str(out),
                                *FAST]) == 0
    capsys.readouterr()
    rc = run_cli(train.main, ["grouping", "--resume", str(out / "last.pt"), "--epochs", "3"])
    _one_line(capsys, rc, "--epochs 3: the run of")
    rc = run_cli(evaluate.main, ["grouping", "--checkpoint", str(out / "last.pt"), "--annotations",
                                 str(out / "annotations.json"), "--seed", "-5"])
    _one_line(capsys, rc, "--seed -5: must be in [0, 4294967295]")


def test_resume_refuses_other_annotations(tmp_path, capsys):
    out = tmp_path / "run"
    base = ["grouping", "--num-scenes", "6", "--epochs", "1", "--hidden", "8", "--no-progress"]
    assert run_cli(train.main, base + ["--out", str(out)]) == 0
    other = tmp_path / "other.json"
    d = json.loads((out / "annotations.json").read_text())
    d["annotations"] = d["annotations"][:-1]
    other.write_text(json.dumps(d))
    capsys.readouterr()
    rc = run_cli(train.main, ["grouping", "--resume", str(out / "last.pt"), "--annotations", str(other),
                              "--epochs", "2", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "the data given now differ from the data the run trained on" in err
    assert run_cli(train.main, ["grouping", "--resume", str(out / "last.pt"), "--epochs", "2", "--no-progress"]) == 0
