"""The torch device a config's `device` field names."""
from __future__ import annotations

import torch

from core.errors import InputError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """auto (CUDA when available, else CPU) | cpu | cuda."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("{device} cuda: no CUDA device is available")
    return torch.device(name)
