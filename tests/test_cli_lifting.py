import json
import subprocess
import sys

import pytest
import torch

import evaluate
import train
from core.cli import run_cli
from core.atomic_io import read_jsonl
from core.checkpoint import save_checkpoint
from tests.conftest import REPO

FAST = ["--actions", "Walking,Eating", "--hidden", "32", "--blocks", "1", "--no-progress"]


@pytest.mark.parametrize("model", ["semgcn", "modulated", "graformer"])
def test_train_evaluate_resume_end_to_end(tiny_h36m, tmp_path, model):
    out = tmp_path / "run"
    args = ["lifting", "--data", str(tiny_h36m), "--out", str(out), "--seed", "1", "--model", model,
            "--lr-decay", "0.9", "--lr-decay-steps", "2"] + FAST
    assert run_cli(train.main, args + ["--epochs", "2"]) == 0
    records = read_jsonl(out / "metrics.jsonl")
    assert [r["epoch"] for r in records] == [1, 2]
    assert records[1]["lr"] < records[0]["lr"] < 1e-3  # the schedule's flags reach the run
    for key in ("epoch", "lr", "loss", "MPJPE", "P-MPJPE", "seconds", "train_poses_per_s"):
        assert key in records[0]
    assert records[1]["loss"] < records[0]["loss"]
    for name in ("best.pt", "last.pt", "loss_curve.png"):
        assert (out / name).stat().st_size > 0
    ckpt = torch.load(out / "last.pt", weights_only=True)
    assert ckpt["task"] == "lifting" and ckpt["epoch"] == 2 and ckpt["skeleton"] == "h36m16"
    assert ckpt["model"]["class"] == ("GraFormer" if model == "graformer" else "SemGCN")
    assert ckpt["config"]["model"]["hidden"] == 32 and ckpt["config"]["model"]["name"] == model

    # Resume for one more epoch: the same as training 3 epochs straight.
    assert run_cli(train.main, args + ["--epochs", "3", "--resume", str(out / "last.pt")]) == 0
    straight = tmp_path / "straight"
    assert run_cli(train.main, ["lifting", "--data", str(tiny_h36m), "--out", str(straight),
                                "--seed", "1", "--epochs", "3", "--model", model,
                                "--lr-decay", "0.9", "--lr-decay-steps", "2"] + FAST) == 0
    resumed, direct = read_jsonl(out / "metrics.jsonl"), read_jsonl(straight / "metrics.jsonl")
    assert [r["epoch"] for r in resumed] == [1, 2, 3]
    for a, b in zip(resumed, direct):
        assert a["loss"] == b["loss"] and a["MPJPE"] == b["MPJPE"]

    # Evaluate rebuilds the model from the checkpoint alone (a subprocess, as a user runs it).
    ev = tmp_path / "eval"
    proc = subprocess.run([sys.executable, "evaluate.py", "lifting", "--checkpoint",
                           str(out / "best.pt"), "--out", str(ev), "--viz", "2", "--flip-test"],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Average" in proc.stdout and "Walking" in proc.stdout and "with flip test" in proc.stdout
    result = json.loads((ev / "eval.json").read_text())
    assert set(result["per_action"]) == {"Walking", "Eating"}
    best = min(r["MPJPE"] for r in resumed)
    assert result["MPJPE"] == pytest.approx(best, rel=1e-5)  # without flipping: the training protocol
    flipped = result["flip_test"]
    assert set(flipped["per_action"]) == {"Walking", "Eating"} and flipped["MPJPE"] != result["MPJPE"]
    assert abs(flipped["MPJPE"] - result["MPJPE"]) < 0.2 * result["MPJPE"]
    assert (ev / "example_00.png").exists() and (ev / "example_01.png").exists()


def _fails(main, argv, capsys, pattern):
    rc = run_cli(main, argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert pattern in lines[0], lines[0]


def test_bad_command_lines(tiny_h36m, tmp_path, capsys):
    base = ["lifting", "--out", str(tmp_path / "r")]
    _fails(train.main, base + ["--model", "transformer"], capsys, "argument --model: invalid choice: 'transformer'")
    _fails(train.main, base + ["--epochs", "0"], capsys, "--epochs 0: must be >= 1")
    _fails(train.main, base + ["--batch-size", "-3"], capsys, "--batch-size -3: must be >= 1")
    _fails(train.main, base + ["--joints", "15"], capsys, "argument --joints: invalid choice: 15")
    _fails(train.main, base + ["--lr-decay", "0"], capsys, "--lr-decay 0: must be > 0")
    _fails(train.main, base + ["--model", "graformer", "--hidden", "30"], capsys,
           "--hidden 30: graformer needs a multiple of its 4 heads")
    _fails(train.main, base + ["--model", "modulated", "--joints", "17", "--dropout", "1.5"], capsys,
           "--dropout 1.5: must be in [0, 1]")
    _fails(train.main, base + ["--epochs", "two"], capsys, "--epochs two: not an integer")
    _fails(train.main, base + ["--keypoints", "cpn_ft_h36m_dbb"], capsys,
           "the built-in synthetic data has only gt keypoints")
    _fails(train.main, base + ["--data", str(tiny_h36m), "--keypoints", "detectron"], capsys,
           "--keypoints detectron: unknown keypoints")
    _fails(train.main, base + ["--data", str(tmp_path / "nowhere")], capsys,
           "nowhere: folder not found (--data)")
    (tmp_path / "file").write_text("x")
    _fails(train.main, ["lifting", "--out", str(tmp_path / "file")], capsys,
           "is a file, expected a folder")
    if not torch.cuda.is_available():
        _fails(train.main, base + ["--device", "cuda"], capsys, "--device cuda: no CUDA device")


def test_unwritable_output_folder(tmp_path, capsys, monkeypatch):
    import os
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    # Tests may run as root, for whom a read-only mode is no obstacle: deny through os.access.
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(locked) else real(p, mode))
    _fails(train.main, ["lifting", "--out", str(locked)], capsys, f"--out {locked}: folder is not writable")
    _fails(train.main, ["grouping", "--out", str(locked)], capsys, f"--out {locked}: folder is not writable")


def test_bad_checkpoints(tmp_path, capsys):
    ev = ["lifting", "--out", str(tmp_path / "e"), "--checkpoint"]
    _fails(evaluate.main, ev + [str(tmp_path / "none.pt")], capsys, "checkpoint not found")
    (tmp_path / "junk.pt").write_bytes(b"\x00garbage" * 10)
    _fails(evaluate.main, ev + [str(tmp_path / "junk.pt")], capsys, "junk.pt: not a PyTorch checkpoint file (other data")
    save_checkpoint(tmp_path / "other.pt", {"task": "grouping", "model": {}, "state_dict": {}, "config": {}})
    _fails(evaluate.main, ev + [str(tmp_path / "other.pt")], capsys,
           "other.pt: is a grouping checkpoint, expected lifting")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    _fails(evaluate.main, ev + [str(tmp_path / "foreign.pt")], capsys, "foreign.pt: not a PoseGraph checkpoint")


def test_checkpoint_of_another_model(tiny_h36m, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli(train.main, ["lifting", "--data", str(tiny_h36m), "--out", str(out),
                                "--epochs", "1", "--model", "semgcn"] + FAST) == 0
    capsys.readouterr()
    _fails(train.main, ["lifting", "--data", str(tiny_h36m), "--out", str(out), "--model", "gcn",
                        "--resume", str(out / "last.pt")] + FAST, capsys,
           "--model gcn: the run of " + str(out / "last.pt") + " has semgcn; a resume continues its settings")
    ckpt = torch.load(out / "last.pt", weights_only=True)
    ckpt["state_dict"] = {k: v for k, v in ckpt["state_dict"].items() if "output" not in k}
    save_checkpoint(tmp_path / "cut.pt", ckpt)
    _fails(evaluate.main, ["lifting", "--checkpoint", str(tmp_path / "cut.pt"), "--out",
                           str(tmp_path / "e")], capsys, "cut.pt: weights do not fit the model")
    data = (tmp_path / "run" / "last.pt").read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    _fails(evaluate.main, ["lifting", "--checkpoint", str(tmp_path / "trunc.pt")], capsys,
           "trunc.pt: not a readable checkpoint")
