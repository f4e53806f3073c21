"""Edge classifier for bottom-up grouping: vertex encoder -> 3 EdgeConv layers -> MLP on pairs."""
import copy
from typing import Optional

from torch import Tensor, nn
from torch_geometric.nn import MLP, EdgeConv

from gnn.conv.edge_conv_attr import EdgeConvAttr
from gnn.fold_batch_norm import fold_batch_norm, stack_linears


class EdgeClassifier(nn.Module):
    r"""Scores candidate pairs (i, j): 1 when both belong to the same person.

    Vertex encoder (Linear-BatchNorm-ReLU x `encoder_layers`) -> `num_convs` EdgeConv layers
    (PyG `EdgeConv` with an MLP Linear-BN-ReLU-Linear; with `edge_attr_in_conv`, `EdgeConvAttr`,
    the same MLP whose message also takes the edge attributes), each followed by ReLU -> edge
    MLP on [h_i, h_j] (with `pair_attr`: on [h_i, h_j, e_ij], the pair's own attributes)
    (Linear-BN-ReLU x 3 -> Linear -> logit). Pairs come in a canonical order (the graph
    builders give i < j, candidates sorted by keypoint type).

    Args:
        in_channels (int): Vertex feature size.
        edge_dim (int): Edge attribute size (used with `edge_attr_in_conv`).
        hidden_channels (int, optional): (default: 64)
        num_convs (int, optional): (default: 3)
        encoder_layers (int, optional): (default: 2)
        edge_attr_in_conv (bool, optional): (default: `False`)
        pair_attr (bool, optional): The edge MLP also takes the pair's attributes (E, edge_dim).
            (default: `False`)

    Shapes:
        - **input:** x (M, F), edge_index (2, 2E') message edges, edge_attr (2E', A),
          pair_index (2, E), pair_attr (E, A) or `None`
        - **output:** logits (E,)
    """

    def __init__(self, in_channels: int, edge_dim: int, hidden_channels: int = 64,
                 num_convs: int = 3, encoder_layers: int = 2, edge_attr_in_conv: bool = False,
                 pair_attr: bool = False):
        super().__init__()
        C = hidden_channels
        self.edge_attr_in_conv = edge_attr_in_conv
        self.encoder = MLP([in_channels] + [C] * encoder_layers, norm="batch_norm", plain_last=False)
        self.convs = nn.ModuleList()
        for _ in range(num_convs):
            if edge_attr_in_conv:
                self.convs.append(EdgeConvAttr(C, edge_dim, C))
            else:
                self.convs.append(EdgeConv(MLP([2 * C, C, C], norm="batch_norm")))
        # Edge MLP on [h_i, h_j]: Linear-BN-ReLU x3 -> Linear. Its first Linear is applied as
        # W_i h_i + W_j h_j with the products taken per node, not per pair.
        self.pair_i = nn.Linear(C, C)
        self.pair_j = nn.Linear(C, C, bias=False)
        self.pair_e = nn.Linear(edge_dim, C, bias=False) if pair_attr else None
        self.pair_norm = nn.BatchNorm1d(C)
        self.pair_ij = None  # inference copies: pair_i and pair_j stacked
        self.classifier = MLP([C, C, C, 1], norm="batch_norm")

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, pair_index: Tensor,
                pair_attr: Optional[Tensor] = None) -> Tensor:
        h = self.encoder(x)  # (M, C)
        for conv in self.convs:
            h = conv(h, edge_index, edge_attr) if self.edge_attr_in_conv else conv(h, edge_index)
            h = h.relu()
        i, j = pair_index[0], pair_index[1]
        if self.pair_ij is not None:
            zi, zj = self.pair_ij(h).chunk(2, dim=-1)
        else:
            zi, zj = self.pair_i(h), self.pair_j(h)
        z = zi.index_select(0, i) + zj.index_select(0, j)  # (E, C): the first Linear on [h_i, h_j]
        if self.pair_e is not None:
            z = z + self.pair_e(pair_attr)  # ... on [h_i, h_j, e_ij]
        return self.classifier(self.pair_norm(z).relu()).view(-1)  # (E,)

    def fused(self) -> "EdgeClassifier":
        """An inference copy (eval mode) with every BatchNorm folded into the Linear before it
        and the per-node products of both pair ends (and of EdgeConvAttr's two ends) stacked
        into one Linear: the same outputs as `eval()` with fewer operations."""
        m = copy.deepcopy(self).eval()
        mlps = [m.encoder, m.classifier] + [c.nn for c in m.convs if isinstance(c, EdgeConv)]
        for mlp in mlps:
            for k, norm in enumerate(mlp.norms):
                fold_batch_norm([mlp.lins[k]], norm)
                mlp.norms[k] = nn.Identity()
        for c in m.convs:
            if isinstance(c, EdgeConvAttr):
                fold_batch_norm([c.lin_i, c.lin_j, c.lin_edge], c.norm)
                c.norm = nn.Identity()
        fold_batch_norm([m.pair_i, m.pair_j] + ([m.pair_e] if m.pair_e is not None else []), m.pair_norm)
        m.pair_norm = nn.Identity()
        m.pair_ij = stack_linears(m.pair_i, m.pair_j)  # one product per node for both ends
        for c in m.convs:
            if isinstance(c, EdgeConvAttr):
                c.stack_node_linears()
        return m
