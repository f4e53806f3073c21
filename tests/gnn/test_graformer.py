import math

import pytest
import torch

from datasets.pose_graph import SkeletonBatcher
from datasets.skeleton import H36M16, H36M17
from gnn.models import GraFormer
from gnn.models.graformer import GraphAttentionBlock, _ChebConv
from tests.conftest import batch_of


def attention_reference(block: GraphAttentionBlock, x):
    """The block's formula written out: pre-norm multi-head scaled dot-product attention over the
    joints, then two graph convs over D^-1/2 A D^-1/2 of the learned adjacency. x (B, J, C)."""
    B, J, C = x.shape
    H = block.attention.num_heads
    d = C // H
    h = block.norm1(x)
    Wq, Wk, Wv = block.attention.in_proj_weight.split(C)
    bq, bk, bv = block.attention.in_proj_bias.split(C)
    q, k, v = ((h @ W.t() + b).view(B, J, H, d).transpose(1, 2) for W, b in ((Wq, bq), (Wk, bk), (Wv, bv)))
    a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1)  # (B, H, J, J)
    heads = (a @ v).transpose(1, 2).reshape(B, J, C)
    x = x + block.attention.out_proj(heads)
    A = block.adjacency
    deg = A.sum(1).clamp(min=1) ** -0.5
    S = deg[:, None] * A * deg[None, :]
    h = torch.relu(S @ (block.norm2(x) @ block.gconv1.lin.weight.t()) + block.gconv1.bias)
    return x + S @ (h @ block.gconv2.lin.weight.t()) + block.gconv2.bias


def test_attention_block_matches_its_formula():
    torch.manual_seed(0)
    block = GraphAttentionBlock(16, 17, heads=4, dropout=0.0, attention_dropout=0.0).eval()
    with torch.no_grad():
        block.adjacency.add_(0.1 * torch.rand(17, 17))  # off the identity it starts from
    x = torch.randn(3, 17, 16)
    torch.testing.assert_close(block(x), attention_reference(block, x), atol=1e-5, rtol=1e-4)


def test_chebyshev_operators_match_pyg():
    """The fixed-topology Chebyshev conv equals PyG's ChebConv on the skeleton graph."""
    torch.manual_seed(0)
    sk = H36M17
    conv = _ChebConv(4, 5, K=3)
    x = torch.randn(2, sk.num_joints, 4)
    ei, _, _, _ = batch_of(sk, 2)
    graph = conv(x.reshape(-1, 4), ei).view(2, sk.num_joints, 5)
    dense = conv.forward_dense(x, conv.dense_operators(sk.edge_index(), sk.num_joints))
    torch.testing.assert_close(dense, graph, atol=1e-5, rtol=1e-4)


def test_parameters_and_sizes():
    model = GraFormer(16)
    assert sum(p.numel() for p in model.parameters()) == 654_179  # the paper's ~0.65M
    assert len(model.attention) == len(model.cheb) == 5
    assert model.attention[0].attention.num_heads == 4 and model.input.out_channels == 96
    assert torch.equal(model.attention[0].adjacency, torch.eye(16))


def _graph_call(model, x, skeleton):
    b = SkeletonBatcher(skeleton, x).batch(torch.arange(x.size(0)))
    return model(b.x, b.edge_index, b.edge_type, b.joint, b.batch).view(x.size(0), skeleton.num_joints, 3)


def test_batch_of_two_poses_equals_two_calls_and_gradients_reach_every_parameter():
    torch.manual_seed(0)
    sk = H36M16
    model = GraFormer(sk.num_joints, hidden_channels=16, num_layers=2, dropout=0.0, inner_dropout=0.0)
    x = torch.randn(2, sk.num_joints, 2)
    both = _graph_call(model, x, sk)
    torch.testing.assert_close(both, torch.cat([_graph_call(model, x[:1], sk), _graph_call(model, x[1:], sk)]))
    (both ** 2).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_every_joint_sees_every_other_in_one_attention_block():
    """Unlike a graph conv, the attention block mixes joints no bone joins (head and ankle)."""
    torch.manual_seed(0)
    block = GraphAttentionBlock(8, 16, heads=2, dropout=0.0, attention_dropout=0.0).eval()
    x = torch.randn(1, 16, 8)
    y = x.clone()
    y[0, 3] += torch.randn(8)  # an ankle (not a constant shift, which the layer norm removes)
    assert not torch.allclose(block(x)[0, 15], block(y)[0, 15])  # the head


def test_initialisation_keeps_the_residual_stream_small():
    """Chebyshev weights as GraFormer's code draws them (std sqrt(2 / ((K + 1) C_in C_out))): the
    untrained model's outputs stay metres, not the ~100 m of a per-term Glorot init."""
    torch.manual_seed(0)
    model = GraFormer(16).train()
    w = model.cheb[0].conv1.lins[0].weight
    assert w.std().item() == pytest.approx((2 / (4 * 96 * 96)) ** 0.5, rel=0.05)
    out = model(0.3 * torch.randn(64, 16, 2), H36M16.edge_index())
    assert out.pow(2).mean().sqrt() < 5.0
