"""Files written atomically (a temporary file beside the target, renamed over it when
complete, so a killed process never leaves a half-written file), JSON and JSON lines, and the
output folder of a run."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from core.errors import InputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write: Callable[[Any], None], mode: str = "wb") -> Path:
    """Call `write(f)` on a temporary file beside `path`, then rename it to `path`. The file gets
    the permissions of a plainly created one (0666 less the umask; the temporary file is 0600)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def write_json(path, obj) -> Path:
    return atomic_write(path, lambda f: json.dump(obj, f, indent=2), mode="w")


def append_jsonl(path, record: dict) -> Path:
    """Append one JSON line; the whole file is rewritten atomically."""
    path = Path(path)
    old = path.read_text() if path.exists() else ""
    return atomic_write(path, lambda f: f.write(old + json.dumps(record) + "\n"), mode="w")


def read_jsonl(path) -> list[dict]:
    path = Path(path)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def prepare_out_dir(out) -> Path:
    """Create the output folder (config field `out`); a clear error if it is a file or cannot be
    written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{{out}} {out}: is a file, expected a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{{out}} {out}: cannot create folder ({e.strerror})") from None
    if not os.access(out, os.W_OK):
        raise InputError(f"{{out}} {out}: folder is not writable")
    return out
