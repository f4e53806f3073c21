"""The grouping classifier shipped in checkpoints/: it loads, its card states what the file holds
(no path of the training machine), and predict.py grouping / pipeline use it when no checkpoint is
given, evaluate.py and export by name."""
import hashlib
import json
import subprocess
import sys

import pytest

import evaluate
import predict
from core.checkpoint import load_checkpoint
from core.cli import run_cli
from tasks.grouping.shipped import DEFAULT, SHIPPED, card_facts, read_card, resolve_grouping, shipped_path
from tests.conftest import REPO, strings_in




@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_grouping_model_matches_its_card(name):
    path = shipped_path(name)
    assert path.exists() and path.stat().st_size < 2 * 2 ** 20  # small
    ckpt = load_checkpoint(path, "grouping")
    assert "optimizer" not in ckpt and ckpt["shipped"] == name and ckpt["config"]["dataset"] == "coco"
    card = read_card(name)
    assert json.loads(json.dumps(card_facts(ckpt, hashlib.sha256(path.read_bytes()).hexdigest()))) == card
    text = path.with_suffix(".md").read_text()
    in_file = strings_in({k: v for k, v in ckpt.items() if k != "state_dict"})
    assert not [t for t in in_file + [text] if any(d in t for d in ("/work/", "/home/", "/root/", "../shared"))]
    assert "python train.py grouping" in text and "## Maps it expects" in text and "AP" in text
    assert resolve_grouping(None, default=True) == str(shipped_path(DEFAULT))


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    out = tmp_path_factory.mktemp("maps")
    subprocess.run([sys.executable, "bench/write_maps.py", "--scenes", "3", "--seed", "4", "--out", str(out / "m")],
                   cwd=REPO, check=True, capture_output=True)
    return out


def test_predict_and_pipeline_use_it_by_default_and_evaluate_by_name(maps, capsys):
    assert run_cli(predict.main, ["grouping", "--maps", str(maps / "m"), "--out", str(maps / "g")]) == 0
    by_default = json.loads((maps / "g" / "results.json").read_text())
    assert by_default and capsys.readouterr().out
    assert run_cli(predict.main, ["grouping", "--maps", str(maps / "m"), "--checkpoint", DEFAULT,
                                  "--out", str(maps / "n")]) == 0
    assert json.loads((maps / "n" / "results.json").read_text()) == by_default
    assert run_cli(predict.main, ["pipeline", "--maps", str(maps / "m"), "--out", str(maps / "p")]) == 0
    assert json.loads((maps / "p" / "results.json").read_text()) == by_default
    assert run_cli(evaluate.main, ["grouping", "--checkpoint", DEFAULT, "--annotations", str(maps / "m" / "scenes.json"),
                                   "--maps", str(maps / "m"), "--out", str(maps / "e")]) == 0
    assert json.loads((maps / "e" / "eval.json").read_text())["AP"] > 0.3
    capsys.readouterr()
    assert run_cli(evaluate.main, ["lifting", "--checkpoint", DEFAULT]) == 2
    assert "is the shipped grouping classifier, expected a lifting checkpoint" in capsys.readouterr().err
