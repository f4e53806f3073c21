"""Progress of long steps: a tqdm bar on a terminal; elsewhere (output piped to a log, a cluster
job) a plain line at most every `LINE_SECONDS` ("graphs: 1,200/5,000 (24%), 41 s, 29/s"), so a
log shows that a long step is alive without a line per item. `enabled=False` (`--no-progress`):
nothing."""
from __future__ import annotations

import sys
import time
from typing import Iterable, Optional

from tqdm import tqdm

LINE_SECONDS = 30.0


class _Lines:
    """tqdm's small interface (iterate, `update`, `close`, a context manager) as progress lines."""

    def __init__(self, iterable: Optional[Iterable], total: Optional[int], desc: str):
        self.iterable, self.desc = iterable, desc or "progress"
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.n, self.start = 0, time.perf_counter()
        self.last = self.start

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if now - self.last >= LINE_SECONDS:
            self.last = now
            elapsed = now - self.start
            part = f"{self.n:,}/{self.total:,} ({self.n / max(self.total, 1):.0%})" if self.total else f"{self.n:,}"
            print(f"{self.desc}: {part}, {elapsed:.0f} s, {self.n / elapsed:,.1f}/s", file=sys.stderr, flush=True)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress(iterable: Optional[Iterable] = None, total: Optional[int] = None, desc: str = "",
             enabled: bool = True, **tqdm_kwargs):
    """A progress bar over `iterable` (or updated by hand up to `total`): tqdm on a terminal,
    lines elsewhere, nothing when not `enabled`."""
    if enabled and sys.stderr.isatty():
        return tqdm(iterable, total=total, desc=desc, **tqdm_kwargs)
    if enabled:
        return _Lines(iterable, total, desc)
    return tqdm(iterable, total=total, disable=True)


def wanted(no_progress: bool = False) -> bool:
    """Whether a command shows progress: unless --no-progress (a bar on a terminal, lines elsewhere)."""
    return not no_progress
