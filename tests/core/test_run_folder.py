"""A run folder: a finished run is never replaced by accident; a run that saved nothing leaves
nothing behind."""
import pytest

import train
from core.atomic_io import read_jsonl
from core.cli import run_cli
from core.errors import InputError
from core.run_folder import run_folder
from tests.test_cli_lifting import FAST


def test_a_folder_holding_a_run_is_refused_unless_resumed_or_overwritten(tiny_h36m, tmp_path, capsys):
    out = tmp_path / "run"
    base = ["lifting", "--data", str(tiny_h36m), "--out", str(out)] + FAST
    assert run_cli(train.main, base + ["--epochs", "2"]) == 0
    capsys.readouterr()
    assert run_cli(train.main, base + ["--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "already holds a run (last.pt, metrics.jsonl)" in err and "--overwrite" in err
    assert [r["epoch"] for r in read_jsonl(out / "metrics.jsonl")] == [1, 2]  # untouched
    assert run_cli(train.main, base + ["--epochs", "3", "--resume", str(out / "last.pt")]) == 0
    assert [r["epoch"] for r in read_jsonl(out / "metrics.jsonl")] == [1, 2, 3]
    assert run_cli(train.main, base + ["--epochs", "1", "--overwrite"]) == 0
    assert [r["epoch"] for r in read_jsonl(out / "metrics.jsonl")] == [1]


def test_a_run_that_saved_nothing_leaves_no_folder_and_says_so_on_ctrl_c(tmp_path, capsys, monkeypatch):
    out = tmp_path / "new"
    with pytest.raises(RuntimeError):
        with run_folder(out):
            assert (out / ".lock").exists()
            raise RuntimeError("failed before the first checkpoint")
    assert not out.exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    with pytest.raises(KeyboardInterrupt, match="before the first epoch ended: nothing was saved"):
        with run_folder(kept):
            raise KeyboardInterrupt
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt"]  # the user's folder stays, the lock goes

    def interrupted(a):
        raise KeyboardInterrupt
    monkeypatch.setattr("tasks.lifting.train_epoch", lambda *a, **k: interrupted(a))
    assert run_cli(train.main, ["lifting", "--out", str(tmp_path / "ctrl-c"), "--no-progress"]) == 130
    assert capsys.readouterr().err.strip() == "interrupted: before the first epoch ended: nothing was saved"
    assert not (tmp_path / "ctrl-c").exists()


def test_a_folder_with_a_checkpoint_keeps_it_after_a_failure(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "last.pt").write_bytes(b"x")
    with pytest.raises(InputError, match="already holds a run"):
        with run_folder(out):
            pass
    with pytest.raises(RuntimeError):
        with run_folder(out, resuming=True):
            raise RuntimeError
    assert (out / "last.pt").exists()


def test_the_run_folder_keeps_its_console_output(tiny_h36m, tmp_path, capsys):
    out = tmp_path / "run"
    base = ["lifting", "--data", str(tiny_h36m), "--out", str(out)] + FAST
    assert run_cli(train.main, base + ["--epochs", "1"]) == 0
    printed = [l for l in capsys.readouterr().out.splitlines() if l.startswith(("lifting:", "epoch", "best"))]
    log = (out / "train.log").read_text().splitlines()
    assert log == printed and len(log) == 3 and log[1].startswith("epoch   1")
    assert run_cli(train.main, base + ["--epochs", "2", "--resume", str(out / "last.pt")]) == 0
    log = (out / "train.log").read_text().splitlines()
    assert [l[:9] for l in log if l.startswith("epoch")] == ["epoch   1", "epoch   2"]  # a resume continues it


def test_tensorboard_without_the_package_is_one_line(tiny_h36m, tmp_path, capsys):
    import importlib.util
    if importlib.util.find_spec("tensorboard") is not None:
        pytest.skip("tensorboard is installed here")
    rc = run_cli(train.main, ["lifting", "--data", str(tiny_h36m), "--out", str(tmp_path / "tb"), "--tensorboard"] + FAST)
    err = capsys.readouterr().err
    assert rc == 2 and err.strip() == "error: --tensorboard needs the tensorboard package: pip install tensorboard"
    assert not (tmp_path / "tb").exists()  # nothing was saved, nothing left behind


def test_train_log_is_the_console_and_ctrl_c_says_how_to_resume(tiny_h36m, tmp_path, monkeypatch, capsys):
    """train.log holds every line the run printed (the resume line, the epochs, the Ctrl-C line);
    Ctrl-C after an epoch names the checkpoint and the exact --resume command (exit 130)."""
    import tasks.lifting
    out = tmp_path / "r"
    base = ["lifting", "--data", str(tiny_h36m), "--hidden", "8", "--blocks", "1", "--actions", "Walking",
            "--compile", "off", "--no-progress"]
    assert run_cli(train.main, base + ["--epochs", "1", "--out", str(out)]) == 0
    first = capsys.readouterr()
    assert (out / "train.log").read_text().splitlines() == [x for x in (first.out + first.err).splitlines() if x]
    real = tasks.lifting.train_epoch
    calls = []

    def second_epoch_interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)
    monkeypatch.setattr("tasks.lifting.train_epoch", second_epoch_interrupted)
    assert run_cli(train.main, base + ["--epochs", "3", "--resume", str(out / "last.pt")]) == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (f"interrupted: {out / 'last.pt'} holds epoch 2 (the last one finished); continue with: "
                   f"python train.py lifting --resume {out / 'last.pt'}")
    log = (out / "train.log").read_text()
    assert f"resuming {out / 'last.pt'} after epoch 1" in log and log.rstrip().endswith(err)
    assert log.count("epoch   1") == 1 and log.count("epoch   2") == 1
