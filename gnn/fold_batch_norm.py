"""Fold an eval-mode BatchNorm1d into the Linear layer(s) whose (summed) output it normalises;
stack two Linear layers on one input into one (both for inference copies).

y = gamma * (sum_k W_k x_k + b - mean) / sqrt(var + eps) + beta becomes sum_k W'_k x_k + b' with
W'_k = s W_k, b' = s (b - mean) + beta, s = gamma / sqrt(var + eps): the summed Linears are one
Linear on the concatenated inputs, folded by torch's `fuse_linear_bn_weights`. Exactly one of
the summed Linear layers carries the bias b.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_linear_bn_weights


@torch.no_grad()
def fold_batch_norm(linears: list[nn.Module], norm: nn.Module) -> None:
    """Scale `linears` (in place) so that their summed output equals `norm` of it in eval mode.
    `norm`: `torch.nn.BatchNorm1d` or PyG's `BatchNorm` wrapping one."""
    bn = getattr(norm, "module", norm)
    if not isinstance(bn, nn.BatchNorm1d) or bn.running_mean is None:
        raise TypeError(f"cannot fold {type(norm).__name__}: expected BatchNorm1d with running stats")
    with_bias = [lin for lin in linears if lin.bias is not None]
    if len(with_bias) != 1:
        raise ValueError(f"exactly one of the summed Linear layers must have a bias, not {len(with_bias)}")
    gamma = bn.weight if bn.affine else torch.ones_like(bn.running_var)
    beta = bn.bias if bn.affine else torch.zeros_like(bn.running_mean)
    weight, bias = fuse_linear_bn_weights(torch.cat([lin.weight for lin in linears], dim=1), with_bias[0].bias,
                                          bn.running_mean, bn.running_var, bn.eps, gamma, beta)
    for lin, w in zip(linears, weight.split([lin.weight.size(1) for lin in linears], dim=1)):
        lin.weight.copy_(w)
    with_bias[0].bias.copy_(bias)


@torch.no_grad()
def stack_linears(first: nn.Module, second: nn.Module) -> nn.Linear:
    """One Linear computing both `first(x)` and `second(x)` (concatenated along the features):
    one product instead of two, for inference copies. Split the output with `.chunk(2, -1)`."""
    w = torch.cat([first.weight, second.weight])
    out = nn.Linear(w.size(1), w.size(0), bias=first.bias is not None or second.bias is not None,
                    device=w.device, dtype=w.dtype)
    out.weight.copy_(w)
    if out.bias is not None:
        zero = first.weight.new_zeros(first.weight.size(0))  # on the weights' device
        out.bias.copy_(torch.cat([first.bias if first.bias is not None else zero,
                                  second.bias if second.bias is not None else zero]))
    return out
