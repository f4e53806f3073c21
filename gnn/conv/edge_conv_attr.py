from typing import Callable

import torch
from torch import Tensor
from torch_geometric.nn import MessagePassing
from torch_geometric.nn.inits import reset


class EdgeConvAttr(MessagePassing):
    r"""EdgeConv (Wang et al., "Dynamic Graph CNN") whose message also sees the edge attributes:

    .. math::
        \mathbf{x}_i' = \max_{j \in \mathcal{N}(i)}
            h_{\Theta}\left(\mathbf{x}_i \,\|\, \mathbf{x}_j - \mathbf{x}_i \,\|\, \mathbf{e}_{ji}\right)

    Args:
        nn (torch.nn.Module): :math:`h_\Theta`, mapping (N, 2 C + A) to (N, C_out), e.g. an MLP.
        aggr (str, optional): Aggregation. (default: `"max"`)

    Shapes:
        - **input:** node features (N, C), edge indices (2, E), edge attributes (E, A)
        - **output:** node features (N, C_out)
    """

    def __init__(self, nn: Callable, aggr: str = "max"):
        super().__init__(aggr=aggr)
        self.nn = nn
        self.reset_parameters()

    def reset_parameters(self):
        super().reset_parameters()
        reset(self.nn)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        return self.propagate(edge_index, x=x, edge_attr=edge_attr)

    def message(self, x_i: Tensor, x_j: Tensor, edge_attr: Tensor) -> Tensor:
        return self.nn(torch.cat([x_i, x_j - x_i, edge_attr], dim=-1))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(nn={self.nn})"
