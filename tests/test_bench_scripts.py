"""The benchmark and experiment scripts start from where README and docs say they are: each Python
one answers --help, each shell one parses."""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# the experiment drivers (moved into bench/experiments/) and the throughput bench; the others are
# run by their own tests or need a GPU (cuda_*.py)
PYTHON = sorted(p.relative_to(REPO) for p in [*(REPO / "bench" / "experiments").glob("*.py"),
                                              REPO / "bench" / "lifting_throughput.py"])
SHELL = sorted(p.relative_to(REPO) for p in (REPO / "bench").rglob("*.sh"))


@pytest.mark.parametrize("script", PYTHON, ids=str)
def test_python_scripts_answer_help(script):
    r = subprocess.run([sys.executable, str(REPO / script), "--help"], cwd=REPO / "docs", capture_output=True, text=True,
                       timeout=120)  # from another folder: each finds the repository itself
    assert r.returncode == 0 and "usage" in r.stdout.lower(), r.stderr[-500:]


@pytest.mark.parametrize("script", SHELL, ids=str)
def test_shell_scripts_parse(script):
    assert subprocess.run(["bash", "-n", str(REPO / script)]).returncode == 0
