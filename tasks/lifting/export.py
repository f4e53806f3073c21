"""A lifting checkpoint exported for inference, through the fixed-topology path with a dynamic
batch axis: ONNX (`.onnx`, torch's dynamo exporter; run with onnxruntime) or `torch.export`'s
ExportedProgram (`.pt2`; `torch.export.load(path).module()(x)`), the successor of TorchScript
(`torch.jit.trace`/`script` are deprecated in torch 2.13). Input: (B, J, 2) 2D joints in the
lifter's normalisation (`input_2d` in the ONNX metadata: SemGCN's screen coordinates, or
`pose`); output: (B, J, 3) root-relative joints in metres."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from core.export_io import write_export
from datasets.skeleton import Skeleton


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
    wrapped = LifterForExport(model, skeleton).eval()
    example = torch.zeros(2, skeleton.num_joints, 2)
    batch = torch.export.Dim("batch", min=1)
    return write_export(wrapped, (example,), {"x": {0: batch}}, path, metadata, ["x"], ["joints_3d"])
