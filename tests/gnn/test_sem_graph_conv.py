import pytest
import torch

from datasets.skeleton import H36M16, H36M17
from gnn.conv import SemGraphConv
from tests.conftest import batch_of


def dense_reference(conv: SemGraphConv, x, skeleton):
    """The paper's formula, densely: per channel, a masked row softmax over the adjacency
    (self-loops included), W0 applied on the diagonal and W1 off it. x (B, J, C_in)."""
    J = skeleton.num_joints
    W0, W1 = conv.weight[0], conv.weight[1]
    C = conv.e_self.size(1)
    out = []
    for c in range(C):
        logits = torch.full((J, J), float("-inf"))  # -inf: not a neighbour
        for k, (j, i) in enumerate(skeleton.edge_index().t().tolist()):
            logits[i, j] = conv.e_edge[k, c]
        for i in range(J):
            logits[i, i] = conv.e_self[i, c]
        A = torch.softmax(logits, dim=1)  # row i: over the neighbours of i
        eye = torch.eye(J)
        out.append((A * eye) @ (x @ W0) + (A * (1 - eye)) @ (x @ W1))  # (B, J, C_out)
    if C == 1:
        y = out[0]
    else:
        y = torch.stack([o[..., c] for c, o in enumerate(out)], dim=-1)
    return y + conv.bias


def randomised(conv):
    torch.manual_seed(1)
    with torch.no_grad():
        conv.e_self.normal_(0, 1.0)
        conv.e_edge.normal_(0, 1.0)
        conv.bias.normal_()
    return conv


@pytest.mark.parametrize("channelwise", [False, True])
@pytest.mark.parametrize("channels", [(2, 8), (8, 8), (8, 3)])
def test_matches_dense_formula_on_a_batch(channelwise, channels):
    sk = H36M16
    c_in, c_out = channels
    conv = randomised(SemGraphConv(c_in, c_out, sk.num_joints, sk.edge_index().size(1),
                                   channelwise=channelwise))
    B = 5
    x = torch.randn(B, sk.num_joints, c_in)
    edge_index, edge_type, joint, _ = batch_of(sk, B)
    out = conv(x.view(-1, c_in), edge_index, edge_type, joint).view(B, sk.num_joints, c_out)
    ref = dense_reference(conv, x, sk)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-4)


def test_batch_of_two_graphs_equals_two_calls():
    sk = H36M17
    conv = randomised(SemGraphConv(4, 6, sk.num_joints, sk.edge_index().size(1)))
    x1, x2 = torch.randn(sk.num_joints, 4), torch.randn(sk.num_joints, 4)
    ei, et, jt, _ = batch_of(sk, 1)
    ei2, et2, jt2, _ = batch_of(sk, 2)
    both = conv(torch.cat([x1, x2]), ei2, et2, jt2)
    torch.testing.assert_close(both, torch.cat([conv(x1, ei, et, jt), conv(x2, ei, et, jt)]))


def test_partial_graph_normalises_over_present_neighbours():
    """A node that lost an edge gets a softmax over the neighbours it still has."""
    sk = H36M16
    conv = randomised(SemGraphConv(3, 4, sk.num_joints, sk.edge_index().size(1)))
    ei, et, jt, _ = batch_of(sk, 1)
    keep = torch.ones(ei.size(1), dtype=torch.bool)
    keep[0] = False  # drop one directed edge (j -> i)
    j, i = ei[:, 0].tolist()
    x = torch.randn(sk.num_joints, 3)
    out = conv(x, ei[:, keep], et[keep], jt)
    nbrs = [(k, s) for k, (s, d) in enumerate(ei.t().tolist()) if d == i and keep[k]]
    logits = torch.stack([conv.e_self[i, 0]] + [conv.e_edge[et[k], 0] for k, _ in nbrs])
    a = torch.softmax(logits, 0)
    expect = a[0] * (x[i] @ conv.weight[0]) + sum(a[n + 1] * (x[s] @ conv.weight[1])
                                                    for n, (_, s) in enumerate(nbrs)) + conv.bias
    torch.testing.assert_close(out[i], expect, atol=1e-5, rtol=1e-4)


def test_gradients_reach_every_parameter():
    sk = H36M16
    conv = SemGraphConv(2, 8, sk.num_joints, sk.edge_index().size(1))
    ei, et, jt, _ = batch_of(sk, 3)
    (conv(torch.randn(48, 2), ei, et, jt) ** 2).sum().backward()
    for name, p in conv.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert conv.weight.grad[0].abs().sum() > 0 and conv.weight.grad[1].abs().sum() > 0


def test_initialisation_and_repr():
    conv = SemGraphConv(2, 128, 16, 30)
    assert torch.all(conv.e_self == 1) and torch.all(conv.e_edge == 1)
    assert conv.weight.shape == (2, 2, 128)
    assert sum(p.numel() for p in conv.parameters()) == 2 * 2 * 128 + 128 + 46
    assert repr(conv) == "SemGraphConv(2, 128)"
    assert repr(SemGraphConv(8, 3, 16, 30, channelwise=True)) == "SemGraphConv(8, 3, channelwise=True)"


def test_wrong_edge_type_fails():
    conv = SemGraphConv(2, 4, 16, 30)
    ei, et, jt, _ = batch_of(H36M16, 1)
    with pytest.raises(IndexError, match="out of"):
        conv(torch.randn(16, 2), ei, et + 100, jt)
