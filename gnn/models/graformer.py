"""A GraFormer-style lifter (Zhao, Wang and Tian, "GraFormer: Graph-Oriented Transformer for 3D
Pose Estimation", CVPR 2022): multi-head self-attention over the joints, made graph-aware by a
graph convolution with a learned adjacency, alternating with Chebyshev graph convolutions."""
from typing import Optional

import torch
from torch import Tensor, nn
from torch_geometric.nn import ChebConv, DenseGCNConv


class _ChebConv(ChebConv):
    r"""PyG's `ChebConv` (symmetric normalisation, :math:`\lambda_{max} = 2`, so
    :math:`\hat{L} = -D^{-1/2} A D^{-1/2}`) on a skeleton, with the fixed-topology path.
    Weights initialised as GraFormer's code does (Xavier-normal over its stacked (K, 1, C_in, C_out)
    tensor: std = sqrt(2 / ((K + 1) C_in C_out)), far smaller than a per-term Glorot init). With
    PyG's init the residual stream of the 5 unnormalised Chebyshev blocks starts about 60x too
    large (a first-epoch loss of 42 m^2; docs/results.md)."""

    def reset_parameters(self):
        super().reset_parameters()
        K = len(self.lins)
        std = (2.0 / ((K + 1) * self.in_channels * self.out_channels)) ** 0.5
        for lin in self.lins:
            torch.nn.init.normal_(lin.weight, 0.0, std)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return super().forward(x, edge_index, lambda_max=2.0)

    def dense_operators(self, template_edge_index: Tensor, num_joints: int) -> Tensor:
        """The Chebyshev polynomials :math:`T_k(\\hat L)` of the template (K, J, J)."""
        J = num_joints
        A = torch.zeros(J, J, device=template_edge_index.device)
        A[template_edge_index[1], template_edge_index[0]] = 1.0
        d = A.sum(1).clamp_min(1).rsqrt()
        L = -(d[:, None] * A * d[None, :])  # (J, J)
        T = [torch.eye(J, device=A.device), L]
        while len(T) < len(self.lins):
            T.append(2 * L @ T[-1] - T[-2])
        return torch.stack(T[:len(self.lins)])

    def forward_dense(self, x: Tensor, T: Tensor) -> Tensor:
        """x (B, J, C_in) -> (B, J, C_out), every pose the template."""
        B, J, C = x.shape
        K = T.size(0)
        Tx = torch.einsum("kij,bjc->bikc", T.to(x.dtype), x).reshape(B, J, K * C)  # (B, J, K C_in)
        W = torch.cat([lin.weight for lin in self.lins], dim=1)  # (C_out, K C_in)
        out = Tx @ W.t()
        return out + self.bias if self.bias is not None else out


class _ResChebBlock(nn.Module):
    """Two Chebyshev convs, each followed by ReLU (and dropout), with a skip connection."""

    def __init__(self, channels: int, K: int, dropout: float):
        super().__init__()
        self.conv1 = _ChebConv(channels, channels, K)
        self.conv2 = _ChebConv(channels, channels, K)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        h = self.dropout(torch.relu(self.conv1(x, edge_index)))
        return x + self.dropout(torch.relu(self.conv2(h, edge_index)))

    def forward_dense(self, x: Tensor, T: Tensor) -> Tensor:
        h = self.dropout(torch.relu(self.conv1.forward_dense(x, T)))
        return x + self.dropout(torch.relu(self.conv2.forward_dense(h, T)))


class GraphAttentionBlock(nn.Module):
    r"""GraFormer's graph attention block on (B, J, C): pre-norm multi-head self-attention over
    the joints of each pose, then a pre-norm two-layer graph convolution over a learned (J, J)
    adjacency (initialised to the identity, symmetric-normalised: PyG's `DenseGCNConv`), each
    with a residual connection.

    .. math::
        \mathbf{X} \leftarrow \mathbf{X} + \mathrm{MHA}(\mathrm{LN}(\mathbf{X})), \qquad
        \mathbf{X} \leftarrow \mathbf{X} + \hat{\mathbf{A}} \, \sigma(\hat{\mathbf{A}}
            \, \mathrm{LN}(\mathbf{X}) \mathbf{W}_1 + \mathbf{b}_1) \mathbf{W}_2 + \mathbf{b}_2

    Shapes: (B, J, C) -> (B, J, C).
    """

    def __init__(self, channels: int, num_joints: int, heads: int, dropout: float, attention_dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(channels)
        self.attention = nn.MultiheadAttention(channels, heads, dropout=attention_dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(channels)
        self.adjacency = nn.Parameter(torch.eye(num_joints))
        self.gconv1 = DenseGCNConv(channels, 2 * channels)
        self.gconv2 = DenseGCNConv(2 * channels, channels)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = self.norm1(x)
        x = x + self.dropout(self.attention(h, h, h, need_weights=False)[0])
        A = self.adjacency.to(x.dtype)
        h = torch.relu(self.gconv1(self.norm2(x), A, add_loop=False))
        return x + self.dropout(self.gconv2(h, A, add_loop=False))


class GraFormer(nn.Module):
    r"""A GraFormer-style lifter: a Chebyshev input conv (2 -> C), `num_layers` pairs of
    (`GraphAttentionBlock`, residual block of two Chebyshev convs), a Chebyshev output conv
    (C -> 3). Chebyshev convs of order K (PyG's K terms; GraFormer's K = 2 is K = 3 here).

    Args:
        num_joints (int): J, joints per skeleton.
        hidden_channels (int, optional): C. (default: 96, the paper's)
        num_layers (int, optional): Attention + Chebyshev pairs. (default: 5)
        heads (int, optional): Attention heads. (default: 4)
        K (int, optional): Chebyshev terms. (default: 3)
        dropout (float, optional): Dropout on the attention blocks' residual branches.
            (default: 0.25)
        inner_dropout (float, optional): Dropout of the attention weights and in the Chebyshev
            blocks. (default: 0.1)

    For 16 joints with the defaults: 654,179 parameters (the paper's about 0.65M).

    Shapes:
        - **input:** x (N, 2), edge_index (2, E), edge_type (E,), joint (N,), batch (N,), every
          graph a complete skeleton; or x (B, J, 2) with the template's edge_index (2, E)
        - **output:** (N, 3), or (B, J, 3)
    """

    def __init__(self, num_joints: int, hidden_channels: int = 96, num_layers: int = 5, heads: int = 4,
                 K: int = 3, dropout: float = 0.25, inner_dropout: float = 0.1,
                 in_channels: int = 2, out_channels: int = 3):
        super().__init__()
        if hidden_channels % heads:
            raise ValueError(f"hidden_channels {hidden_channels} must be a multiple of heads {heads}")
        C, self.num_joints = hidden_channels, num_joints
        self.input = _ChebConv(in_channels, C, K)
        self.attention = nn.ModuleList(GraphAttentionBlock(C, num_joints, heads, dropout, inner_dropout)
                                       for _ in range(num_layers))
        self.cheb = nn.ModuleList(_ResChebBlock(C, K, inner_dropout) for _ in range(num_layers))
        self.output = _ChebConv(C, out_channels, K)

    def forward(self, x: Tensor, edge_index: Tensor, edge_type: Optional[Tensor] = None,
                joint: Optional[Tensor] = None, batch: Optional[Tensor] = None) -> Tensor:
        if x.dim() == 3:  # (B, J, 2): every graph is the template `edge_index`
            return self.forward_dense(x, edge_index)
        J, N = self.num_joints, x.size(0)
        if batch is None:
            batch = torch.zeros(N, dtype=torch.long, device=x.device)
        slot = batch * J + joint  # (N,) row of each node in the (B * J) pose-major layout
        h = self.input(x, edge_index)  # (N, C)
        for attention, cheb in zip(self.attention, self.cheb):
            C = h.size(1)
            dense = h.new_zeros(N, C).index_copy(0, slot, h).view(N // J, J, C)  # (B, J, C)
            h = attention(dense).reshape(N, C)[slot]  # (N, C)
            h = cheb(h, edge_index)
        return self.output(h, edge_index)

    def forward_dense(self, x: Tensor, template_edge_index: Tensor) -> Tensor:
        """x (B, J, 2) -> (B, J, 3); outputs and gradients equal the graph path's."""
        T = self.input.dense_operators(template_edge_index, x.size(1))  # (K, J, J), shared by all convs
        h = self.input.forward_dense(x, T)
        for attention, cheb in zip(self.attention, self.cheb):
            h = cheb.forward_dense(attention(h), T)
        return self.output.forward_dense(h, T)
