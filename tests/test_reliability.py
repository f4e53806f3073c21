"""Second reliability pass: a run killed at any write point resumes to the same files; a resume
continues the run it names; one run per output folder; full disks, unreadable states, unknown
settings, bad seeds and units are one line (exit 2); strict JSON."""
import errno
import json
import os

import pytest
import torch

import evaluate
import train
from core import faults
from core.atomic_io import read_jsonl, write_json
from core.checkpoint import save_checkpoint
from core.cli import run_cli
from core.run_lock import run_lock

TIMING = ("seconds", "train_poses_per_s", "first_step_seconds")
POINTS = ["metrics#2", "best#2", "last#2", "write last.pt#2", "write best.pt#2", "write metrics.jsonl#2"]


def _args(data, out, epochs=3, *extra):
    return ["lifting", "--data", str(data), "--out", str(out), "--seed", "2", "--epochs", str(epochs),
            "--actions", "Walking,Eating", "--hidden", "16", "--blocks", "1", "--batch-size", "8",
            "--downsample", "2", "--no-progress", *extra]


def _untimed(path):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in read_jsonl(path)]


def _same_run(a, b):
    assert _untimed(a / "metrics.jsonl") == _untimed(b / "metrics.jsonl")
    for name in ("last.pt", "best.pt"):
        ca, cb = (torch.load(p / name, weights_only=True) for p in (a, b))
        assert ca["epoch"] == cb["epoch"] and ca["best_metric"] == cb["best_metric"], name
        assert all(torch.equal(ca["state_dict"][k], cb["state_dict"][k]) for k in ca["state_dict"]), name


def _one_line(capsys, rc, pattern):
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and pattern in lines[0], err
    return lines[0]


@pytest.fixture(scope="module")
def straight(tiny_h36m, tmp_path_factory):
    out = tmp_path_factory.mktemp("straight")
    assert run_cli(train.main, _args(tiny_h36m, out)) == 0
    assert [r["epoch"] for r in read_jsonl(out / "metrics.jsonl")] == [1, 2, 3]
    return out


@pytest.mark.parametrize("point", POINTS)
def test_killed_at_each_write_point_then_resumed_equals_a_straight_run(point, straight, tiny_h36m, tmp_path,
                                                                      monkeypatch):
    out = tmp_path / "killed"
    monkeypatch.setenv("POSEGRAPH_FAULT", point)
    faults.reset()
    with pytest.raises(faults.InjectedFault):
        run_cli(train.main, _args(tiny_h36m, out))
    monkeypatch.delenv("POSEGRAPH_FAULT")
    assert run_cli(train.main, ["lifting", "--resume", str(out / "last.pt")]) == 0  # nothing else given
    _same_run(straight, out)


def test_resume_continues_the_run_it_names(straight, tiny_h36m, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli(train.main, _args(tiny_h36m, out, 2, "--lr", "0.002")) == 0
    capsys.readouterr()
    # Given alone, the resume takes the run's data, downsampling, rate and folder, not today's defaults.
    os.chdir(tmp_path)
    assert run_cli(train.main, ["lifting", "--resume", str(out / "last.pt"), "--epochs", "3"]) == 0
    said = capsys.readouterr().out
    assert f"resuming {out / 'last.pt'} after epoch 2: its settings, changed: --epochs 2 -> 3" in said
    ckpt = torch.load(out / "last.pt", weights_only=True)
    assert ckpt["epoch"] == 3 and ckpt["config"]["epochs"] == 3 and ckpt["config"]["downsample"] == 2
    assert ckpt["config"]["lr"] == 0.002 and ckpt["config"]["out"] == str(out)
    assert ckpt["resumes"] == [{"at_epoch": 3, "changed": {"epochs": [2, 3]}}]
    assert not (tmp_path / "runs").exists()
    rc = run_cli(train.main, ["lifting", "--resume", str(out / "last.pt"), "--lr", "0.01"])
    _one_line(capsys, rc, "--lr 0.01: the run of")
    rc = run_cli(train.main, ["lifting", "--resume", str(out / "last.pt"), "--out", str(tmp_path / "else")])
    _one_line(capsys, rc, "a resume continues in the folder of")


def test_a_second_run_into_one_folder_stops_and_a_stale_lock_does_not(tiny_h36m, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    with run_lock(out):  # a live run holds the folder
        rc = run_cli(train.main, _args(tiny_h36m, out, 1))
        _one_line(capsys, rc, f"another run (process {os.getpid()}) is writing into this folder")
    (out / ".lock").write_text("999999\n")  # a killed run's lock file: no process holds the flock
    assert run_cli(train.main, _args(tiny_h36m, out, 1)) == 0


def test_disk_full_is_one_line_and_keeps_what_was_written(tiny_h36m, tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert run_cli(train.main, _args(tiny_h36m, out, 1)) == 0
    before = (out / "last.pt").read_bytes(), (out / "metrics.jsonl").read_text()

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("core.atomic_io.os.fsync", full)
    capsys.readouterr()
    rc = run_cli(train.main, ["lifting", "--resume", str(out / "last.pt"), "--epochs", "2"])
    _one_line(capsys, rc, "metrics.jsonl: cannot write (No space left on device)")
    assert ((out / "last.pt").read_bytes(), (out / "metrics.jsonl").read_text()) == before
    assert not list(out.glob(".*.tmp"))


def test_strict_json_writes_null_for_nan_and_says_so(tmp_path):
    with pytest.warns(UserWarning) as w:
        write_json(tmp_path / "eval.json", {"AP": float("nan"), "per": {"x": [1.0, float("inf")]}})
    text = (tmp_path / "eval.json").read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert json.loads(text) == {"AP": None, "per": {"x": [1.0, None]}}
    assert [str(m.message) for m in w] == [f"{tmp_path / 'eval.json'}: AP is nan (undefined); written as null",
                                           f"{tmp_path / 'eval.json'}: per.x[1] is inf (undefined); written as null"]


def test_checkpoints_and_logs_that_do_not_fit_are_one_line(tiny_h36m, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli(train.main, _args(tiny_h36m, out, 1)) == 0
    ckpt = torch.load(out / "last.pt", weights_only=True)
    capsys.readouterr()
    save_checkpoint(tmp_path / "unknown.pt", {**ckpt, "config": {**ckpt["config"], "warmup": 5}})
    rc = run_cli(evaluate.main, ["lifting", "--checkpoint", str(tmp_path / "unknown.pt"), "--out", str(tmp_path / "e")])
    _one_line(capsys, rc, "unknown.pt: its config does not fit this version's settings")
    for key in ("optimizer", "scheduler", "rng"):
        save_checkpoint(out / "last.pt", {k: v for k, v in ckpt.items() if k != key})
        rc = run_cli(train.main, ["lifting", "--resume", str(out / "last.pt"), "--epochs", "2"])
        _one_line(capsys, rc, f"checkpoint has no '{key}', so a run cannot resume from it")
    save_checkpoint(out / "last.pt", {**ckpt, "optimizer": {"state": {}, "param_groups": []}})
    rc = run_cli(train.main, ["lifting", "--resume", str(out / "last.pt"), "--epochs", "2"])
    _one_line(capsys, rc, "its training state does not fit this run")
    save_checkpoint(out / "last.pt", ckpt)
    (out / "metrics.jsonl").write_text('{"epoch": 1}\n{"epoch": 2, "lo')
    rc = run_cli(train.main, ["lifting", "--resume", str(out / "last.pt"), "--epochs", "2"])
    _one_line(capsys, rc, "metrics.jsonl: line 2 is not valid JSON")


@pytest.mark.parametrize("extra,pattern", [
    (["--seed", "-1"], "--seed -1: must be in [0, 4294967295]"),
    (["--seed", str(2 ** 40)], f"--seed {2 ** 40}: must be in [0, 4294967295]"),
])
def test_bad_seeds(tiny_h36m, tmp_path, capsys, extra, pattern):
    _one_line(capsys, run_cli(train.main, _args(tiny_h36m, tmp_path / "r", 1, *extra)), pattern)


def test_evaluate_downsample_zero_is_refused(straight, tmp_path, capsys):
    rc = run_cli(evaluate.main, ["lifting", "--checkpoint", str(straight / "last.pt"), "--downsample", "0",
                                 "--out", str(tmp_path / "e")])
    _one_line(capsys, rc, "--downsample 0: must be >= 1")


def test_injected_fault_points_are_reached(tiny_h36m, tmp_path, monkeypatch):
    """The fault points the crash test uses exist where they say (a point never reached would make
    that test pass without testing anything)."""
    monkeypatch.setenv("POSEGRAPH_FAULT", "nowhere#1")
    faults.reset()
    assert run_cli(train.main, _args(tiny_h36m, tmp_path / "r", 2)) == 0
    for point in POINTS:
        monkeypatch.setenv("POSEGRAPH_FAULT", point)
        faults.reset()
        with pytest.raises(faults.InjectedFault, match=point.split("#")[0]):
            run_cli(train.main, _args(tiny_h36m, tmp_path / point.replace(" ", "_").replace("#", ""), 3))
