"""A run's `train.log` is its console: every line the process prints to stdout or stderr (the
header, epochs, warnings, the resume and interruption lines, what comes after training) is also
appended to the log, from before the run folder is known (those lines are kept and written when
it is) to the end. Progress bars (lines redrawn with carriage returns) keep only their final
text."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Optional


class _Stream:
    """A text stream that writes to `target` and hands each complete line to `tee`."""

    def __init__(self, target, tee: "ConsoleTee"):
        self._target, self._tee, self._partial = target, tee, ""

    def write(self, text: str) -> int:
        n = self._target.write(text)
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            line = line.rsplit("\r", 1)[-1].rstrip()  # a redrawn line: its last state
            if line:
                self._tee.line(line)
        return n

    def flush(self) -> None:
        self._target.flush()

    def __getattr__(self, name):  # isatty, fileno, encoding, ...: the real stream's
        return getattr(self._target, name)


class ConsoleTee:
    """Inside `capture()`: stdout and stderr also go, line by line, to the file given to `attach`
    (lines printed before are kept until then)."""

    active: Optional["ConsoleTee"] = None

    def __init__(self):
        self._pending: list[str] = []
        self._file = None
        self.path: Optional[Path] = None

    def line(self, text: str) -> None:
        if self._file is None:
            self._pending.append(text)
            return
        self._file.write(text + "\n")
        self._file.flush()

    def attach(self, path, fresh: bool) -> None:
        """From now on, lines go to `path` (emptied first when `fresh`); the kept ones first."""
        self.path = Path(path)
        self._file = open(self.path, "w" if fresh else "a")
        for text in self._pending:
            self.line(text)
        self._pending = []

    @classmethod
    @contextlib.contextmanager
    def capture(cls):
        tee = cls()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Stream(saved[0], tee), _Stream(saved[1], tee)
        previous, cls.active = cls.active, tee
        try:
            yield tee
        finally:
            sys.stdout, sys.stderr = saved
            cls.active = previous
            if tee._file is not None:
                tee._file.close()


def log_console_to(path, fresh: bool) -> bool:
    """Send the console to `path` when a capture is on (train.py's); -> whether it is."""
    tee = ConsoleTee.active
    if tee is None:
        return False
    if tee.path is None:
        tee.attach(path, fresh)
    return True


def logging_to(path) -> bool:
    """Whether the console already goes to `path`."""
    tee = ConsoleTee.active
    return tee is not None and tee.path is not None and tee.path.resolve() == Path(path).resolve()
