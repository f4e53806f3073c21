"""A lifting checkpoint exported for inference, through the fixed-topology path with a dynamic
batch axis: ONNX (`.onnx`, torch's dynamo exporter; run with onnxruntime) or `torch.export`'s
ExportedProgram (`.pt2`; `torch.export.load(path).module()(x)`), the successor of TorchScript
(`torch.jit.trace`/`script` are deprecated in torch 2.13). Input: (B, J, 2) 2D joints in the
lifter's normalisation (`input_2d` in the ONNX metadata: SemGCN's screen coordinates, or
`pose`); output: (B, J, 3) root-relative joints in metres."""
from __future__ import annotations

import io
from pathlib import Path

import torch
from torch import Tensor, nn

from core.atomic_io import atomic_write
from core.errors import InputError
from datasets.skeleton import Skeleton

EXPORT_FORMATS = (".onnx", ".pt2")


class LifterForExport(nn.Module):
    """A lifter with its skeleton template built in: (B, J, 2) -> (B, J, 3)."""

    def __init__(self, model: nn.Module, skeleton: Skeleton):
        super().__init__()
        self.model = model.eval()
        self.register_buffer("template_edge_index", skeleton.edge_index().clone())

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x, self.template_edge_index)


def export_lifter(model: nn.Module, skeleton: Skeleton, path, metadata: dict) -> Path:
    """Write `path` (.onnx or .pt2) atomically."""
    path = Path(path)
    if path.suffix not in EXPORT_FORMATS:
        raise InputError(f"{{out}} {path}: expected a .onnx or .pt2 file name")
    wrapped = LifterForExport(model, skeleton).eval()
    example = torch.zeros(2, skeleton.num_joints, 2)
    batch = torch.export.Dim("batch", min=1)
    if path.suffix == ".pt2":
        program = torch.export.export(wrapped, (example,), dynamic_shapes={"x": {0: batch}})
        buf = io.BytesIO()
        torch.export.save(program, buf)
        return atomic_write(path, lambda f: f.write(buf.getvalue()))
    try:
        import onnx  # noqa: F401  (the exporter's dependencies: onnx, onnxscript)
    except ImportError:
        raise InputError("ONNX export needs the onnx and onnxscript packages: pip install onnx onnxscript") from None
    program = torch.onnx.export(wrapped, (example,), dynamo=True, optimize=False, input_names=["x"],
                                output_names=["joints_3d"], dynamic_shapes={"x": {0: batch}})
    proto = program.model_proto
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, str(value)
    return atomic_write(path, lambda f: f.write(proto.SerializeToString()))
