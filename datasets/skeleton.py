"""Keypoint metadata as data: one `Skeleton` per dataset, built once.

A skeleton knows its joint names, its edges (bones), left/right pairs, the joint groups of
SemGCN's non-local blocks and OKS sigmas where they are defined. `edge_index()` gives the PyG
graph of one skeleton.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor

from dataclasses import dataclass, field
from typing import Optional



@dataclass(frozen=True)
class Skeleton:
    name: str
    joint_names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]  # undirected bones (a, b)
    left: tuple[int, ...] = ()
    right: tuple[int, ...] = ()
    parents: Optional[tuple[int, ...]] = None  # kinematic tree, -1 for the root
    joint_groups: Optional[tuple[tuple[int, ...], ...]] = None  # non-local grouping
    sigmas: Optional[tuple[float, ...]] = None  # OKS per-keypoint sigmas
    joints_from_32: Optional[tuple[int, ...]] = None  # indices into H36M's 32 mocap joints
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        J = len(self.joint_names)
        for a, b in self.edges:
            if not (0 <= a < J and 0 <= b < J) or a == b:
                raise ValueError(f"skeleton {self.name}: bad edge ({a}, {b})")
        if len(self.left) != len(self.right):
            raise ValueError(f"skeleton {self.name}: left/right lists differ in length")
        if self.parents is not None and len(self.parents) != J:
            raise ValueError(f"skeleton {self.name}: {len(self.parents)} parents for {J} joints")
        if self.sigmas is not None and len(self.sigmas) != J:
            raise ValueError(f"skeleton {self.name}: {len(self.sigmas)} sigmas for {J} joints")
        if self.joint_groups is not None:
            flat = sorted(j for g in self.joint_groups for j in g)
            if flat != list(range(J)):
                raise ValueError(f"skeleton {self.name}: joint groups must cover every joint once")
            if len({len(g) for g in self.joint_groups}) != 1:
                raise ValueError(f"skeleton {self.name}: joint groups must have equal sizes")

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def root(self) -> int:
        return 0

    @property
    def flip_permutation(self) -> list[int]:
        """Joint order after a horizontal flip (left and right swapped)."""
        perm = list(range(self.num_joints))
        for a, b in zip(self.left, self.right):
            perm[a], perm[b] = b, a
        return perm

    def edge_index(self, self_loops: bool = False) -> Tensor:
        """PyG `edge_index` (2, E) of one skeleton, both directions of every bone.

        With `self_loops=True` the J self-loops come first (edge ids 0..J-1), then the bones;
        the position of an edge in this template is its `edge_type`.
        """
        key = ("edge_index", self_loops)
        if key not in self._cache:
            src, dst = [], []
            if self_loops:
                src += list(range(self.num_joints))
                dst += list(range(self.num_joints))
            for a, b in self.edges:
                src += [a, b]
                dst += [b, a]
            import torch  # here, not at import time: the CLIs' parsers load this module without torch
            self._cache[key] = torch.tensor([src, dst], dtype=torch.long)
        return self._cache[key]

    def adjacency(self, self_loops: bool = True) -> Tensor:
        """Dense (J, J) 0/1 adjacency, symmetric."""
        import torch
        A = torch.zeros(self.num_joints, self.num_joints)
        ei = self.edge_index(self_loops)
        A[ei[1], ei[0]] = 1.0
        return A


def _edges_from_parents(parents) -> tuple[tuple[int, int], ...]:
    return tuple((p, j) for j, p in enumerate(parents) if p >= 0)


_H36M17_NAMES = ("Hip", "RHip", "RKnee", "RFoot", "LHip", "LKnee", "LFoot", "Spine", "Thorax",
                 "Neck/Nose", "Head", "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow",
                 "RWrist")
_H36M17_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)

H36M17 = Skeleton(
    name="h36m17",
    joint_names=_H36M17_NAMES,
    edges=_edges_from_parents(_H36M17_PARENTS),
    parents=_H36M17_PARENTS,
    left=(4, 5, 6, 11, 12, 13),
    right=(1, 2, 3, 14, 15, 16),
    joints_from_32=(0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27),
)

_H36M16_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 8, 10, 11, 8, 13, 14)
H36M16 = Skeleton(
    name="h36m16",
    joint_names=tuple(n for n in _H36M17_NAMES if n != "Neck/Nose"),
    edges=_edges_from_parents(_H36M16_PARENTS),
    parents=_H36M16_PARENTS,
    left=(4, 5, 6, 10, 11, 12),
    right=(1, 2, 3, 13, 14, 15),
    # SemGCN's grouping for its non-local blocks (pairs of joints).
    joint_groups=((2, 3), (5, 6), (1, 4), (0, 7), (8, 9), (14, 15), (11, 12), (10, 13)),
    joints_from_32=(0, 1, 2, 3, 6, 7, 8, 12, 13, 15, 17, 18, 19, 25, 26, 27),
)

# Index of H36M-17's Neck/Nose, dropped to obtain H36M-16.
H36M17_TO_16 = tuple(j for j in range(17) if j != 9)
# MPII-16 (Stacked Hourglass) index of each H36M-16 joint.
MPII16_TO_H36M16 = (6, 2, 1, 0, 3, 4, 5, 7, 8, 9, 13, 14, 15, 12, 11, 10)

COCO17 = Skeleton(
    name="coco17",
    joint_names=("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
                 "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                 "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"),
    # COCO's own skeleton (converted from its 1-based list).
    edges=((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
           (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6)),
    left=(1, 3, 5, 7, 9, 11, 13, 15),
    right=(2, 4, 6, 8, 10, 12, 14, 16),
    sigmas=(.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107, .107, .087,
            .087, .089, .089),
)

CROWDPOSE14 = Skeleton(
    name="crowdpose14",
    joint_names=("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
                 "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
                 "right_ankle", "head", "neck"),
    edges=((12, 13), (13, 0), (13, 1), (0, 2), (2, 4), (1, 3), (3, 5), (0, 6), (1, 7), (6, 7),
           (6, 8), (8, 10), (7, 9), (9, 11)),
    left=(0, 2, 4, 6, 8, 10),
    right=(1, 3, 5, 7, 9, 11),
    sigmas=(.079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089, .079, .079),
)

SKELETONS = {s.name: s for s in (H36M17, H36M16, COCO17, CROWDPOSE14)}


def h36m_skeleton(num_joints: int) -> Skeleton:
    if num_joints == 17:
        return H36M17
    if num_joints == 16:
        return H36M16
    raise ValueError(f"Human3.6M skeletons have 16 or 17 joints, not {num_joints}")
