"""A training run's output folder: never a finished run replaced by accident, nothing left behind
by a run that saved nothing.

- A folder that holds a run (`last.pt` or `metrics.jsonl`) is refused in one line unless the
  new run resumes it (`--resume`) or replaces it on purpose (`--overwrite`).
- The folder is locked for the run (`core.run_lock`).
- A run that stops before its first checkpoint (an error, Ctrl-C) removes its lock and log, and
  the folder too when it made it and nothing else is in it; Ctrl-C then says that nothing was saved.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

from core.atomic_io import prepare_out_dir
from core.errors import InputError
from core.run_lock import run_lock

RUN_FILES = ("last.pt", "metrics.jsonl")


@contextlib.contextmanager
def run_folder(out, resuming: bool = False, overwrite: bool = False, lock: bool = True):
    """Create (or reuse) and lock the folder `out` for one training run; yields its `Path`."""
    out = Path(out)
    held = [name for name in RUN_FILES if (out / name).exists()]
    if held and not resuming and not overwrite:
        raise InputError(f"{{out}} {out}: already holds a run ({', '.join(held)}); continue it with --resume "
                         f"{out / 'last.pt'}, replace it with --overwrite, or choose another {{out}}")
    made = not out.exists()
    out = prepare_out_dir(out)
    try:
        with run_lock(out) if lock else contextlib.nullcontext():
            yield out
    except BaseException as e:
        if not (out / "last.pt").exists():  # nothing was saved: leave nothing behind
            with contextlib.suppress(OSError):
                for name in (".lock", "train.log"):  # the run's own files; a user's stay
                    (out / name).unlink(missing_ok=True)
                if made and not any(out.iterdir()):
                    out.rmdir()
            if isinstance(e, KeyboardInterrupt):
                raise KeyboardInterrupt("before the first epoch ended: nothing was saved") from None
        raise
