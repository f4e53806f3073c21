"""Martinez et al. (ICCV 2017), "A simple yet effective baseline for 3D human pose estimation"."""
import torch
from torch import Tensor, nn


class _LinearBlock(nn.Module):
    def __init__(self, width: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.net(x)


class LinearLifter(nn.Module):
    r"""The linear baseline: the J 2D joints of a skeleton, flattened, -> Linear(2J, 1024)-BN-ReLU-
    Dropout -> `num_blocks` residual blocks of two Linear-BN-ReLU-Dropout -> Linear(1024, 3J).
    It ignores the graph; it takes the same arguments as the graph models so the task code is
    shared. 4,291,632 parameters for 16 joints with the defaults (Martinez et al.'s ~4.29M).
    `root_fixed`: the output layer predicts the J - 1 joints after the root, and the root is
    zero (the layout of the original SemGCN code's `main_linear.py`: 45 outputs for 16 joints).

    Args:
        num_joints (int): J.
        width (int, optional): (default: 1024)
        num_blocks (int, optional): (default: 2)
        dropout (float, optional): (default: 0.5)
        root_fixed (bool, optional): predict joints 1..J-1, joint 0 at zero (default: False)

    Shapes:
        - **input:** x (N, 2) with N = B * J, nodes of each graph contiguous and in joint order
        - **output:** (N, 3)
    """

    def __init__(self, num_joints: int, width: int = 1024, num_blocks: int = 2,
                 dropout: float = 0.5, in_channels: int = 2, out_channels: int = 3, root_fixed: bool = False):
        super().__init__()
        self.num_joints, self.in_channels, self.out_channels = num_joints, in_channels, out_channels
        self.root_fixed = root_fixed
        self.input = nn.Sequential(nn.Linear(num_joints * in_channels, width), nn.BatchNorm1d(width),
                                   nn.ReLU(), nn.Dropout(dropout))
        self.blocks = nn.Sequential(*[_LinearBlock(width, dropout) for _ in range(num_blocks)])
        self.output = nn.Linear(width, (num_joints - root_fixed) * out_channels)

    def forward(self, x: Tensor, edge_index: Tensor = None, edge_type: Tensor = None,
                joint: Tensor = None, batch: Tensor = None) -> Tensor:
        """x (N, 2) -> (N, 3), or (B, J, 2) -> (B, J, 3) (the fixed-topology call)."""
        B = x.size(0) if x.dim() == 3 else -1
        x = x.reshape(B, self.num_joints * self.in_channels)  # (B, J*2)
        x = self.output(self.blocks(self.input(x)))  # (B, J*3), or (B, (J-1)*3) with the root fixed
        if self.root_fixed:
            x = torch.cat([x.new_zeros(x.size(0), self.out_channels), x], dim=1)  # (B, J*3), root at zero
        return x.view(B, self.num_joints, self.out_channels) if B != -1 else x.view(-1, self.out_channels)
