import pytest
import torch
from torch import nn

from gnn.fold_batch_norm import fold_batch_norm, stack_linears


def test_fold_two_summed_linears_equals_batch_norm():
    torch.manual_seed(0)
    a, b = nn.Linear(5, 4), nn.Linear(3, 4, bias=False)
    bn = nn.BatchNorm1d(4)
    bn.train()
    for _ in range(3):
        bn(torch.randn(16, 4) * 2 + 1)
    bn.eval()
    x, y = torch.randn(8, 5), torch.randn(8, 3)
    expect = bn(a(x) + b(y))
    fold_batch_norm([a, b], bn)
    torch.testing.assert_close(a(x) + b(y), expect)
    with pytest.raises(ValueError, match="exactly one"):
        fold_batch_norm([nn.Linear(2, 4), nn.Linear(2, 4)], nn.BatchNorm1d(4).eval())


@pytest.mark.parametrize("bias_first,bias_second", [(True, False), (False, True), (True, True)])
def test_stacked_linear_gives_both_outputs(bias_first, bias_second):
    torch.manual_seed(1)
    a, b = nn.Linear(6, 4, bias=bias_first), nn.Linear(6, 4, bias=bias_second)
    x = torch.randn(10, 6)
    ya, yb = stack_linears(a, b)(x).chunk(2, dim=-1)
    torch.testing.assert_close(ya, a(x))
    torch.testing.assert_close(yb, b(x))


def test_stacked_linear_stays_on_the_layers_device():
    """Built from layers on another device (meta stands in for CUDA), nothing lands on the CPU."""
    a, b = nn.Linear(6, 4, device="meta"), nn.Linear(6, 4, bias=False, device="meta")
    out = stack_linears(a, b)
    assert {p.device.type for p in out.parameters()} == {"meta"}
