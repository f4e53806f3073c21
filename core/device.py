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


def bf16_native(device: torch.device) -> bool:
    """Whether `device` computes bfloat16 products in hardware (a GPU that supports bf16; a CPU with
    AVX-512 BF16 or AMX), where bf16 training is faster than fp32 rather than emulated."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(name: str, device: torch.device) -> str:
    """auto (bf16 where `bf16_native`, else fp32) | fp32 | bf16."""
    return ("bf16" if bf16_native(device) else "fp32") if name == "auto" else name
