"""A disk cache of built graphs, so that a second run over the same maps does not build them
again. A list of graphs is stored under a key made of everything it depends on: the annotation
file's bytes, the map folder's files (names, sizes, modification times) or the synthesiser's
settings and seed, the graph settings, and the source code of the modules that build graphs
(a code change invalidates the cache). An unreadable cache file is rebuilt, with a warning."""
from __future__ import annotations

import hashlib
import json
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional

import torch
from torch_geometric.data import Data

from core.atomic_io import atomic_write
from core.cache_dir import cache_dir
from core.errors import InputError

_BUILDERS = ("ae_maps.py", "ae_maps_second.py", "candidates.py", "candidate_graph.py", "graph_labels.py",
             "graph_config.py", "coco.py", "skeleton.py")


def file_digest(path) -> str:
    """SHA-1 of a file's bytes, computed once per (path, size, modification time) and process."""
    path = Path(path).resolve()
    st = path.stat()
    return _digest(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=64)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def folder_fingerprint(folder) -> list:
    """(name, size, modification time) of every `.npz` file of a map folder."""
    return [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(Path(folder).glob("*.npz"))]


def cache_key(parts: dict) -> str:
    here = Path(__file__).parent
    code = [file_digest(here / name) for name in _BUILDERS if (here / name).exists()]
    text = json.dumps({"parts": parts, "code": code}, sort_keys=True, default=str)  # digests memoised
    return hashlib.sha1(text.encode()).hexdigest()[:20]


def cached_graphs(folder: Optional[str], parts: dict, build: Callable[[], list[Data]]) -> list[Data]:
    """The graphs `build()` returns, read from `folder` when built before with the same `parts`
    (None: no cache)."""
    if folder is None:
        return build()
    path = (cache_dir() / "graphs" if folder == "auto" else Path(folder)) / f"{cache_key(parts)}.pt"
    if path.exists():
        try:
            return [Data.from_dict(d) for d in torch.load(path, weights_only=True)]
        except Exception as e:  # a truncated or foreign file: build again
            warnings.warn(f"{path}: unreadable graph cache ({type(e).__name__}); building the graphs again")
    graphs = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: torch.save([g.to_dict() for g in graphs], f))  # streamed: no second copy
    except (OSError, InputError) as e:  # a cache that cannot be written costs only time
        warnings.warn(f"{path.parent}: graphs not cached ({getattr(e, 'strerror', None) or e})")
    return graphs
