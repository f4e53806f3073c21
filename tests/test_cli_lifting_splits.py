"""train.py lifting --train-subjects / --val-subjects, and evaluate.py lifting --subjects."""
import json

import numpy as np
import pytest
import torch

import evaluate
import train
from core.atomic_io import read_jsonl
from core.cli import run_cli
from core.errors import InputError
from datasets.h36m import load_h36m
from tasks.lifting import LiftingConfig, parse_subjects
from tests.test_cli_lifting import FAST, _fails


def _only_subjects(src, dst, keep):
    """A copy of the tiny data folder holding only the subjects `keep`."""
    dst.mkdir()
    for f in src.iterdir():
        with np.load(f, allow_pickle=True) as z:
            arrays = {k: z[k] for k in z.files}
        key = "positions_3d" if "positions_3d" in arrays else "positions_2d"
        d = arrays[key].item()
        arrays[key] = np.array({s: v for s, v in d.items() if s in keep}, dtype=object)
        np.savez(dst / f.name, **arrays)
    return dst


def test_validation_subjects_choose_best_and_are_scored(tiny_h36m, tmp_path):
    out = tmp_path / "run"
    args = ["lifting", "--data", str(tiny_h36m), "--out", str(out), "--train-subjects", "S1,S5,S6,S7",
            "--val-subjects", "S8", "--epochs", "2"] + FAST
    assert run_cli(train.main, args) == 0
    records = read_jsonl(out / "metrics.jsonl")
    ckpt = torch.load(out / "best.pt", weights_only=True)
    assert ckpt["config"]["train_subjects"] == ["S1", "S5", "S6", "S7"] and ckpt["config"]["val_subjects"] == ["S8"]
    assert ckpt["best_metric"] == min(r["MPJPE"] for r in records)
    # evaluate.py scores the subjects it is given: S8 reproduces the training run's validation number
    assert run_cli(evaluate.main, ["lifting", "--checkpoint", str(out / "best.pt"), "--subjects", "S8",
                                   "--out", str(tmp_path / "ev")]) == 0
    result = json.loads((tmp_path / "ev" / "eval.json").read_text())
    assert result["subjects"] == ["S8"] and result["MPJPE"] == pytest.approx(ckpt["best_metric"], rel=1e-5)


def test_no_validation_subjects_keep_the_last_epoch(tiny_h36m, tmp_path):
    out = tmp_path / "run"
    assert run_cli(train.main, ["lifting", "--data", str(tiny_h36m), "--out", str(out), "--val-subjects", "none",
                                "--epochs", "2"] + FAST) == 0
    records = read_jsonl(out / "metrics.jsonl")
    assert [r["MPJPE"] for r in records] == [None, None]
    best, last = (torch.load(out / n, weights_only=True) for n in ("best.pt", "last.pt"))
    assert best["epoch"] == last["epoch"] == 2
    for k in best["state_dict"]:
        assert torch.equal(best["state_dict"][k], last["state_dict"][k])
    assert (out / "loss_curve.png").stat().st_size > 0


def test_missing_subjects_name_the_flag_and_say_what_the_files_hold(tiny_h36m, tmp_path, capsys):
    five = _only_subjects(tiny_h36m, tmp_path / "five", {"S1", "S5", "S6", "S7", "S8"})
    base = ["lifting", "--data", str(five), "--out", str(tmp_path / "r")] + FAST
    _fails(train.main, base, capsys, "--val-subjects S9,S11: not in")
    capsys.readouterr()
    rc = run_cli(train.main, base)
    assert "hold S1, S5, S6, S7, S8" in capsys.readouterr().err and rc == 2
    _fails(train.main, base + ["--val-subjects", "S8"], capsys,
           "--val-subjects S8: also in --train-subjects")
    _fails(train.main, base + ["--train-subjects", "S1,S5", "--val-subjects", "S2"], capsys,
           "--val-subjects S2: not in")
    _fails(train.main, base + ["--val-subjects", "S12"], capsys, "--val-subjects 'S12': expected Human3.6M subjects")
    _fails(train.main, base + ["--train-subjects", "none"], capsys, "--train-subjects: no subject to train on")
    # A sequence missing from one file is still skipped, and the warning names that file only.
    with pytest.raises(InputError, match=r"subjects S9: not in .* hold S1, S5, S6, S7, S8"):
        load_h36m(five, "gt", 16, ["S9"])


def test_subject_lists_parse_and_old_checkpoints_keep_the_standard_split():
    assert parse_subjects("S1, S5,S6", "x") == ("S1", "S5", "S6") and parse_subjects("None", "x") == ()
    cfg = LiftingConfig().to_dict()
    del cfg["train_subjects"], cfg["val_subjects"]
    old = LiftingConfig.from_dict(cfg)
    assert old.train_subjects == ("S1", "S5", "S6", "S7", "S8") and old.val_subjects == ("S9", "S11")


def test_checkpoints_from_before_precision_resume_in_fp32():
    cfg = LiftingConfig().to_dict()
    del cfg["precision"], cfg["augment"]
    old = LiftingConfig.from_dict(cfg)
    assert old.precision == "fp32" and LiftingConfig().precision == "auto"
    assert old.augment == "none" and LiftingConfig().augment == "mirror"  # the default since S8 chose it


def test_resume_refuses_other_data_and_accepts_the_same_data_moved(tiny_h36m, tmp_path, capsys):
    import shutil
    out = tmp_path / "run"
    base = ["lifting", "--out", str(out)] + FAST
    assert run_cli(train.main, base + ["--data", str(tiny_h36m), "--epochs", "1"]) == 0
    moved = tmp_path / "moved"
    shutil.copytree(tiny_h36m, moved)
    assert run_cli(train.main, ["lifting", "--resume", str(out / "last.pt"), "--data", str(moved), "--epochs", "2",
                                "--no-progress"]) == 0
    other = tmp_path / "other"
    shutil.copytree(tiny_h36m, other)
    with np.load(other / "data_3d_h36m.npz", allow_pickle=True) as z:
        p3 = z["positions_3d"].item()
    p3["S1"]["Walking"] = p3["S1"]["Walking"] * 1.01
    np.savez(other / "data_3d_h36m.npz", positions_3d=np.array(p3, dtype=object))
    capsys.readouterr()
    assert run_cli(train.main, ["lifting", "--resume", str(out / "last.pt"), "--data", str(other), "--epochs", "3",
                                "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the data given now differ from the data the run trained on" in err


def test_evaluate_without_the_test_subjects_names_the_subjects_not_a_file(tiny_h36m, tmp_path, capsys):
    five = _only_subjects(tiny_h36m, tmp_path / "five", {"S1", "S5", "S6", "S7", "S8"})
    out = tmp_path / "run"
    assert run_cli(train.main, ["lifting", "--data", str(five), "--out", str(out), "--val-subjects", "S8",
                                "--train-subjects", "S1,S5,S6,S7", "--epochs", "1"] + FAST) == 0
    capsys.readouterr()
    _fails(evaluate.main, ["lifting", "--checkpoint", str(out / "best.pt"), "--actions", "Walking",
                           "--out", str(tmp_path / "e")], capsys, "--subjects S9,S11: not in")
