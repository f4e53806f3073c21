import math

import torch
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn import MessagePassing
from torch_geometric.typing import Adj
from torch_geometric.utils import softmax


class SemGraphConv(MessagePassing):
    r"""Semantic graph convolution (Zhao et al., "Semantic Graph Convolutional Networks for 3D
    Human Pose Regression", CVPR 2019).

    .. math::
        \mathbf{h}_i' = a_{ii} \mathbf{W}_0 \mathbf{x}_i
            + \sum_{j \in \mathcal{N}(i) \setminus \{i\}} a_{ij} \mathbf{W}_1 \mathbf{x}_j
            + \mathbf{b},
        \qquad
        a_{ij} = \frac{\exp(e_{t(i,j)})}{\sum_{k \in \mathcal{N}(i)} \exp(e_{t(i,k)})}

    where :math:`\mathcal{N}(i)` includes :math:`i` itself and :math:`e_t` is one learnable scalar
    per edge :math:`t` of the skeleton template (initialised to 1), shared by every skeleton of a
    batch. With `channelwise=True` (SemGCN's channel-wise variant) :math:`e_t` is a vector with one
    weight per output channel and the softmax is taken per channel.

    Args:
        in_channels (int): Size of each input sample.
        out_channels (int): Size of each output sample.
        num_edge_types (int): Number of edges of the skeleton template, self-loops included
            (for a tree of J joints: J + 2 (J - 1)).
        channelwise (bool, optional): One edge weight per output channel. (default: `False`)
        bias (bool, optional): Learn an additive bias. (default: `True`)

    `edge_index` must contain a self-loop for every node (`Skeleton.edge_index(self_loops=True)`);
    `edge_type[k]` is the template edge of edge k. The weights are initialised as in SemGCN:
    Xavier-uniform with gain 1.414 on the stacked (2, C_in, C_out) tensor `weight` (W0 = weight[0],
    W1 = weight[1]), bias uniform in +-1/sqrt(C_out).

    Shapes:
        - **input:** node features (N, C_in), edge indices (2, E), edge types (E,)
        - **output:** node features (N, C_out)
    """

    def __init__(self, in_channels: int, out_channels: int, num_edge_types: int,
                 channelwise: bool = False, bias: bool = True):
        super().__init__(aggr="add", node_dim=0)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_edge_types = num_edge_types
        self.channelwise = channelwise
        self.weight = Parameter(torch.empty(2, in_channels, out_channels))
        self.e = Parameter(torch.empty(num_edge_types, out_channels if channelwise else 1))
        self.bias = Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        super().reset_parameters()
        torch.nn.init.xavier_uniform_(self.weight, gain=1.414)
        torch.nn.init.constant_(self.e, 1.0)
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.out_channels)
            torch.nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor, edge_index: Adj, edge_type: Tensor) -> Tensor:
        N = x.size(0)
        src, dst = edge_index[0], edge_index[1]
        h = torch.matmul(x, self.weight)  # (2, N, C_out): W0 x and W1 x in one batched matmul
        h0, h1 = h[0], h[1]
        alpha = softmax(self.e[edge_type], dst, num_nodes=N)  # (E, 1 | C_out)
        # Every edge carries W1 x_j; the self-loop's share is then swapped from W1 x_i to W0 x_i.
        is_loop = (src == dst).unsqueeze(-1).to(alpha.dtype)  # (E, 1)
        alpha_self = alpha.new_zeros(N, alpha.size(1)).index_add_(0, dst, alpha * is_loop)
        out = self.propagate(edge_index, x=h1, alpha=alpha)  # (N, C_out)
        out = out + alpha_self * (h0 - h1)
        if self.bias is not None:
            out = out + self.bias
        return out

    def message(self, x_j: Tensor, alpha: Tensor) -> Tensor:
        return alpha * x_j

    def __repr__(self) -> str:
        extra = ", channelwise=True" if self.channelwise else ""
        return f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}{extra})"
