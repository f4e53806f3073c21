"""The SHA-1 of a file's bytes, the content key of the caches and of a run's data fingerprint."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path


def file_digest(path) -> str:
    """SHA-1 of a file's bytes, computed once per process and version of the file (path, inode,
    size, modification and status-change times: the last changes with any write, whatever the
    modification time is set to)."""
    path = Path(path).resolve()
    st = path.stat()
    return _digest(str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@lru_cache(maxsize=4096)
def _digest(path: str, inode: int, size: int, mtime_ns: int, ctime_ns: int) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
