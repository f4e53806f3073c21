"""Writing a module for inference outside this project: ONNX (`.onnx`, torch's dynamo exporter; run
with onnxruntime, metadata as ONNX `metadata_props`) or `torch.export`'s ExportedProgram (`.pt2`;
`torch.export.load(path).module()`), the successor of TorchScript (deprecated in torch 2.13).
Written atomically."""
from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import torch
from torch import nn

from core.atomic_io import atomic_write
from core.errors import InputError

EXPORT_FORMATS = (".onnx", ".pt2")


def write_export(module: nn.Module, example: tuple, dynamic_shapes, path, metadata: dict,
                 input_names: list[str], output_names: list[str]) -> Path:
    """`module` (eval mode) traced by `torch.export` on `example` with `dynamic_shapes` -> `path`."""
    path = Path(path)
    if path.suffix not in EXPORT_FORMATS:
        raise InputError(f"{{out}} {path}: expected a .onnx or .pt2 file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # read-only, or a file where a folder should be
        raise InputError(f"{{out}} {path}: cannot create its folder {path.parent} ({e.strerror or e})") from None
    if path.suffix == ".pt2":
        program = torch.export.export(module, example, dynamic_shapes=dynamic_shapes)
        buf = io.BytesIO()
        torch.export.save(program, buf)
        return atomic_write(path, lambda f: f.write(buf.getvalue()))
    missing = [name for name in ("onnx", "onnxscript") if importlib.util.find_spec(name) is None]
    if missing:  # the exporter's dependencies
        raise InputError(f"{{out}} {path}: ONNX export needs the {' and '.join(missing)} package"
                         f"{'s' if len(missing) > 1 else ''}: pip install {' '.join(missing)}")
    program = torch.onnx.export(module, example, dynamo=True, optimize=False, input_names=input_names,
                                output_names=output_names, dynamic_shapes=dynamic_shapes)
    proto = program.model_proto
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, str(value)
    return atomic_write(path, lambda f: f.write(proto.SerializeToString()))
