"""train.py lifting --seeds: several seeds in one process equal separate runs, one after another
(the CPU default) and side by side in threads (as on a GPU); summary.json holds their spread."""
import functools
import json
import statistics

import pytest
import torch

import train
from core.atomic_io import read_jsonl
from core.cli import run_cli
from tasks.lifting import seeds as lifting_seeds
from tests.test_cli_lifting import FAST, _fails


@pytest.mark.parametrize("parallel", [False, True])
def test_seeds_in_one_process_equal_separate_runs(tiny_h36m, tmp_path, monkeypatch, parallel):
    args = ["lifting", "--data", str(tiny_h36m), "--epochs", "2", "--compile", "off"] + FAST
    monkeypatch.setattr(lifting_seeds, "train_seeds", functools.partial(lifting_seeds.train_seeds, parallel=parallel))
    assert run_cli(train.main, args + ["--seeds", "3,5", "--out", str(tmp_path / "many")]) == 0
    for seed in (3, 5):
        assert run_cli(train.main, args + ["--seed", str(seed), "--out", str(tmp_path / f"one-{seed}")]) == 0
        together = read_jsonl(tmp_path / "many" / f"seed-{seed}" / "metrics.jsonl")
        alone = read_jsonl(tmp_path / f"one-{seed}" / "metrics.jsonl")
        assert [(r["loss"], r["MPJPE"]) for r in together] == [(r["loss"], r["MPJPE"]) for r in alone]
        a = torch.load(tmp_path / "many" / f"seed-{seed}" / "last.pt", weights_only=True)
        b = torch.load(tmp_path / f"one-{seed}" / "last.pt", weights_only=True)
        assert a["config"]["seed"] == seed and all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in b["state_dict"])
    summary = json.loads((tmp_path / "many" / "summary.json").read_text())
    last = [read_jsonl(tmp_path / f"one-{s}" / "metrics.jsonl")[-1]["MPJPE"] for s in (3, 5)]
    assert summary["seeds"] == [3, 5]
    assert summary["last_MPJPE"]["mean"] == pytest.approx(statistics.mean(last))
    assert summary["last_MPJPE"]["sd"] == pytest.approx(statistics.stdev(last))
    assert last[0] != last[1]  # the seeds differ


def test_bad_seed_lists(tiny_h36m, tmp_path, capsys):
    base = ["lifting", "--data", str(tiny_h36m), "--out", str(tmp_path / "r")] + FAST
    _fails(train.main, base + ["--seeds", "1,x"], capsys, "--seeds '1,x': expected comma-separated integers")
    _fails(train.main, base + ["--seeds", "1,1"], capsys, "--seeds '1,1': expected distinct seeds")
    _fails(train.main, base + ["--seeds", "1,2", "--resume", str(tmp_path / "r" / "last.pt")], capsys,
           "--seeds: a resume of a --seeds run takes its folder: --resume OUT")


def test_seeds_resume_and_overwrite_as_a_whole_and_the_summary_follows(tiny_h36m, tmp_path, capsys):
    """A --seeds folder is refused again with the hint to resume it whole; --resume OUT continues
    every seed (as long runs of each would have gone); --overwrite of one seed folder on its own
    leaves summary.json describing the folders as they are."""
    args = ["lifting", "--data", str(tiny_h36m), "--compile", "off"] + FAST
    top = tmp_path / "many"
    assert run_cli(train.main, args + ["--epochs", "1", "--seeds", "3,5", "--out", str(top)]) == 0
    _fails(train.main, args + ["--epochs", "1", "--seeds", "3,5", "--out", str(top)], capsys,
           f"already holds a --seeds run (seed-3, seed-5); continue every seed with --resume {top}")
    assert run_cli(train.main, args + ["--epochs", "2", "--resume", str(top)]) == 0
    for s in (3, 5):
        assert run_cli(train.main, args + ["--epochs", "2", "--seed", str(s), "--out", str(tmp_path / f"one-{s}")]) == 0
        resumed = read_jsonl(top / f"seed-{s}" / "metrics.jsonl")
        straight = read_jsonl(tmp_path / f"one-{s}" / "metrics.jsonl")
        assert [(r["epoch"], r["loss"], r["MPJPE"]) for r in resumed] == [(r["epoch"], r["loss"], r["MPJPE"]) for r in straight]
    assert json.loads((top / "summary.json").read_text())["runs"]["3"]["epochs"] == 2
    assert "resuming" in (top / "train.log").read_text() and "seed" in (top / "train.log").read_text()
    # one seed replaced on its own: the summary describes the folders as they now are
    assert run_cli(train.main, args + ["--epochs", "1", "--seed", "3", "--out", str(top / "seed-3"), "--overwrite"]) == 0
    summary = json.loads((top / "summary.json").read_text())
    assert summary["runs"]["3"]["epochs"] == 1 and summary["runs"]["5"]["epochs"] == 2
    assert summary["last_MPJPE"]["mean"] == pytest.approx(statistics.mean(
        [read_jsonl(top / f"seed-{s}" / "metrics.jsonl")[-1]["MPJPE"] for s in (3, 5)]))
    # --overwrite of the whole: every seed anew
    assert run_cli(train.main, args + ["--epochs", "1", "--seeds", "3,5", "--out", str(top), "--overwrite"]) == 0
    assert json.loads((top / "summary.json").read_text())["runs"]["5"]["epochs"] == 1
