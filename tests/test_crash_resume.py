"""Crash safety: a run killed with SIGKILL mid-epoch and resumed from `last.pt` ends exactly
like an uninterrupted run; two runs with one seed are identical; a NaN loss stops the run."""
import os
import signal
import subprocess
import sys
import time

import torch

import train
from core.cli import run_cli
from core.atomic_io import read_jsonl
from tests.conftest import REPO

TIMING = ("seconds", "train_poses_per_s", "first_step_seconds")  # wall-clock fields, the only ones allowed to differ


def _args(data, out, epochs):
    return ["lifting", "--data", str(data), "--out", str(out), "--seed", "4", "--epochs", str(epochs),
            "--actions", "Walking,Eating", "--hidden", "16", "--blocks", "1", "--batch-size", "2",
            "--no-progress"]


def _untimed(records):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in records]


def _env():
    return dict(os.environ, OMP_NUM_THREADS="1")


def _weights(path):
    return torch.load(path, weights_only=True)["state_dict"]


def test_sigkill_in_epoch_3_then_resume_equals_straight_run(tiny_h36m, tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    cmd = [sys.executable, "train.py"]
    done = subprocess.run(cmd + _args(tiny_h36m, straight, 4), cwd=REPO, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    proc = subprocess.Popen(cmd + _args(tiny_h36m, killed, 4), cwd=REPO, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:  # epoch lines are printed after the epoch's files are written
        if line.startswith("epoch   2"):
            time.sleep(0.3)  # well inside epoch 3 (an epoch takes about a second or more)
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    logged = read_jsonl(killed / "metrics.jsonl")
    assert [r["epoch"] for r in logged] == [1, 2]  # killed during epoch 3
    assert not list(killed.glob(".*.tmp"))  # no temporary file left behind
    assert torch.load(killed / "last.pt", weights_only=True)["epoch"] == 2
    resumed = subprocess.run(cmd + _args(tiny_h36m, killed, 4) + ["--resume", str(killed / "last.pt")],
                             cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    a, b = read_jsonl(straight / "metrics.jsonl"), read_jsonl(killed / "metrics.jsonl")
    assert [r["epoch"] for r in b] == [1, 2, 3, 4]
    assert _untimed(a) == _untimed(b)
    for name in ("last.pt", "best.pt"):
        wa, wb = _weights(straight / name), _weights(killed / name)
        assert wa.keys() == wb.keys()
        for k in wa:
            assert torch.equal(wa[k], wb[k]), k


def test_same_seed_gives_identical_runs(tiny_h36m, tmp_path):
    for name in ("a", "b"):
        assert run_cli(train.main, _args(tiny_h36m, tmp_path / name, 2)[:-1] + ["--batch-size", "64",
                                                                               "--no-progress"]) == 0
    a, b = read_jsonl(tmp_path / "a" / "metrics.jsonl"), read_jsonl(tmp_path / "b" / "metrics.jsonl")
    assert len(a) == 2 and _untimed(a) == _untimed(b)
    wa, wb = _weights(tmp_path / "a" / "last.pt"), _weights(tmp_path / "b" / "last.pt")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tiny_h36m, tmp_path, capsys,
                                                                   monkeypatch):
    out = tmp_path / "run"
    assert run_cli(train.main, _args(tiny_h36m, out, 1)[:-1] + ["--batch-size", "64", "--no-progress"]) == 0
    good = _weights(out / "last.pt")
    from tasks.lifting import training
    real = training.lifting_loss
    monkeypatch.setattr(training, "lifting_loss", lambda pred, target, l1=0.0: real(pred, target, l1) * float("nan"))
    capsys.readouterr()
    rc = run_cli(train.main, _args(tiny_h36m, out, 3)[:-1] + ["--batch-size", "64", "--no-progress",
                                                             "--resume", str(out / "last.pt")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 3 and len(err) == 1
    assert "epoch 2: training loss is nan; stopped, the last good checkpoint is" in err[0]
    assert [r["epoch"] for r in read_jsonl(out / "metrics.jsonl")] == [1]
    kept = torch.load(out / "last.pt", weights_only=True)
    assert kept["epoch"] == 1 and all(torch.equal(kept["state_dict"][k], good[k]) for k in good)


def test_grouping_non_finite_loss_stops(tmp_path, capsys, monkeypatch):
    from tasks.grouping import training
    monkeypatch.setattr(training, "grouping_loss", lambda logits, labels, pw: logits.sum() * float("inf"))
    rc = run_cli(train.main, ["grouping", "--num-scenes", "6", "--epochs", "2", "--hidden", "8",
                              "--out", str(tmp_path / "g"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 3 and len(err) == 1
    assert "epoch 1: training loss is" in err[0] and "no checkpoint was written" in err[0]
    assert not (tmp_path / "g" / "last.pt").exists() and not (tmp_path / "g" / "metrics.jsonl").exists()
