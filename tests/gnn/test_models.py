import pytest
import torch

from datasets.skeleton import H36M16, H36M17
from gnn.models import DenseSemGCN, LinearLifter, SemGCN
from tests.conftest import batch_of


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_parameter_counts_match_semgcn():
    E = H36M16.edge_index().size(1)
    assert n_params(SemGCN(16, E)) == 267_343
    assert n_params(SemGCN(16, E, joint_groups=H36M16.joint_groups)) == 434_703
    assert n_params(LinearLifter(16)) == 4_291_632  # Martinez et al.: ~4.29M


@pytest.mark.parametrize("kind,skeleton", [(k, s) for k in ("sem", "sem-ch", "gcn", "nonlocal")
                                           for s in (H36M16, H36M17)
                                           if not (k == "nonlocal" and s is H36M17)])  # groups: H36M-16
def test_pyg_model_equals_dense_twin(kind, skeleton):
    conv = "sem" if kind == "nonlocal" else kind
    groups = H36M16.joint_groups if kind == "nonlocal" else None
    J, ei = skeleton.num_joints, skeleton.edge_index()
    torch.manual_seed(0)
    model = SemGCN(J, ei.size(1), hidden_channels=32, num_blocks=2, conv=conv, joint_groups=groups)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    dense = DenseSemGCN(J, ei, hidden_channels=32, num_blocks=2, conv=conv, joint_groups=groups)
    dense.load_state_dict(model.state_dict())
    B = 6
    x = torch.randn(B, J, 2)
    edge_index, edge_type, joint, batch = batch_of(skeleton, B)
    for mode in ("train", "eval"):
        model.train(mode == "train"), dense.train(mode == "train")
        out = model(x.view(-1, 2), edge_index, edge_type, joint, batch).view(B, J, 3)
        torch.testing.assert_close(out, dense(x), atol=2e-5, rtol=1e-4)


def test_gradients_reach_every_parameter():
    E = H36M16.edge_index().size(1)
    model = SemGCN(16, E, hidden_channels=16, num_blocks=1, joint_groups=H36M16.joint_groups)
    edge_index, edge_type, joint, batch = batch_of(H36M16, 4)
    # Move the non-local BN off zero so gradients flow into the whole block.
    with torch.no_grad():
        for nl in model.non_local:
            nl.bn.weight.fill_(0.5)
    model(torch.randn(64, 2), edge_index, edge_type, joint, batch).pow(2).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_linear_lifter_shapes_and_unknown_conv():
    out = LinearLifter(16).eval()(torch.randn(3 * 16, 2))
    assert out.shape == (48, 3)
    with pytest.raises(ValueError, match="conv must be one of"):
        SemGCN(16, 30, conv="gat")
