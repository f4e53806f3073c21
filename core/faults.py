"""Fault injection for crash-consistency tests: `POSEGRAPH_FAULT=POINT#N` stops the process (an
`InjectedFault`, as abrupt for the files as a kill) the N-th time it reaches the named point.
Points: `metrics`, `best`, `last` (after the epoch's metrics line, best.pt, last.pt) and
`write NAME` (a file's content complete, before it is renamed into place)."""
from __future__ import annotations

import os
from collections import Counter

_reached: Counter = Counter()


class InjectedFault(BaseException):
    """Not an `Exception`: nothing on the way up handles it, as nothing handles a kill."""


def fault_point(name: str) -> None:
    spec = os.environ.get("POSEGRAPH_FAULT")
    if not spec:
        return
    point, _, n = spec.rpartition("#")
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] == int(n):
        raise InjectedFault(f"injected fault at {name} #{n}")


def reset() -> None:
    _reached.clear()
