"""A dense, batched SemGCN written as the original SemGCN code computes it: (B, J, C) tensors,
a (J, J) adjacency rebuilt and softmax-normalised in every layer, the non-local block on the
joints re-ordered by group. Same parameter names as `SemGCN`, so `load_state_dict` copies
weights between the two. It is the reference for tests and for `bench/lifting.py`.
"""
from typing import Optional, Sequence

import torch
from torch import Tensor, nn
from torch_geometric.nn import DenseGCNConv


class DenseSemGraphConv(nn.Module):
    """Shapes: (B, J, C_in) -> (B, J, C_out)."""

    def __init__(self, in_channels: int, out_channels: int, template_edge_index: Tensor,
                 num_joints: int, channelwise: bool = False):
        super().__init__()
        E = template_edge_index.size(1)  # directed bones, no self-loops
        width = out_channels if channelwise else 1
        self.weight = nn.Parameter(torch.empty(2, in_channels, out_channels))
        self.e_self = nn.Parameter(torch.ones(num_joints, width))
        self.e_edge = nn.Parameter(torch.ones(E, width))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("src", template_edge_index[0].clone(), persistent=False)
        self.register_buffer("dst", template_edge_index[1].clone(), persistent=False)
        self.register_buffer("eye", torch.eye(num_joints), persistent=False)
        nn.init.xavier_uniform_(self.weight, gain=1.414)

    def forward(self, x: Tensor) -> Tensor:
        h0 = torch.matmul(x, self.weight[0])  # (B, J, C)
        h1 = torch.matmul(x, self.weight[1])  # (B, J, C)
        J, C = self.eye.size(0), self.e_edge.size(1)
        ch = torch.arange(C, device=x.device)[:, None]
        diag = torch.arange(J, device=x.device)[None]
        logits = self.e_edge.new_full((C, J, J), -9e15)
        logits = logits.index_put((ch, self.dst[None], self.src[None]), self.e_edge.t())  # row i = target
        logits = logits.index_put((ch, diag, diag), self.e_self.t())  # (C, J, J)
        adj = torch.softmax(logits, dim=2)  # normalised over each joint's neighbours
        M = self.eye
        if C == 1:
            out = torch.matmul(adj[0] * M, h0) + torch.matmul(adj[0] * (1 - M), h1)
        else:
            out = (torch.einsum("cij,bjc->bic", adj * M, h0)
                   + torch.einsum("cij,bjc->bic", adj * (1 - M), h1))
        return out + self.bias


class DenseGraphNonLocal(nn.Module):
    """Shapes: (B, J, C) -> (B, J, C)."""

    def __init__(self, channels: int, joint_groups: Sequence[Sequence[int]]):
        super().__init__()
        I = channels // 2
        self.group_size = len(joint_groups[0])
        self.num_groups = len(joint_groups)
        order = [j for g in joint_groups for j in g]
        self.register_buffer("order", torch.tensor(order), persistent=False)
        self.theta, self.phi, self.g = nn.Linear(channels, I), nn.Linear(channels, I), nn.Linear(channels, I)
        self.concat_project = nn.Parameter(torch.empty(2 * I).uniform_(-0.1, 0.1))
        self.out = nn.Linear(I, channels)
        self.bn = nn.BatchNorm1d(channels)

    def forward(self, x: Tensor) -> Tensor:
        B, J, C = x.shape
        G, S, I = self.num_groups, self.group_size, self.theta.out_features
        xg = x[:, self.order]  # (B, J, C) joints re-ordered by group
        theta = self.theta(xg)  # (B, J, I)
        phi = self.phi(xg).view(B, G, S, I).amax(2)  # (B, G, I) max-pool over each group
        g = self.g(xg).view(B, G, S, I).amax(2)  # (B, G, I)
        a = theta @ self.concat_project[:I]  # (B, J)
        b = phi @ self.concat_project[I:]  # (B, G)
        f = torch.relu(a[:, :, None] + b[:, None, :]) / G  # (B, J, G)
        y = self.out(torch.matmul(f, g))  # (B, J, C)
        y = self.bn(y.reshape(B * J, C)).view(B, J, C)
        z = torch.empty_like(x)
        z[:, self.order] = xg + y  # restore the joint order
        return z


class _DenseGCN(DenseGCNConv):
    def __init__(self, in_channels, out_channels, adj):
        super().__init__(in_channels, out_channels)
        self.register_buffer("adj", adj, persistent=False)

    def forward(self, x):
        return super().forward(x, self.adj)


class _DenseConvBNReLU(nn.Module):
    def __init__(self, conv: nn.Module, channels: int):
        super().__init__()
        self.conv, self.bn = conv, nn.BatchNorm1d(channels)

    def forward(self, x):
        x = self.conv(x)  # (B, J, C)
        B, J, C = x.shape
        return torch.relu(self.bn(x.reshape(B * J, C)).view(B, J, C))


class _DenseResBlock(nn.Module):
    def __init__(self, make_conv, channels):
        super().__init__()
        self.layer1 = _DenseConvBNReLU(make_conv(channels, channels), channels)
        self.layer2 = _DenseConvBNReLU(make_conv(channels, channels), channels)

    def forward(self, x):
        return x + self.layer2(self.layer1(x))


class DenseSemGCN(nn.Module):
    """Dense twin of `gnn.models.SemGCN` (no dropout). Shapes: (B, J, 2) -> (B, J, 3)."""

    def __init__(self, num_joints: int, template_edge_index: Tensor, hidden_channels: int = 128,
                 num_blocks: int = 4, in_channels: int = 2, out_channels: int = 3,
                 conv: str = "sem", joint_groups: Optional[Sequence[Sequence[int]]] = None):
        super().__init__()
        C = hidden_channels
        if conv == "gcn":
            adj = torch.zeros(num_joints, num_joints)
            adj[template_edge_index[1], template_edge_index[0]] = 1.0  # DenseGCNConv adds I

            def make_conv(i, o):
                return _DenseGCN(i, o, adj)
        else:
            def make_conv(i, o):
                return DenseSemGraphConv(i, o, template_edge_index, num_joints, conv == "sem-ch")
        self.input = _DenseConvBNReLU(make_conv(in_channels, C), C)
        self.blocks = nn.ModuleList(_DenseResBlock(make_conv, C) for _ in range(num_blocks))
        self.non_local = (nn.ModuleList(DenseGraphNonLocal(C, joint_groups) for _ in range(num_blocks + 1))
                          if joint_groups is not None else None)
        self.output = make_conv(C, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        x = self.input(x)
        if self.non_local is not None:
            x = self.non_local[0](x)
        for i, block in enumerate(self.blocks):
            x = block(x)
            if self.non_local is not None:
                x = self.non_local[i + 1](x)
        return self.output(x)
