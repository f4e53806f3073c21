"""SemGCN (Zhao et al., CVPR 2019), its vanilla-GCN baseline and Modulated GCN (Zou and Tang, ICCV
2021: the same architecture with modulated graph convs), on batched PyG graphs."""
from typing import Optional, Sequence

import torch
from torch import Tensor, nn
from torch_geometric.nn import GCNConv

from gnn.conv import GraphNonLocal, ModulatedGraphConv, SemGraphConv
from gnn.conv.modulated_graph_conv import complete_pose_graph

CONV_KINDS = ("sem", "sem-ch", "gcn", "modulated")


class _GCNConv(GCNConv):
    """PyG's `GCNConv` (fixed symmetric-normalised adjacency with self-loops) taking the same
    arguments as `SemGraphConv`; the edge types are not used."""

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return super().forward(x, edge_index)

    def dense_adjacency(self, template_edge_index: Tensor, num_joints: int) -> Tensor:
        """The template's D^-1/2 (A + I) D^-1/2 (J, J), as `gcn_norm` weighs the edges."""
        A = torch.eye(num_joints, device=template_edge_index.device)
        A[template_edge_index[1], template_edge_index[0]] = 1.0
        d = A.sum(1).rsqrt()
        return d[:, None] * A * d[None, :]

    def forward_dense(self, x: Tensor, adjacency: Tensor) -> Tensor:
        """Joint-major: x (J, B, C_in) -> (J, B, C_out)."""
        h = self.lin(x)
        J, B, C = h.shape
        out = (adjacency @ h.reshape(J, B * C)).view(J, B, C)
        return out + self.bias if self.bias is not None else out


def _make_conv(kind: str, in_channels: int, out_channels: int, num_joints: int,
               num_edge_types: int, edges) -> nn.Module:
    if kind == "gcn":
        return _GCNConv(in_channels, out_channels)
    if kind == "modulated":
        return ModulatedGraphConv(in_channels, out_channels, num_joints, edges)
    return SemGraphConv(in_channels, out_channels, num_joints, num_edge_types,
                        channelwise=kind == "sem-ch")


class _ConvBNReLU(nn.Module):
    """graph conv -> BatchNorm1d -> ReLU (-> Dropout)."""

    def __init__(self, conv: nn.Module, channels: int, dropout: float):
        super().__init__()
        self.conv = conv
        self.bn = nn.BatchNorm1d(channels)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None

    def forward(self, x: Tensor, graph: tuple) -> Tensor:
        x = torch.relu(self.bn(self.conv(x, *graph)))
        return self.dropout(x) if self.dropout is not None else x

    def forward_dense(self, x: Tensor, adjacency) -> Tensor:
        x = self.conv.forward_dense(x, adjacency)  # (J, B, C)
        J, B, C = x.shape
        x = torch.relu(self.bn(x.reshape(J * B, C))).view(J, B, C)
        return self.dropout(x) if self.dropout is not None else x


class _ResBlock(nn.Module):
    def __init__(self, make_conv, channels: int, dropout: float):
        super().__init__()
        self.layer1 = _ConvBNReLU(make_conv(channels, channels), channels, dropout)
        self.layer2 = _ConvBNReLU(make_conv(channels, channels), channels, dropout)

    def forward(self, x: Tensor, graph: tuple) -> Tensor:
        return x + self.layer2(self.layer1(x, graph), graph)

    def forward_dense(self, x: Tensor, adjacencies) -> Tensor:
        return x + self.layer2.forward_dense(self.layer1.forward_dense(x, adjacencies[0]), adjacencies[1])


class SemGCN(nn.Module):
    r"""SemGCN: an input graph conv (2 -> C), `num_blocks` residual blocks of two
    conv-BatchNorm-ReLU(-Dropout) layers, an output graph conv (C -> 3); with `joint_groups`, a
    `GraphNonLocal` block after the input layer and after each residual block.

    Args:
        num_joints (int): J, joints per skeleton.
        num_edge_types (int): Directed edges of the skeleton template, self-loops excluded.
        hidden_channels (int, optional): C. (default: 128)
        num_blocks (int, optional): Residual blocks. (default: 4)
        in_channels (int, optional): (default: 2)
        out_channels (int, optional): (default: 3)
        dropout (float, optional): Dropout after each hidden layer, 0 for none. (default: 0)
        conv (str, optional): `sem` (SemGraphConv), `sem-ch` (channel-wise), `gcn` (vanilla
            GCN with a fixed normalised adjacency) or `modulated` (ModulatedGraphConv: Modulated
            GCN). (default: `sem`)
        joint_groups (sequence, optional): Joint groups for the non-local blocks; `None` for no
            non-local block. (default: `None`)
        edges (list, optional): The template's bones (2, E) as nested lists; needed by
            `modulated`. (default: `None`)

    For 16 joints, C = 128, 4 blocks: 267,343 parameters, 434,703 with non-local blocks, 287,923
    with modulated convs (Zou and Tang's 0.29M).

    Shapes:
        - **input:** x (N, 2), edge_index (2, E) without self-loops, edge_type (E,), joint (N,),
          batch (N,), with N = B * J
        - **output:** (N, 3)
    """

    def __init__(self, num_joints: int, num_edge_types: int, hidden_channels: int = 128,
                 num_blocks: int = 4, in_channels: int = 2, out_channels: int = 3,
                 dropout: float = 0.0, conv: str = "sem",
                 joint_groups: Optional[Sequence[Sequence[int]]] = None, edges=None):
        super().__init__()
        if conv not in CONV_KINDS:
            raise ValueError(f"conv must be one of {CONV_KINDS}, not {conv!r}")
        if conv == "modulated" and edges is None:
            raise ValueError("conv 'modulated' needs the template's edges")
        C = hidden_channels
        self.conv_kind, self.num_joints = conv, num_joints

        def make_conv(i: int, o: int) -> nn.Module:
            return _make_conv(conv, i, o, num_joints, num_edge_types, edges)

        self.input = _ConvBNReLU(make_conv(in_channels, C), C, dropout)
        self.blocks = nn.ModuleList(_ResBlock(make_conv, C, dropout) for _ in range(num_blocks))
        if joint_groups is not None:
            self.non_local = nn.ModuleList(GraphNonLocal(C, joint_groups) for _ in range(num_blocks + 1))
        else:
            self.non_local = None
        self.output = make_conv(C, out_channels)

    def forward(self, x: Tensor, edge_index: Tensor, edge_type: Optional[Tensor] = None,
                joint: Optional[Tensor] = None, batch: Optional[Tensor] = None) -> Tensor:
        if x.dim() == 3:  # (B, J, 2): every graph is the template `edge_index` (fixed topology)
            return self.forward_dense(x, edge_index)
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        if self.conv_kind == "gcn":
            graph = (edge_index,)
        elif self.conv_kind == "modulated":  # messages between all joints of a pose
            graph = (complete_pose_graph(batch, self.num_joints), joint)
        else:
            graph = (edge_index, edge_type, joint)
        x = self.input(x, graph)
        if self.non_local is not None:
            x = self.non_local[0](x, joint, batch)
        for i, block in enumerate(self.blocks):
            x = block(x, graph)
            if self.non_local is not None:
                x = self.non_local[i + 1](x, joint, batch)
        return self.output(x, *graph)

    def forward_dense(self, x: Tensor, template_edge_index: Tensor) -> Tensor:
        """Fixed topology: x (B, J, 2), every pose the skeleton template whose directed bones
        `template_edge_index` (2, E) lists in the order of the edge types -> (B, J, 3). The same
        layers and parameters as the graph path, run on (B, J, C) tensors with each layer's
        (J, J) weights computed once per call: outputs and gradients equal the graph path's."""
        def adj(conv):
            return conv.dense_adjacency(template_edge_index, x.size(0))

        x = x.transpose(0, 1).contiguous()  # joint-major (J, B, 2): neighbour sums are plain products
        x = self.input.forward_dense(x, adj(self.input.conv))
        if self.non_local is not None:
            x = self.non_local[0].forward_dense(x)
        for i, block in enumerate(self.blocks):
            x = block.forward_dense(x, (adj(block.layer1.conv), adj(block.layer2.conv)))
            if self.non_local is not None:
                x = self.non_local[i + 1].forward_dense(x)
        return self.output.forward_dense(x, adj(self.output)).transpose(0, 1)  # (B, J, 3)
