"""Poses as PyG graphs: one `Data` per pose, and a fast batcher for fixed-topology skeletons.

A pose graph has `x` (J, 2), `y` (J, 3), the skeleton's `edge_index` (both directions of every
bone, no self-loops) and `edge_type` (the template edge id of each edge), `joint` (J,, the
template joint of each node) and the scalars `subject`,
`action`, `camera`.
"""
from __future__ import annotations

import copy
from typing import Iterator, Optional

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

from datasets.skeleton import Skeleton

def pose_data(x2d: Tensor, y3d: Optional[Tensor], skeleton: Skeleton, **scalars) -> Data:
    """One pose -> PyG `Data` (x (J, 2), y (J, 3), edge_index (2, E),
    edge_type (E,), joint (J,), and 0-d long tensors for `scalars`)."""
    J = skeleton.num_joints
    if x2d.shape != (J, 2):
        raise ValueError(f"x2d has shape {tuple(x2d.shape)}, expected ({J}, 2)")
    edge_index = skeleton.edge_index()
    data = Data(x=x2d, edge_index=edge_index, edge_type=torch.arange(edge_index.size(1)),
                joint=torch.arange(J))
    if y3d is not None:
        data.y = y3d
    for key, value in scalars.items():
        data[key] = torch.as_tensor(value, dtype=torch.long)
    return data


def pose_data_list(poses, skeleton: Skeleton) -> list[Data]:
    """A `PoseSet` -> list of `Data` (for PyG's `DataLoader`; the batcher below is faster)."""
    x, y = torch.from_numpy(poses.x2d), torch.from_numpy(poses.y3d)
    return [pose_data(x[i], y[i], skeleton, subject=int(poses.subject[i]),
                      action=int(poses.action[i]), camera=int(poses.camera[i]))
            for i in range(len(poses))]


class SkeletonBatcher:
    """Batches of poses of one skeleton straight from stacked tensors.

    The result of `batch(idx)` equals `Batch.from_data_list([pose_data(...) for i in idx])`
    (same fields, values, `batch`/`ptr` and slicing information), but the graph structure of a
    batch of B skeletons is built once per B and only the pose tensors are sliced per batch.

    Args:
        skeleton: The skeleton of every pose.
        x2d: (P, J, 2) inputs.
        y3d: (P, J, 3) targets, or `None`.
        scalars: name -> (P,) long tensor, e.g. subject, action, camera.
    """

    def __init__(self, skeleton: Skeleton, x2d: Tensor, y3d: Optional[Tensor] = None,
                 **scalars: Tensor):
        self.skeleton = skeleton
        self.x2d, self.y3d = x2d, y3d
        self.scalars = {k: torch.as_tensor(v, dtype=torch.long) for k, v in scalars.items()}
        self._templates: dict[tuple, Batch] = {}

    @classmethod
    def from_poses(cls, poses, skeleton: Skeleton) -> "SkeletonBatcher":
        return cls(skeleton, torch.from_numpy(poses.x2d), torch.from_numpy(poses.y3d),
                   subject=torch.from_numpy(poses.subject), action=torch.from_numpy(poses.action),
                   camera=torch.from_numpy(poses.camera))

    def __len__(self) -> int:
        return self.x2d.size(0)

    def _template(self, B: int, device) -> Batch:
        key = (B, str(device))
        if key not in self._templates:
            J = self.skeleton.num_joints
            zeros = {k: 0 for k in self.scalars}
            y = torch.zeros(J, 3) if self.y3d is not None else None
            one = pose_data(torch.zeros(J, 2), y, self.skeleton, **zeros)
            self._templates[key] = Batch.from_data_list([one] * B).to(device)
        return self._templates[key]

    def batch(self, idx: Tensor, device="cpu") -> Batch:
        """idx: (B,) pose indices -> `Batch` of B pose graphs on `device`."""
        B = idx.numel()
        out = copy.copy(self._template(B, device))
        out.x = self.x2d[idx].reshape(-1, 2).to(device, non_blocking=True)  # (B*J, 2)
        if self.y3d is not None:
            out.y = self.y3d[idx].reshape(-1, 3).to(device, non_blocking=True)  # (B*J, 3)
        for key, values in self.scalars.items():
            out[key] = values[idx].to(device, non_blocking=True)  # (B,)
        return out

    def iterate(self, batch_size: int, shuffle: bool = False, generator: torch.Generator = None,
                device="cpu", drop_last: bool = False, indices: Optional[Tensor] = None) -> Iterator[Batch]:
        """Batches over all poses (shuffled with `generator` if `shuffle`), or over `indices`
        in their order (a sampler's shard)."""
        if indices is not None:
            order = torch.as_tensor(indices, dtype=torch.long)
        else:
            order = torch.randperm(len(self), generator=generator) if shuffle else torch.arange(len(self))
        P = order.numel()
        stop = P - P % batch_size if drop_last else P
        for start in range(0, stop, batch_size):
            yield self.batch(order[start:start + batch_size], device)

    def num_batches(self, batch_size: int, drop_last: bool = False, count: Optional[int] = None) -> int:
        n = len(self) if count is None else count
        return n // batch_size if drop_last else -(-n // batch_size)

