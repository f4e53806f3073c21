"""core/atomic_io.py: atomic writes keep nothing half-written and give ordinary permissions."""
import os

import pytest

from core.atomic_io import append_jsonl, atomic_write, read_jsonl


def test_written_file_has_the_permissions_of_a_plain_one(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "a.json", lambda f: f.write(b"{}"))
        (tmp_path / "plain.json").write_bytes(b"{}")
    finally:
        os.umask(old)
    assert path.read_bytes() == b"{}"
    assert os.stat(path).st_mode & 0o777 == os.stat(tmp_path / "plain.json").st_mode & 0o777 == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "m.jsonl"
    append_jsonl(path, {"epoch": 1})

    def broken(f):
        f.write("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(path, broken, mode="w")
    assert read_jsonl(path) == [{"epoch": 1}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.jsonl"]

