"""Edge classifier for bottom-up grouping: vertex encoder -> 3 EdgeConv layers -> MLP on pairs."""
import torch
from torch import Tensor, nn
from torch_geometric.nn import MLP, EdgeConv

from gnn.conv.edge_conv_attr import EdgeConvAttr


class EdgeClassifier(nn.Module):
    r"""Scores candidate pairs (i, j): 1 when both belong to the same person.

    Vertex encoder (Linear-BatchNorm-ReLU x `encoder_layers`) -> `num_convs` EdgeConv layers
    (PyG `EdgeConv` with an MLP; with `edge_attr_in_conv`, `EdgeConvAttr` whose message also
    takes the edge attributes), each followed by ReLU -> edge MLP on [h_i, h_j]
    (Linear-BN-ReLU x 3 -> Linear -> logit), averaged over both orders so the score is symmetric.

    Args:
        in_channels (int): Vertex feature size.
        edge_dim (int): Edge attribute size (used with `edge_attr_in_conv`).
        hidden_channels (int, optional): (default: 64)
        num_convs (int, optional): (default: 3)
        encoder_layers (int, optional): (default: 2)
        edge_attr_in_conv (bool, optional): (default: `False`)

    Shapes:
        - **input:** x (M, F), edge_index (2, 2E) message edges, edge_attr (2E, A), pair_index (2, E)
        - **output:** logits (E,)
    """

    def __init__(self, in_channels: int, edge_dim: int, hidden_channels: int = 64,
                 num_convs: int = 3, encoder_layers: int = 2, edge_attr_in_conv: bool = False):
        super().__init__()
        C = hidden_channels
        self.edge_attr_in_conv = edge_attr_in_conv
        self.encoder = MLP([in_channels] + [C] * encoder_layers, norm="batch_norm", plain_last=False)
        self.convs = nn.ModuleList()
        for _ in range(num_convs):
            if edge_attr_in_conv:
                self.convs.append(EdgeConvAttr(MLP([2 * C + edge_dim, C, C], norm="batch_norm")))
            else:
                self.convs.append(EdgeConv(MLP([2 * C, C, C], norm="batch_norm")))
        # Edge MLP on [h_i, h_j]: Linear-BN-ReLU x3 -> Linear. Its first Linear is applied as
        # W_i h_i + W_j h_j with the products taken per node, not per pair.
        self.pair_lin = nn.Linear(2 * C, C)
        self.pair_bn = nn.BatchNorm1d(C)
        self.classifier = MLP([C, C, C, 1], norm="batch_norm")

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, pair_index: Tensor) -> Tensor:
        h = self.encoder(x)  # (M, C)
        for conv in self.convs:
            h = conv(h, edge_index, edge_attr) if self.edge_attr_in_conv else conv(h, edge_index)
            h = h.relu()
        C = h.size(1)
        u = h @ self.pair_lin.weight[:, :C].t()  # (M, C): W_i h
        v = h @ self.pair_lin.weight[:, C:].t()  # (M, C): W_j h
        i, j = pair_index
        z = torch.cat([u[i] + v[j], u[j] + v[i]], 0) + self.pair_lin.bias  # (2E, C): both orders
        z = torch.relu(self.pair_bn(z))
        return self.classifier(z).view(2, -1).mean(0)  # (E,), symmetric in i and j
