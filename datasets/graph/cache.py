"""A disk cache of built graphs, so that a second run over the same maps does not build them
again. A list of graphs is stored under a key made of everything it depends on: the annotation
file's bytes, the map folder's files (names and the SHA-1 of their bytes: a rewrite of the same
size and modification time is a new key) or the synthesiser's settings and seed, the graph
settings, and the source code of the modules that build graphs (a code change invalidates the
cache). Each entry ends with the SHA-256 of its contents: a damaged, truncated or foreign entry
is rebuilt, with a one-line warning; a folder that cannot be written means no caching, with a
warning (docs/reliability.md)."""
from __future__ import annotations

import hashlib
import io
import json
import warnings
from pathlib import Path
from typing import Callable, Optional

import torch
from torch_geometric.data import Data

from core.atomic_io import atomic_write
from core.cache_dir import cache_dir
from core.file_digest import file_digest
from core.errors import InputError

# The modules that build graphs (paths under datasets/): a change to any of them invalidates the cache.
_BUILDERS = ("ae_maps.py", "synthetic/ae_maps.py", "synthetic/ae_maps_second.py", "synthetic/ae_maps_third.py",
             "synthetic/ae_maps_fourth.py", "graph/candidates.py", "graph/candidate_graph.py", "graph/labels.py",
             "graph/config.py", "coco.py", "skeleton.py")


def folder_fingerprint(folder) -> list:
    """(name, SHA-1 of the bytes) of every `.npz` file of a map folder: keyed on content."""
    return [(p.name, file_digest(p)) for p in sorted(Path(folder).glob("*.npz"))]


def cache_key(parts: dict) -> str:
    here = Path(__file__).parents[1]  # datasets/
    code = [file_digest(here / name) for name in _BUILDERS if (here / name).exists()]
    text = json.dumps({"parts": parts, "code": code}, sort_keys=True, default=str)  # digests memoised
    return hashlib.sha1(text.encode()).hexdigest()[:20]


MAGIC = b"PGGC1"  # an entry: MAGIC, then torch.save of the graphs, then the SHA-256 of both (32 bytes)


class _Hashing:
    """A binary file that hashes what is written to it."""

    def __init__(self, f):
        self.f, self.h = f, hashlib.sha256()

    def write(self, b) -> int:
        self.h.update(b)
        return self.f.write(b)

    def flush(self):
        self.f.flush()


def _write_entry(f, graphs: list[Data]) -> None:
    out = _Hashing(f)
    out.write(MAGIC)
    torch.save([g.to_dict() for g in graphs], out)  # streamed: no second copy in memory
    f.write(out.h.digest())


def _read_entry(path: Path) -> list[Data]:
    data = path.read_bytes()
    body, digest = data[:-32], data[-32:]
    if not body.startswith(MAGIC) or hashlib.sha256(body).digest() != digest:
        raise ValueError("checksum mismatch: damaged, truncated or not a graph cache entry")
    return [Data.from_dict(d) for d in torch.load(io.BytesIO(body[len(MAGIC):]), weights_only=True)]


def cached_graphs(folder: Optional[str], parts: dict, build: Callable[[], list[Data]]) -> list[Data]:
    """The graphs `build()` returns, read from `folder` when built before with the same `parts`
    (None: no cache)."""
    if folder is None:
        return build()
    path = (cache_dir() / "graphs" if folder == "auto" else Path(folder)) / f"{cache_key(parts)}.pt"
    if path.exists():
        try:
            return _read_entry(path)
        except Exception as e:  # noqa: BLE001 (damaged or foreign: build again)
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:80]
            warnings.warn(f"{path}: unreadable graph cache entry ({first}); building the graphs again")
    graphs = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: _write_entry(f, graphs))
    except (OSError, InputError) as e:  # a cache that cannot be written costs only time
        warnings.warn(f"{path.parent}: graphs not cached ({getattr(e, 'strerror', None) or e})")
    return graphs
