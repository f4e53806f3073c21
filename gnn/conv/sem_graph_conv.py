import math
from typing import Optional

import torch
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn import MessagePassing
from torch_geometric.typing import Adj


class SemGraphConv(MessagePassing):
    r"""Semantic graph convolution (Zhao et al., "Semantic Graph Convolutional Networks for 3D
    Human Pose Regression", CVPR 2019).

    .. math::
        \mathbf{h}_i' = a_{ii} \mathbf{W}_0 \mathbf{x}_i
            + \sum_{j \in \mathcal{N}(i) \setminus \{i\}} a_{ij} \mathbf{W}_1 \mathbf{x}_j
            + \mathbf{b},
        \qquad
        a_{ij} = \frac{\exp(e_{ij})}{\sum_{k \in \mathcal{N}(i)} \exp(e_{ik})}

    where :math:`\mathcal{N}(i)` includes :math:`i` itself. The logits are learnable scalars of
    the skeleton template, initialised to 1 and shared by every skeleton of a batch: one per
    joint for its self-loop (:math:`e_{ii}` = `e_self[joint[i]]`) and one per directed bone
    (:math:`e_{ij}` = `e_edge[edge_type[k]]` for edge k = (j, i)). With `channelwise=True`
    (SemGCN's channel-wise variant) each logit is a vector with one weight per output channel
    and the softmax is taken per channel.

    Args:
        in_channels (int): Size of each input sample.
        out_channels (int): Size of each output sample.
        num_joints (int): J, joints of the skeleton template (self-loop logits).
        num_edge_types (int): Directed edges of the template, self-loops excluded (2 (J - 1)
            for a tree).
        channelwise (bool, optional): One logit per output channel. (default: `False`)
        bias (bool, optional): Learn an additive bias. (default: `True`)

    `edge_index` holds the skeleton's edges without self-loops (the layer adds every node's
    own term itself); `edge_type[k]` is the template edge of edge k, `joint[i]` the template
    joint of node i. Weights are initialised as in SemGCN: Xavier-uniform with gain 1.414 on the
    stacked (2, C_in, C_out) tensor `weight` (W0 = weight[0], W1 = weight[1]), bias uniform in
    +-1/sqrt(C_out). For 16 joints the 16 + 30 logits equal SemGCN's 46 adjacency entries.

    Shapes:
        - **input:** node features (N, C_in), edge indices (2, E), edge types (E,), joints (N,)
        - **output:** node features (N, C_out)
    """

    def __init__(self, in_channels: int, out_channels: int, num_joints: int,
                 num_edge_types: int, channelwise: bool = False, bias: bool = True):
        super().__init__(aggr="add", node_dim=0)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_joints = num_joints
        self.num_edge_types = num_edge_types
        self.channelwise = channelwise
        width = out_channels if channelwise else 1
        self.weight = Parameter(torch.empty(2, in_channels, out_channels))
        self.e_self = Parameter(torch.empty(num_joints, width))
        self.e_edge = Parameter(torch.empty(num_edge_types, width))
        self.bias = Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        super().reset_parameters()
        torch.nn.init.xavier_uniform_(self.weight, gain=1.414)
        torch.nn.init.constant_(self.e_self, 1.0)
        torch.nn.init.constant_(self.e_edge, 1.0)
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.out_channels)
            torch.nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor, edge_index: Adj, edge_type: Tensor, joint: Tensor) -> Tensor:
        C_in, C_out = self.in_channels, self.out_channels
        dst = edge_index[1]
        # Softmax over each node's neighbourhood, normalised after aggregation: exponentials of
        # the template logits (shifted by their max, which cancels out), per-node sums by one
        # scatter.
        shift = torch.maximum(self.e_self.detach().amax(0), self.e_edge.detach().amax(0))
        w = torch.exp(self.e_edge - shift)[edge_type]  # (E, 1 | C_out)
        w_self = torch.exp(self.e_self - shift)[joint]  # (N, 1 | C_out)
        denom = w_self.index_add(0, dst, w)  # (N, 1 | C_out)
        if C_in < C_out and not self.channelwise:
            # Aggregate the (narrower) inputs first: W1 sum_j w_ij x_j = sum_j w_ij W1 x_j.
            agg = self.propagate(edge_index, x=x, w=w)  # (N, C_in)
            z = torch.cat([w_self * x, agg], dim=1) / denom  # (N, 2 C_in)
            out = z @ self.weight.view(2 * C_in, C_out)  # [W0; W1] in one matmul
        else:
            w_cat = self.weight.permute(1, 0, 2).reshape(C_in, 2 * C_out)  # [W0 | W1]
            h = x @ w_cat  # (N, 2 C_out)
            h0, h1 = h[:, :C_out], h[:, C_out:]
            out = (w_self * h0 + self.propagate(edge_index, x=h1, w=w)) / denom  # (N, C_out)
        if self.bias is not None:
            out = out + self.bias
        return out

    def dense_adjacency(self, template_edge_index: Tensor, num_joints: Optional[int] = None) -> tuple[Tensor, Tensor]:
        """The softmax weights of one skeleton template (J joints, its E directed bones in the
        order of `edge_type`): self-loop weights (J, W) and the other weights (W, J, J), row i the
        joint aggregated into; W = 1, or C_out channel-wise. Differentiable in the logits."""
        src, dst = template_edge_index
        J, W = self.e_self.size(0), self.e_self.size(1)
        shift = torch.maximum(self.e_self.detach().amax(0), self.e_edge.detach().amax(0))
        w = torch.exp(self.e_edge - shift)  # (E, W)
        w_self = torch.exp(self.e_self - shift)  # (J, W)
        denom = w_self.index_add(0, dst, w)  # (J, W)
        ch = torch.arange(W, device=w.device)[:, None]
        off = w.new_zeros(W, J, J).index_put((ch, dst[None], src[None]), (w / denom[dst]).t())
        return w_self / denom, off

    def forward_dense(self, x: Tensor, adjacency: tuple[Tensor, Tensor]) -> Tensor:
        """Every graph the template (`dense_adjacency`), joint-major: x (J, B, C_in) -> (J, B, C_out),
        the outputs of `forward` on the batched graphs. Joint-major, the neighbour sums are one
        (J, J) @ (J, B * C) product on contiguous memory."""
        a_self, off = adjacency
        J, B, C_in = x.shape
        C_out = self.out_channels
        if self.channelwise:
            h0, h1 = x @ self.weight[0], x @ self.weight[1]  # (J, B, C_out) each
            out = a_self[:, None, :] * h0 + torch.einsum("cij,jbc->ibc", off, h1)
        else:  # W0 (a_ii x_i) + W1 (sum_j a_ij x_j): the neighbours summed before the product
            agg = (off[0] @ x.reshape(J, B * C_in)).view(J, B, C_in)
            z = torch.cat([a_self[:, None, :] * x, agg], dim=-1)  # (J, B, 2 C_in): [W0; W1] in one product
            out = z @ self.weight.view(2 * C_in, C_out)
        return out + self.bias if self.bias is not None else out

    def message(self, x_j: Tensor, w: Tensor) -> Tensor:
        return w * x_j

    def __repr__(self) -> str:
        extra = ", channelwise=True" if self.channelwise else ""
        return f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}{extra})"
