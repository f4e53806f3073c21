"""One run per output folder: an exclusive `flock` on `OUT/.lock`, holding the owner's process id.
The kernel releases the lock when its process ends however it ends, so the lock of a killed run
never blocks the resume that follows it; a second live run into the folder stops in one line."""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from core.errors import InputError


@contextlib.contextmanager
def run_lock(out):
    path = Path(out) / ".lock"
    try:
        f = open(path, "a+")
    except OSError as e:
        raise InputError(f"{path}: cannot create the run's lock ({e.strerror})") from None
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            owner = f.read().strip() or "unknown"
            raise InputError(f"{{out}} {out}: another run (process {owner}) is writing into this folder; "
                             f"wait for it to finish or choose another {{out}}") from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        yield
    finally:
        f.close()  # releases the lock
