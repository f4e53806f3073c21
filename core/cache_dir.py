"""Where PoseGraph keeps what it can rebuild (the built-in data, built graphs): `$POSEGRAPH_CACHE`,
else `$XDG_CACHE_HOME/posegraph`, else `~/.cache/posegraph`; never the working directory, which
may be read-only or shared."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    if os.environ.get("POSEGRAPH_CACHE"):
        return Path(os.environ["POSEGRAPH_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "posegraph"
