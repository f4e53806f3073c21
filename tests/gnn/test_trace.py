import pytest
import torch

from gnn.models.edge_classifier import EdgeClassifier
from gnn.trace import Traced


def random_graph(M: int, E_msg: int, E_pairs: int, seed: int, F: int = 21, A: int = 21):
    g = torch.Generator().manual_seed(seed)
    msg = torch.randint(0, M, (2, E_msg), generator=g)
    return (torch.randn(M, F, generator=g), torch.cat([msg, msg.flip(0)], dim=1),
            torch.randn(2 * E_msg, A, generator=g), torch.randint(0, M, (2, E_pairs), generator=g),
            torch.randn(E_pairs, A, generator=g))


def trained_like(attr_in_conv: bool, pair_attr: bool) -> EdgeClassifier:
    """A classifier whose BatchNorms hold running statistics (a few training-mode passes)."""
    torch.manual_seed(0)
    m = EdgeClassifier(21, 21, hidden_channels=16, edge_attr_in_conv=attr_in_conv, pair_attr=pair_attr)
    with torch.no_grad():
        for s in range(3):
            m(*random_graph(40, 60, 80, seed=100 + s))
    return m.eval()


def reads(args, attr_in_conv, pair_attr):
    x, ei, ea, pi, pa = args
    return x, ei, ea if attr_in_conv else None, pi, pa if pair_attr else None


@pytest.mark.parametrize("attr_in_conv,pair_attr", [(False, False), (True, False), (True, True)])
def test_traced_classifier_equals_eager_on_graphs_of_other_sizes(attr_in_conv, pair_attr):
    """Traced on one graph, the copy gives the fused model's logits on larger and smaller graphs,
    one without message edges and one with a single pair (sizes are not baked in)."""
    fused = trained_like(attr_in_conv, pair_attr).fused()
    traced = Traced(fused, reads(random_graph(30, 50, 70, seed=1), attr_in_conv, pair_attr))
    assert not traced.training
    with torch.no_grad():
        for M, E_msg, E_pairs, seed in ((200, 900, 1500, 2), (5, 3, 4, 3), (12, 0, 20, 4), (2, 1, 1, 5)):
            args = reads(random_graph(M, E_msg, E_pairs, seed), attr_in_conv, pair_attr)
            out = traced(*args)
            assert out.shape == (E_pairs,)
            torch.testing.assert_close(out, fused(*args), rtol=1e-5, atol=1e-5)


def test_traced_call_must_pass_the_traced_arguments():
    fused = trained_like(True, False).fused()
    traced = Traced(fused, reads(random_graph(10, 20, 30, seed=1), True, False))
    with pytest.raises(ValueError, match="traced with"):
        traced(*random_graph(10, 20, 30, seed=2))  # pair_attr given, traced without it


def test_trace_refuses_a_module_it_cannot_reproduce():
    """A module whose control flow depends on values: the trace is checked on its own example
    only, so it must at least reproduce that (a random module does not)."""
    class Noisy(torch.nn.Module):
        def forward(self, x):
            return x + torch.rand_like(x)

    with pytest.raises(RuntimeError, match="disagrees"):
        Traced(Noisy(), (torch.zeros(3),))
