from typing import Sequence

import torch
from torch import Tensor
from torch.nn import BatchNorm1d, Linear, Parameter
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter


class GraphNonLocal(MessagePassing):
    r"""Non-local block over grouped joints, as in SemGCN (the concatenation form of Wang et al.'s
    non-local networks, with max-pooling over each group of joints).

    For joint :math:`i` of a skeleton with joint groups :math:`g = 1..G`:

    .. math::
        \boldsymbol{\theta}_i = \mathbf{W}_\theta \mathbf{x}_i, \quad
        \boldsymbol{\phi}_g = \max_{k \in g} \mathbf{W}_\phi \mathbf{x}_k, \quad
        \boldsymbol{\gamma}_g = \max_{k \in g} \mathbf{W}_\gamma \mathbf{x}_k

        f_{ig} = \mathrm{ReLU}\left(\mathbf{w}^\top
            [\boldsymbol{\theta}_i \,\|\, \boldsymbol{\phi}_g]\right) / G, \quad
        \mathbf{x}_i' = \mathbf{x}_i + \mathrm{BN}\Big(\mathbf{W}_{out}
            \sum_{g} f_{ig} \boldsymbol{\gamma}_g\Big)

    Messages flow from the G group nodes of a skeleton to each of its joints (a bipartite
    graph built from `joint` and `batch`). The BatchNorm's scale and shift start at zero, so the
    block starts as the identity.

    Args:
        channels (int): Size of each node feature.
        joint_groups (sequence of sequences of int): The joints of each group (equal sizes,
            covering every joint of the skeleton once).
        inter_channels (int, optional): Size of the embeddings. (default: `channels // 2`)

    Every graph of the batch must be a complete skeleton (all J joints present).

    Shapes:
        - **input:** node features (N, C), joint index of each node (N,), graph index (N,)
        - **output:** node features (N, C)
    """

    def __init__(self, channels: int, joint_groups: Sequence[Sequence[int]],
                 inter_channels: int = None):
        super().__init__(aggr="add", node_dim=0)
        self.channels = channels
        self.inter_channels = inter_channels or channels // 2
        self.num_groups = len(joint_groups)
        group_of_joint = torch.empty(sum(len(g) for g in joint_groups), dtype=torch.long)
        for gi, group in enumerate(joint_groups):
            group_of_joint[list(group)] = gi
        self.register_buffer("group_of_joint", group_of_joint, persistent=False)
        self.register_buffer("members", torch.argsort(group_of_joint, stable=True), persistent=False)  # by group
        C, I = channels, self.inter_channels
        self.theta = Linear(C, I)
        self.phi = Linear(C, I)
        self.g = Linear(C, I)
        self.concat_project = Parameter(torch.empty(2 * I))  # w = [w_theta; w_phi], no bias
        self.out = Linear(I, C)
        self.bn = BatchNorm1d(C)
        self.reset_parameters()

    def reset_parameters(self):
        super().reset_parameters()
        for lin in (self.theta, self.phi, self.g, self.out):
            lin.reset_parameters()
        bound = 1.0 / (2 * self.inter_channels) ** 0.5
        torch.nn.init.uniform_(self.concat_project, -bound, bound)
        self.bn.reset_parameters()
        torch.nn.init.zeros_(self.bn.weight)
        torch.nn.init.zeros_(self.bn.bias)

    def forward(self, x: Tensor, joint: Tensor, batch: Tensor) -> Tensor:
        N, G, I = x.size(0), self.num_groups, self.inter_channels
        J = self.group_of_joint.numel()
        num_groups_total = (N // J) * G  # complete skeletons: B = N / J
        group = batch * G + self.group_of_joint[joint]  # (N,) group node of each joint
        phi = scatter(self.phi(x), group, 0, num_groups_total, reduce="max")  # (B*G, I)
        gamma = scatter(self.g(x), group, 0, num_groups_total, reduce="max")  # (B*G, I)
        s_node = self.theta(x) @ self.concat_project[:I]  # (N,)
        s_group = phi @ self.concat_project[I:]  # (B*G,)
        # Bipartite edges: every group node of a skeleton -> every joint of that skeleton.
        dst = torch.arange(N, device=x.device).repeat_interleave(G)  # (N*G,)
        src = (batch * G).repeat_interleave(G) + torch.arange(G, device=x.device).repeat(N)
        edge_index = torch.stack([src, dst])
        y = self.propagate(edge_index, x=(gamma, None), s=(s_group, s_node),
                           size=(num_groups_total, N))  # (N, I)
        return x + self.bn(self.out(y))

    def forward_dense(self, x: Tensor) -> Tensor:
        """Every graph a complete skeleton, joint-major: x (J, B, C) -> (J, B, C), as `forward`."""
        J, B, C = x.shape
        G, I = self.num_groups, self.inter_channels
        members = self.members  # joints by group, G groups of J / G
        phi = self.phi(x)[members].view(G, J // G, B, I).amax(1)  # (G, B, I)
        gamma = self.g(x)[members].view(G, J // G, B, I).amax(1)  # (G, B, I)
        s_node = self.theta(x) @ self.concat_project[:I]  # (J, B)
        s_group = phi @ self.concat_project[I:]  # (G, B)
        f = torch.relu(s_node[:, None, :] + s_group[None]) / G  # (J, G, B)
        y = self.out(torch.einsum("jgb,gbi->jbi", f, gamma))  # (J, B, C)
        return x + self.bn(y.reshape(J * B, C)).view(J, B, C)

    def message(self, x_j: Tensor, s_i: Tensor, s_j: Tensor) -> Tensor:
        f = torch.relu(s_i + s_j) / self.num_groups  # (E,)
        return f.unsqueeze(-1) * x_j

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.channels}, groups={self.num_groups})"
