"""The fixed-topology path: every lifting model run on (B, J, C) tensors with the template's
weights gives the message-passing path's outputs and gradients (train and eval mode, several
batch sizes), and the graph interface stays."""
import pytest
import torch

from datasets.pose_graph import SkeletonBatcher
from datasets.skeleton import H36M16, H36M17
from tasks import lifting


def _grads(model):
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("name", lifting.MODEL_NAMES)
@pytest.mark.parametrize("train", [True, False])
def test_dense_path_equals_the_graph_path(name, train):
    skeleton = H36M17 if name == "gcn" else H36M16
    # Dropout masks are drawn in each path's memory order (joint-major in the dense path): equal
    # outputs need no dropout, except for the linear model, which has one layout.
    dropout = 0.2 if name == "linear" else 0.0
    spec = lifting.model_spec(lifting.LiftingModelConfig(name=name, hidden=32, blocks=2, dropout=dropout), skeleton)
    torch.manual_seed(0)
    model = lifting.model_from_spec(spec).train(train)
    template = skeleton.edge_index()
    for B in ((2, 5, 64) if name == "linear" and train else (1, 5, 64)):  # BatchNorm1d of a linear needs 2 poses
        x = torch.randn(B, skeleton.num_joints, 2)
        y = torch.randn(B, skeleton.num_joints, 3)
        batch = SkeletonBatcher(skeleton, x, y).batch(torch.arange(B))
        model.zero_grad()
        torch.manual_seed(1)  # the linear model's dropout masks: the same elements in the same order
        graph = lifting.predict(model, batch).view(B, -1, 3)
        ((graph - y) ** 2).mean().backward()
        g_graph = _grads(model)
        model.zero_grad()
        torch.manual_seed(1)
        dense = model(x, template)
        ((dense - y) ** 2).mean().backward()
        g_dense = _grads(model)
        torch.testing.assert_close(dense, graph, rtol=1e-5, atol=1e-5)
        assert g_graph.keys() == g_dense.keys() and len(g_dense) == len(list(model.parameters()))
        for n in g_graph:
            torch.testing.assert_close(g_dense[n], g_graph[n], rtol=1e-4, atol=1e-5, msg=n)


def test_dense_path_applies_dropout():
    spec = lifting.model_spec(lifting.LiftingModelConfig(hidden=32, blocks=1, dropout=0.5), H36M16)
    model = lifting.model_from_spec(spec).train()
    x = torch.randn(4, 16, 2)
    a, b = model(x, H36M16.edge_index()), model(x, H36M16.edge_index())
    assert not torch.allclose(a, b)
    model.eval()
    torch.testing.assert_close(model(x, H36M16.edge_index()), model(x, H36M16.edge_index()))
