import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing
from torch_geometric.nn.dense.linear import Linear

from gnn.fold_batch_norm import stack_linears


class EdgeConvAttr(MessagePassing):
    r"""EdgeConv (Wang et al., "Dynamic Graph CNN") whose message also sees the edge attributes,
    with a two-layer message MLP :math:`h_\Theta` (Linear-BatchNorm-ReLU-Linear):

    .. math::
        \mathbf{x}_i' = \max_{j \in \mathcal{N}(i)}
            h_{\Theta}\left(\mathbf{x}_i \,\|\, \mathbf{x}_j - \mathbf{x}_i \,\|\, \mathbf{e}_{ji}\right)

    The first Linear of :math:`h_\Theta`, :math:`W_1 \mathbf{x}_i + W_2 (\mathbf{x}_j - \mathbf{x}_i)
    + W_3 \mathbf{e}_{ji}`, is computed as :math:`A \mathbf{x}_i + B \mathbf{x}_j + W_3 \mathbf{e}_{ji}`
    with :math:`A = W_1 - W_2` (`lin_i`) and :math:`B = W_2` (`lin_j`) applied once per node, not
    once per edge; only the edge-attribute term (`lin_edge`) is a per-edge product.

    Args:
        in_channels (int): Node feature size C.
        edge_dim (int): Edge attribute size A.
        out_channels (int): Output size.
        hidden_channels (int, optional): Hidden size of the message MLP. (default: `out_channels`)
        aggr (str, optional): Aggregation. (default: `"max"`)

    Shapes:
        - **input:** node features (N, C), edge indices (2, E), edge attributes (E, A)
        - **output:** node features (N, out_channels)
    """

    def __init__(self, in_channels: int, edge_dim: int, out_channels: int,
                 hidden_channels: int | None = None, aggr: str = "max"):
        super().__init__(aggr=aggr)
        hidden = hidden_channels or out_channels
        self.lin_i = Linear(in_channels, hidden)
        self.lin_j = Linear(in_channels, hidden, bias=False)
        self.lin_edge = Linear(edge_dim, hidden, bias=False)
        self.norm = nn.BatchNorm1d(hidden)
        self.lin_out = Linear(hidden, out_channels)
        self.lin_ij = None  # inference copies: lin_i and lin_j stacked (`stack_node_linears`)
        self.reset_parameters()

    def reset_parameters(self):
        super().reset_parameters()
        for m in (self.lin_i, self.lin_j, self.lin_edge, self.norm, self.lin_out):
            m.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        if self.lin_ij is not None:
            a, b = self.lin_ij(x).chunk(2, dim=-1)
        else:
            a, b = self.lin_i(x), self.lin_j(x)
        return self.propagate(edge_index, a=a, b=b, edge_attr=edge_attr)

    def stack_node_linears(self) -> None:
        """For inference: compute lin_i and lin_j as one product from now on (parameters fixed;
        later changes to lin_i / lin_j are not seen)."""
        self.lin_ij = stack_linears(self.lin_i, self.lin_j)

    def message(self, a_i: Tensor, b_j: Tensor, edge_attr: Tensor) -> Tensor:
        z = torch.relu(self.norm(a_i + b_j + self.lin_edge(edge_attr)))
        return self.lin_out(z)

    def first_layer_weight(self) -> Tensor:
        """The first Linear's weight on the concatenation [x_i, x_j - x_i, e]: [A + B, B, W_3]."""
        A, B = self.lin_i.weight, self.lin_j.weight
        return torch.cat([A + B, B, self.lin_edge.weight], dim=1)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.lin_i.in_channels}, {self.lin_out.out_channels}, "
                f"edge_dim={self.lin_edge.in_channels})")
