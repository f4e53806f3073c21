"""Progress lines where stderr is not a terminal; the console tee behind train.log."""
import sys

import core.progress
from core.console_tee import ConsoleTee, log_console_to, logging_to
from core.progress import progress


def test_progress_prints_lines_when_not_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(core.progress, "LINE_SECONDS", 0.0)
    assert list(progress(range(3), desc="graphs")) == [0, 1, 2]
    err = capsys.readouterr().err.splitlines()
    assert [e.split(",")[0] for e in err] == ["graphs: 1/3 (33%)", "graphs: 2/3 (67%)", "graphs: 3/3 (100%)"]
    with progress(total=4, desc="images") as bar:
        bar.update(4)
    assert capsys.readouterr().err.startswith("images: 4/4 (100%)")
    list(progress(range(3), desc="quiet", enabled=False))
    monkeypatch.setattr(core.progress, "LINE_SECONDS", 30.0)
    list(progress(range(3), desc="short"))  # a step shorter than LINE_SECONDS says nothing
    assert capsys.readouterr().err == ""


def test_console_tee_keeps_lines_before_the_file_and_a_redrawn_line_once(tmp_path, capsys):
    log = tmp_path / "train.log"
    with ConsoleTee.capture():
        print("resuming run after epoch 3")
        assert log_console_to(log, fresh=True) and logging_to(log)
        sys.stderr.write("\rbar 10%\rbar 90%\r        \repoch 4 done\n")
        print("warning: something", file=sys.stderr)
    assert not logging_to(log)
    assert log.read_text().splitlines() == ["resuming run after epoch 3", "epoch 4 done", "warning: something"]
    assert "bar 90%" in capsys.readouterr().err  # the terminal still sees everything
