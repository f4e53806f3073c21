import torch

from datasets.skeleton import H36M16
from gnn.conv import GraphNonLocal
from gnn.models.dense_semgcn import DenseGraphNonLocal
from tests.conftest import batch_of


def formula_reference(layer: GraphNonLocal, x, groups):
    """Loop form of the block for one skeleton: x (J, C)."""
    theta, phi, g = layer.theta(x), layer.phi(x), layer.g(x)
    G = len(groups)
    phi_g = torch.stack([phi[list(grp)].max(0).values for grp in groups])  # (G, I)
    g_g = torch.stack([g[list(grp)].max(0).values for grp in groups])
    w = layer.concat_project
    y = torch.stack([
        sum(torch.relu(torch.cat([theta[i], phi_g[k]]) @ w) / G * g_g[k] for k in range(G))
        for i in range(x.size(0))])
    return y  # (J, I), before the output transform


def randomised(layer):
    torch.manual_seed(0)
    with torch.no_grad():
        for p in layer.parameters():
            p.normal_(0, 0.5)
    return layer


def test_matches_formula_and_dense_twin():
    layer = randomised(GraphNonLocal(8, H36M16.joint_groups)).eval()
    B, J = 3, 16
    x = torch.randn(B, J, 8)
    _, _, joint, batch = batch_of(H36M16, B)
    out = layer(x.view(-1, 8), joint, batch).view(B, J, 8)
    for b in range(B):
        y = formula_reference(layer, x[b], H36M16.joint_groups)
        torch.testing.assert_close(out[b], x[b] + layer.bn(layer.out(y)), atol=1e-5, rtol=1e-4)
    dense = DenseGraphNonLocal(8, H36M16.joint_groups).eval()
    dense.load_state_dict(layer.state_dict())
    torch.testing.assert_close(out, dense(x), atol=1e-5, rtol=1e-4)


def test_starts_as_identity_and_batches_like_separate_calls():
    layer = GraphNonLocal(8, H36M16.joint_groups)
    x = torch.randn(32, 8)
    _, _, joint, batch = batch_of(H36M16, 2)
    torch.testing.assert_close(layer(x, joint, batch), x)  # BN scale and shift start at 0
    layer = randomised(layer).eval()
    _, _, j1, b1 = batch_of(H36M16, 1)
    both = layer(x, joint, batch)
    torch.testing.assert_close(both, torch.cat([layer(x[:16], j1, b1), layer(x[16:], j1, b1)]))


def test_gradients_and_repr():
    layer = randomised(GraphNonLocal(8, H36M16.joint_groups))
    _, _, joint, batch = batch_of(H36M16, 2)
    (layer(torch.randn(32, 8), joint, batch) ** 2).sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert repr(layer) == "GraphNonLocal(8, groups=8)"
