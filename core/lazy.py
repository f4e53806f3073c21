"""A package's public names imported on first use (PEP 562), so that importing the package (and
building a CLI's parser from its configs) does not load torch."""
from __future__ import annotations

import importlib
from typing import Callable


def lazy_getattr(package: str, where: dict[str, str], namespace: dict) -> Callable[[str], object]:
    """A module `__getattr__` for `package`: a name of `where` (name -> defining module) is
    imported from its module the first time it is asked for and kept in `namespace`."""
    def __getattr__(name: str):
        if name in where:
            value = getattr(importlib.import_module(where[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return __getattr__
