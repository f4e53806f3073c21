import math

import torch
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn import MessagePassing
from torch_geometric.typing import Adj

Q_INIT = 1e-6  # the affinity modulation's initial value (Zou and Tang's code)


def skeleton_adjacency(edges: Tensor, num_joints: int) -> Tensor:
    """The fixed adjacency the modulated layer starts from: the skeleton's 0/1 adjacency (J, J),
    row-normalised, then with its diagonal set to 1 (as in the authors' code)."""
    A = torch.zeros(num_joints, num_joints)
    A[edges[1], edges[0]] = 1.0
    A[edges[0], edges[1]] = 1.0  # symmetric whatever the direction of the listed bones
    A = A / A.sum(1, keepdim=True).clamp_min(1.0)
    return A.fill_diagonal_(1.0)


def complete_pose_graph(batch: Tensor, num_joints: int) -> Tensor:
    """Every ordered pair of distinct nodes within each graph of a batch (2, B * J * (J - 1)):
    the edges the affinity modulation may weight. `batch` (N,) sorted, as PyG batches are, with J
    nodes per graph."""
    B = int(batch[-1]) + 1 if batch.numel() else 0
    if batch.numel() != B * num_joints:
        raise ValueError(f"every graph must have all {num_joints} joints ({batch.numel()} nodes in {B} graphs)")
    J = num_joints
    local = torch.arange(J, device=batch.device)
    src, dst = local.repeat_interleave(J), local.repeat(J)  # all (j, i)
    keep = src != dst
    pairs = torch.stack([src[keep], dst[keep]])  # (2, J (J - 1))
    offset = (torch.arange(B, device=batch.device) * J).repeat_interleave(pairs.size(1))
    return pairs.repeat(1, B) + offset  # (2, B J (J - 1))


class ModulatedGraphConv(MessagePassing):
    r"""Modulated graph convolution (Zou and Tang, "Modulated Graph Convolutional Network for 3D
    Human Pose Estimation", ICCV 2021).

    .. math::
        \mathbf{h}_i' = \tilde a_{ii} \, \mathbf{m}_{i} \odot \mathbf{W}_0 \mathbf{x}_i
            + \sum_{j \neq i} \tilde a_{ij} \, \mathbf{m}_{j} \odot \mathbf{W}_1 \mathbf{x}_j
            + \mathbf{b},
        \qquad
        \tilde{\mathbf{A}} = \tfrac{1}{2} \left( (\mathbf{A} + \mathbf{Q})
            + (\mathbf{A} + \mathbf{Q})^\top \right)

    Weight modulation: the weights are shared by all joints, and each joint j scales the
    transformed features by its own learned vector :math:`\mathbf{m}_j` (`M[j]`, initialised to
    1), i.e. joint j is transformed by :math:`\mathrm{diag}(\mathbf{m}_j) \mathbf{W}`. Affinity
    modulation: a learned (J, J) matrix :math:`\mathbf{Q}` (initialised to 1e-6 everywhere) is
    added to the skeleton's fixed adjacency :math:`\mathbf{A}` (row-normalised, diagonal 1:
    `skeleton_adjacency`) and the sum symmetrised, so any two joints of a pose may exchange
    messages, whether or not a bone joins them. :math:`\mathbf{W}_0` weighs a joint's own term and
    :math:`\mathbf{W}_1` its neighbours', as in the authors' code (the model then has the
    paper's 0.29M parameters); `self_weight=False` uses one :math:`\mathbf{W}` for both, as in the
    paper's equation.

    Args:
        in_channels (int): Size of each input sample.
        out_channels (int): Size of each output sample.
        num_joints (int): J, joints of the skeleton template.
        edges (Tensor or list): The template's bones (2, E), joint indices.
        self_weight (bool, optional): A separate :math:`\mathbf{W}_0` for the self term.
            (default: `True`)
        bias (bool, optional): Learn an additive bias. (default: `True`)

    `edge_index` holds every ordered pair of distinct joints within each pose
    (`complete_pose_graph`); `joint[i]` is the template joint of node i. Initialisation as the
    authors': Xavier-uniform with gain 1.414 on `weight` (2 | 1, C_in, C_out), M = 1, Q = 1e-6,
    bias uniform in +-1/sqrt(C_out).

    Shapes:
        - **input:** node features (N, C_in), edge indices (2, E), joints (N,)
        - **output:** node features (N, C_out)
    """

    def __init__(self, in_channels: int, out_channels: int, num_joints: int, edges,
                 self_weight: bool = True, bias: bool = True):
        super().__init__(aggr="add", node_dim=0)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_joints = num_joints
        self.self_weight = self_weight
        self.weight = Parameter(torch.empty(2 if self_weight else 1, in_channels, out_channels))
        self.M = Parameter(torch.empty(num_joints, out_channels))
        self.Q = Parameter(torch.empty(num_joints, num_joints))
        self.bias = Parameter(torch.empty(out_channels)) if bias else None
        self.register_buffer("A", skeleton_adjacency(torch.as_tensor(edges), num_joints), persistent=False)
        self.reset_parameters()

    def reset_parameters(self):
        super().reset_parameters()
        torch.nn.init.xavier_uniform_(self.weight, gain=1.414)
        torch.nn.init.ones_(self.M)
        torch.nn.init.constant_(self.Q, Q_INIT)
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.out_channels)
            torch.nn.init.uniform_(self.bias, -bound, bound)

    def adjacency(self) -> Tensor:
        """The modulated adjacency (J, J): (A + Q) symmetrised."""
        A = self.A + self.Q
        return 0.5 * (A + A.t())

    def forward(self, x: Tensor, edge_index: Adj, joint: Tensor) -> Tensor:
        A = self.adjacency()  # (J, J)
        W0, W1 = self.weight[0], self.weight[-1]
        m = self.M[joint]  # (N, C_out)
        h_self = A.diagonal()[joint, None] * m * (x @ W0)  # (N, C_out)
        src, dst = edge_index
        w = A[joint[dst], joint[src]].unsqueeze(-1)  # (E, 1)
        out = h_self + self.propagate(edge_index, x=m * (x @ W1), w=w)  # (N, C_out)
        return out + self.bias if self.bias is not None else out

    def dense_adjacency(self, template_edge_index: Tensor = None, num_joints: int = None) -> Tensor:
        """The modulated adjacency (J, J), for `forward_dense` (the arguments, which the other
        layers' `dense_adjacency` take, are not needed: the skeleton is the layer's own)."""
        return self.adjacency()

    def forward_dense(self, x: Tensor, adjacency: Tensor) -> Tensor:
        """Every graph the template, joint-major: x (J, B, C_in) -> (J, B, C_out), the outputs of
        `forward` on the batched complete pose graphs."""
        J, B, _ = x.shape
        C = self.out_channels
        M = self.M[:, None, :]  # (J, 1, C_out)
        h1 = M * (x @ self.weight[-1])  # (J, B, C_out)
        diag = adjacency.diagonal()
        off = adjacency - torch.diag(diag)  # (J, J): the neighbour weights
        h0 = M * (x @ self.weight[0]) if self.self_weight else h1
        out = diag[:, None, None] * h0 + (off @ h1.reshape(J, B * C)).view(J, B, C)
        return out + self.bias if self.bias is not None else out

    def message(self, x_j: Tensor, w: Tensor) -> Tensor:
        return w * x_j

    def __repr__(self) -> str:
        extra = "" if self.self_weight else ", self_weight=False"
        return f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}{extra})"
