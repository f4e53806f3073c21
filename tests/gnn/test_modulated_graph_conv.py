import pytest
import torch

from datasets.skeleton import H36M16, H36M17
from gnn.conv import ModulatedGraphConv
from gnn.conv.modulated_graph_conv import complete_pose_graph, skeleton_adjacency


def dense_reference(conv: ModulatedGraphConv, x, skeleton):
    """Zou and Tang's formula, joint by joint: the skeleton's adjacency row-normalised with a unit
    diagonal, plus Q, symmetrised; joint j's features W x_j scaled by m_j; W0 on the diagonal and
    W1 off it. x (B, J, C_in)."""
    J = skeleton.num_joints
    A = torch.zeros(J, J)
    for a, b in skeleton.edges:
        A[a, b] = A[b, a] = 1.0
    A = A / A.sum(1, keepdim=True)
    A = A * (1 - torch.eye(J)) + torch.eye(J)
    A = A + conv.Q
    A = (A + A.t()) / 2
    W0, W1 = conv.weight[0], conv.weight[-1]
    out = torch.zeros(x.size(0), J, conv.out_channels)
    for i in range(J):
        for j in range(J):
            W = W0 if i == j else W1
            out[:, i] += A[i, j] * conv.M[j] * (x[:, j] @ W)
    return out + conv.bias


def randomised(conv):
    torch.manual_seed(1)
    with torch.no_grad():
        conv.M.normal_(1.0, 0.5)
        conv.Q.normal_(0, 0.3)
        conv.bias.normal_()
    return conv


def batch_graph(skeleton, B):
    batch = torch.arange(B).repeat_interleave(skeleton.num_joints)
    return complete_pose_graph(batch, skeleton.num_joints), torch.arange(skeleton.num_joints).repeat(B)


@pytest.mark.parametrize("self_weight", [True, False])
@pytest.mark.parametrize("channels", [(2, 8), (8, 8), (8, 3)])
def test_matches_dense_formula_on_a_batch(self_weight, channels):
    sk = H36M16
    c_in, c_out = channels
    conv = randomised(ModulatedGraphConv(c_in, c_out, sk.num_joints, sk.edge_index(), self_weight=self_weight))
    B = 4
    x = torch.randn(B, sk.num_joints, c_in)
    edge_index, joint = batch_graph(sk, B)
    out = conv(x.view(-1, c_in), edge_index, joint).view(B, sk.num_joints, c_out)
    torch.testing.assert_close(out, dense_reference(conv, x, sk), atol=1e-5, rtol=1e-4)
    dense = conv.forward_dense(x.transpose(0, 1), conv.dense_adjacency()).transpose(0, 1)
    torch.testing.assert_close(dense, out, atol=1e-5, rtol=1e-4)


def test_nodes_in_any_order_within_a_pose():
    """Weights follow the joint of each node, not its position."""
    sk = H36M17
    conv = randomised(ModulatedGraphConv(3, 5, sk.num_joints, sk.edge_index()))
    x = torch.randn(sk.num_joints, 3)
    ei, joint = batch_graph(sk, 1)
    perm = torch.randperm(sk.num_joints)
    out = conv(x[perm], ei, joint[perm])
    torch.testing.assert_close(out, conv(x, ei, joint)[perm])


def test_batch_of_two_graphs_equals_two_calls():
    sk = H36M17
    conv = randomised(ModulatedGraphConv(4, 6, sk.num_joints, sk.edge_index()))
    x1, x2 = torch.randn(sk.num_joints, 4), torch.randn(sk.num_joints, 4)
    ei, jt = batch_graph(sk, 1)
    ei2, jt2 = batch_graph(sk, 2)
    both = conv(torch.cat([x1, x2]), ei2, jt2)
    torch.testing.assert_close(both, torch.cat([conv(x1, ei, jt), conv(x2, ei, jt)]))


def test_gradients_reach_every_parameter():
    sk = H36M16
    conv = ModulatedGraphConv(2, 8, sk.num_joints, sk.edge_index())
    ei, jt = batch_graph(sk, 3)
    (conv(torch.randn(48, 2), ei, jt) ** 2).sum().backward()
    for name, p in conv.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert conv.weight.grad[0].abs().sum() > 0 and conv.weight.grad[1].abs().sum() > 0
    # Q reaches joints the skeleton does not join: the head (15) and a wrist (12)
    assert conv.Q.grad[15, 12] != 0


def test_initialisation_and_repr():
    sk = H36M16
    conv = ModulatedGraphConv(2, 128, 16, sk.edge_index())
    assert torch.all(conv.M == 1) and torch.all(conv.Q == 1e-6)
    assert conv.weight.shape == (2, 2, 128)
    assert sum(p.numel() for p in conv.parameters()) == 2 * 2 * 128 + 16 * 128 + 16 * 16 + 128
    assert "A" not in conv.state_dict()  # derived from the skeleton, not stored
    assert repr(conv) == "ModulatedGraphConv(2, 128)"
    assert repr(ModulatedGraphConv(8, 3, 16, sk.edge_index(), self_weight=False)) == \
        "ModulatedGraphConv(8, 3, self_weight=False)"
    A = skeleton_adjacency(sk.edge_index(), 16)
    assert torch.all(A.diagonal() == 1)
    assert A[0, 1] == pytest.approx(1 / 3)  # the pelvis has three neighbours
    assert A[3, 2] == pytest.approx(1.0)  # an ankle has one


def test_incomplete_pose_fails():
    with pytest.raises(ValueError, match="all 16 joints"):
        complete_pose_graph(torch.zeros(15, dtype=torch.long), 16)
