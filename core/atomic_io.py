"""Files written atomically (a temporary file beside the target, renamed over it when
complete, so a killed process never leaves a half-written file), JSON and JSON lines, and the
output folder of a run."""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable
import warnings

from core.errors import InputError
from core.faults import InjectedFault, fault_point


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write: Callable[[Any], None], mode: str = "wb") -> Path:
    """Call `write(f)` on a temporary file beside `path`, then rename it to `path`. The file gets
    the permissions of a plainly created one (0666 less the umask; the temporary file is 0600)."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise InputError(f"{path}: cannot write ({e.strerror})") from None
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), 0o666 & ~_umask())
        fault_point(f"write {path.name}")
        os.replace(tmp, path)
    except InjectedFault:
        raise  # as a kill: the temporary file stays
    except OSError as e:  # a full disk, a permission: the previous file is untouched
        _remove(tmp)
        raise InputError(f"{path}: cannot write ({e.strerror or e}); the previous version, if any, "
                         f"is unchanged") from None
    except BaseException:
        _remove(tmp)
        raise
    return path


def _remove(tmp: str) -> None:
    try:
        os.remove(tmp)
    except OSError:
        pass


def strict_json(obj, path, where: str = ""):
    """`obj` with every NaN or infinite float replaced by null (strict JSON has no NaN), each
    replacement said in a warning naming the file and the key."""
    if isinstance(obj, float) and not math.isfinite(obj):
        warnings.warn(f"{path}: {where or 'value'} is {obj} (undefined); written as null")
        return None
    if isinstance(obj, dict):
        return {k: strict_json(v, path, f"{where}.{k}" if where else str(k)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v, path, f"{where}[{i}]") for i, v in enumerate(obj)]
    return obj


def write_json(path, obj) -> Path:
    obj = strict_json(obj, path)
    return atomic_write(path, lambda f: json.dump(obj, f, indent=2, allow_nan=False), mode="w")


def append_jsonl(path, record: dict) -> Path:
    """Append one JSON line; the whole file is rewritten atomically."""
    path = Path(path)
    old = path.read_text() if path.exists() else ""
    line = json.dumps(strict_json(record, path), allow_nan=False)
    return atomic_write(path, lambda f: f.write(old + line + "\n"), mode="w")


def read_jsonl(path) -> list[dict]:
    """Every line of a JSON-lines file; one-line errors for an unreadable file or line."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    records = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise InputError(f"{path}: line {n} is not valid JSON ({e.msg})") from None
            if not isinstance(records[-1], dict):
                raise InputError(f"{path}: line {n} is not a JSON object")
    return records


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
