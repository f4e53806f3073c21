"""Every numeric option of every command is range-checked at parse time: a one-line error for
NaN, infinity, or a value outside its range, before any work starts."""
import argparse
import json

import pytest

import evaluate
import predict
import train
from core.cli import run_cli


def _commands():
    for module in (train, evaluate, predict):
        parser = module.build_parser()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for task, sub in action.choices.items():
                    yield module, task, sub


def _numeric_options():
    for module, task, sub in _commands():
        for action in sub._actions:
            if action.option_strings and action.type is not None and action.type not in (str,) \
                    and getattr(action.type, "__name__", "").split(" ")[0] in ("int", "float"):
                yield module, task, action


def test_every_numeric_option_declares_its_range():
    options = list(_numeric_options())
    assert len(options) >= 30
    for module, task, action in options:
        bounds = getattr(action.type, "bounds", None)
        assert bounds is not None, f"{module.__name__} {task} {action.option_strings[0]}: unchecked number"
        if action.choices is None:
            assert bounds[0] is not None, f"{module.__name__} {task} {action.option_strings[0]}: no lower bound"


@pytest.mark.parametrize("module,task,action", [pytest.param(m, t, a, id=f"{m.__name__}-{t}-{a.option_strings[0]}")
                                                for m, t, a in _numeric_options() if a.choices is None])
def test_nan_inf_and_out_of_range_values_are_one_line_errors(module, task, action, capsys):
    flag = action.option_strings[0]
    lo, hi, above = action.type.bounds
    below = lo - 1 if action.type.__name__.startswith("int") or not above else lo
    bad = ["nan", "inf", str(below)] + ([str(hi + 1)] if hi is not None else [])
    for value in bad:
        argv = [task] + ([flag] + [value] * (action.nargs if isinstance(action.nargs, int) else 1))
        rc = run_cli(module.main, argv)
        err = capsys.readouterr().err.strip()
        assert rc == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, (argv, err)
        assert f"{flag} {value}:" in err, (argv, err)


def test_closed_sets_are_choices(capsys):
    assert run_cli(train.main, ["lifting", "--device", "gpu"]) == 2
    assert "invalid choice: 'gpu'" in capsys.readouterr().err
    assert run_cli(train.main, ["lifting", "--model", "transformer"]) == 2
    assert "invalid choice: 'transformer'" in capsys.readouterr().err


def test_an_images_file_with_one_image_at_two_sizes_is_refused(tmp_path, capsys):
    (tmp_path / "gt.json").write_text(json.dumps({"images": [{"id": 2, "width": 640, "height": 480},
                                                            {"id": 2, "width": 320, "height": 240}]}))
    (tmp_path / "r.json").write_text(json.dumps([{"image_id": 2, "keypoints": [1.0] * 51, "score": 1.0}]))
    rc = run_cli(predict.main, ["lifting", "--keypoints", str(tmp_path / "r.json"), "--images", str(tmp_path / "gt.json"),
                                "--checkpoint", "h36m-gt"])
    err = capsys.readouterr().err
    assert rc == 2 and "gt.json: image 2 is listed twice with two sizes (640x480 and 320x240)" in err


def test_help_and_bad_flags_answer_without_loading_torch():
    """The parsers are built from the configs alone: `--help` and a bad flag answer in well under a
    second instead of the 5 s of importing torch and PyG (the handlers import them when they run)."""
    import subprocess
    import sys
    from tests.conftest import REPO
    code = ("import sys, train, evaluate, predict\n"
            "for m in (train, evaluate, predict):\n    m.build_parser()\n"
            "from core.cli import run_cli\n"
            "assert run_cli(train.main, ['lifting', '--epochs', '0']) == 2\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torch_geometric'))[:3])")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
