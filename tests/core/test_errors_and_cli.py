"""core/: errors that name config fields, CLIs that show them as flags, every default in
--help, no task -> the task list."""
import argparse
import ast

import pytest

import evaluate
import train
from core.cli import run_cli
from core.errors import InputError
from datasets.graph.config import GraphConfig
from tasks.grouping import GroupingConfig
from tasks.lifting import LiftingConfig
from tests.conftest import REPO


def test_input_error_names_fields_or_flags():
    e = InputError("{batch_size} -3: must be >= 1\nsecond line")
    assert str(e) == "batch_size -3: must be >= 1"  # one line, the config's field name
    assert e.render(lambda f: "--" + f.replace("_", "-")) == "--batch-size -3: must be >= 1"
    assert str(InputError("run.json: {'a': 1} is not a list")) == "run.json: {'a': 1} is not a list"


@pytest.mark.parametrize("parser, field, flag", [
    (train.build_parser(), "batch_size", "--batch-size"),
    (train.build_parser(), "graph.type_nearest", "--type-nearest"),
    (train.build_parser(), "model.name", "--model"),
    (train.build_parser(), "model.hidden", "--hidden"),
    (train.build_parser(), "synth.tag_noise", "--synth tag_noise"),
    (train.build_parser(), "graph.top_k", "graph.top_k"),  # no flag sets it: the field stays
    (evaluate.build_parser(), "eval_batch_size", "--batch-size"),
    (evaluate.build_parser(), "maps", "--maps"),
])
def test_fields_become_flags(parser, field, flag):
    assert parser.flag_for(field) == flag


def test_config_errors_name_fields_and_the_cli_names_flags(capsys):
    with pytest.raises(InputError, match=r"^batch_size 0: must be >= 1$"):
        LiftingConfig(batch_size=0)
    with pytest.raises(InputError, match=r"^graph.radius -1: expected > 0 \(or none\)$"):
        GraphConfig(radius=-1)
    with pytest.raises(InputError, match=r"^val_fraction 1.5: must be in \[0, 1\)$"):
        GroupingConfig(val_fraction=1.5)
    assert run_cli(train.main, ["grouping", "--val-fraction", "1"]) == 2  # within the flag's range, not the config's
    assert capsys.readouterr().err == "error: --val-fraction 1.0: must be in [0, 1)\n"
    assert run_cli(train.main, ["lifting", "--model", "semgcn-nonlocal", "--joints", "17"]) == 2
    assert capsys.readouterr().err == \
        "error: --model semgcn-nonlocal: needs --joints 16 (SemGCN's joint groups)\n"


@pytest.mark.parametrize("module", [train, evaluate])
def test_no_task_lists_the_tasks(module, capsys):
    assert run_cli(module.main, []) == 2
    out = capsys.readouterr().out
    for task, text in module.TASKS.items():
        assert f"{task:<9} {text}" in out


def _option_blocks(help_text: str) -> dict[str, str]:
    """'--flag' -> its help text, from argparse's formatted help."""
    blocks, current = {}, None
    for line in help_text.splitlines():
        stripped = line.strip()
        if line.startswith("  -") and not line.startswith("   "):
            current = stripped.split()[0].rstrip(",")
            if current == "-h":
                current = "--help"
            blocks[current] = stripped
        elif current and line.startswith("      "):
            blocks[current] += " " + stripped
        else:
            current = None
    return blocks


@pytest.mark.parametrize("module", [train, evaluate])
def test_every_option_shows_its_default(module):
    sub = next(a for a in module.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for task, parser in sub.choices.items():
        blocks = _option_blocks(parser.format_help())
        flags = [a.option_strings[-1] if a.option_strings[0] == "-h" else a.option_strings[0] for a in parser._actions
                 if a.option_strings and a.default is not argparse.SUPPRESS]
        assert flags and set(flags) <= set(blocks), (task, set(flags) - set(blocks))
        for flag in flags:
            assert "(default: " in blocks[flag], (task, flag, blocks[flag])


# ---------------------------------------------------------------------------------------------
# The layering: core imports nothing of ours, no import cycles, benchmarks call the tasks.

PACKAGES = ("core", "datasets", "gnn", "tasks")
CLIS = ("train", "evaluate", "predict")


def _our_imports(path) -> set[str]:
    """The modules of ours a file imports anywhere (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] + [f"{node.module}.{a.name}" for a in node.names] \
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else []
        for name in names:
            if name.split(".")[0] in PACKAGES + CLIS:
                found.add(name)
    return found


def _module_graph() -> dict[str, set[str]]:
    files = {".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): p
             for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    return {m: {i for i in _our_imports(p) if i in files and i != m} for m, p in files.items()}


def test_core_imports_nothing_of_ours():
    for module, imports in _module_graph().items():
        if module.startswith("core"):
            assert all(i.startswith("core") for i in imports), (module, imports)


def test_no_import_cycles():
    graph, state = _module_graph(), {}

    def visit(m, path):
        state[m] = "open"
        for n in graph.get(m, ()):
            assert state.get(n) != "open", " -> ".join(path + [n])
            if n not in state:
                visit(n, path + [n])
        state[m] = "done"

    for m in graph:
        if m not in state:
            visit(m, [m])


def test_lower_layers_and_benchmarks_do_not_import_the_clis():
    files = [p for pkg in PACKAGES + ("bench",) for p in (REPO / pkg).rglob("*.py")]
    for path in files:
        clis = {i for i in _our_imports(path) if i.split(".")[0] in CLIS}
        assert not clis, (path, clis)


def test_wrong_paths_are_answered_before_torch_loads(tmp_path):
    """A missing or wrong-kind path is a one-line error from the argument check, before any heavy import."""
    import subprocess
    import sys
    from pathlib import Path
    repo = Path(__file__).resolve().parents[2]
    (tmp_path / "f.json").write_text("[]")
    cases = [("train", ["lifting", "--data", str(tmp_path / "nowhere")], "nowhere: folder not found (--data)"),
             ("evaluate", ["lifting", "--checkpoint", str(tmp_path / "x.pt")], "x.pt: checkpoint not found (--checkpoint)"),
             ("evaluate", ["coco", "--gt", str(tmp_path), "--results", "r.json"], "a folder, expected a file (--gt)"),
             ("predict", ["lifting", "--keypoints", str(tmp_path / "k.json")], "k.json: file not found (--keypoints)"),
             ("predict", ["pipeline", "--maps", str(tmp_path / "f.json")], "not a folder of <image_id>.npz map files")]
    for script, argv, message in cases:
        code = (f"import sys; from core.cli import run_cli; import {script}; rc = run_cli({script}.main, {argv!r}); "
                f"assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)")
        r = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and message in r.stderr, (script, argv, r.stderr)


def test_checkpoint_file_messages_are_whole(tmp_path, capsys):
    import evaluate
    import predict
    (tmp_path / "notes.pt").write_text("these are my notes, not weights\n")
    assert run_cli(evaluate.main, ["lifting", "--checkpoint", str(tmp_path / "notes.pt")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {tmp_path / 'notes.pt'}: not a PyTorch checkpoint file (text, not what torch.save writes)\n"
    (tmp_path / "maps").mkdir()
    assert run_cli(predict.main, ["grouping", "--maps", str(tmp_path / "maps"), "--checkpoint", "h36m-sh",
                                  "--out", str(tmp_path / "o")]) == 2
    assert "--checkpoint h36m-sh: is a shipped lifting checkpoint, expected a grouping one" in capsys.readouterr().err
    (tmp_path / "maps" / "2.npz").mkdir()  # a folder named like a map file
    assert run_cli(predict.main, ["grouping", "--maps", str(tmp_path / "maps"), "--decoder", "ae",
                                  "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "2.npz: a folder named like a map file" in err
