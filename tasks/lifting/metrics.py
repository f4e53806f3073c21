"""Lifting loss and metrics (SemGCN's protocols). Units: metres in, millimetres out of the
scores."""
from __future__ import annotations

import torch
from torch import Tensor


def lifting_loss(pred: Tensor, target: Tensor, l1_weight: float = 0.0) -> Tensor:
    """Mean squared error over joints and coordinates (SemGCN's loss), plus `l1_weight` x the mean
    absolute error (Modulated GCN's code adds 0.1 x L1)."""
    loss = torch.nn.functional.mse_loss(pred, target)
    return loss + l1_weight * torch.nn.functional.l1_loss(pred, target) if l1_weight else loss


def mpjpe(pred: Tensor, target: Tensor) -> Tensor:
    """Protocol 1: mean per-joint position error of each pose, after re-centring both poses on
    their root joint (joint 0). (B, J, 3), (B, J, 3) -> (B,), in the input's units."""
    assert pred.shape == target.shape and pred.dim() == 3 and pred.size(-1) == 3, (pred.shape, target.shape)
    pred = pred - pred[:, :1]
    target = target - target[:, :1]
    return torch.linalg.norm(pred - target, dim=-1).mean(dim=-1)


def p_mpjpe(pred: Tensor, target: Tensor) -> Tensor:
    """Protocol 2: MPJPE after aligning each prediction to its target with the best similarity
    transform (rotation, uniform scale, translation; reflections excluded).
    (B, J, 3), (B, J, 3) -> (B,)."""
    assert pred.shape == target.shape and pred.dim() == 3 and pred.size(-1) == 3, (pred.shape, target.shape)
    P = pred.double() - pred.double().mean(dim=1, keepdim=True)  # (B, J, 3)
    T = target.double() - target.double().mean(dim=1, keepdim=True)
    U, S, Vh = torch.linalg.svd(P.transpose(1, 2) @ T)  # P^T T = U diag(S) Vh
    d = torch.sign(torch.linalg.det(U @ Vh))  # -1 where the best orthogonal map is a reflection
    D = torch.ones_like(S)
    D[:, -1] = d
    R = U @ (D.unsqueeze(-1) * Vh)  # (B, 3, 3), aligned = P @ R
    scale = (S * D).sum(-1) / (P ** 2).sum(dim=(1, 2)).clamp_min(1e-12)  # (B,)
    aligned = scale[:, None, None] * (P @ R)
    return torch.linalg.norm(aligned - T, dim=-1).mean(dim=-1).to(pred.dtype)


def action_wise(errors: Tensor, action: Tensor, action_names: list[str]) -> tuple[float, dict]:
    """Mean error per action, then the mean over actions (SemGCN's protocol).
    errors (P,), action (P,) ids into `action_names` -> (average, {name: mean})."""
    assert errors.shape == action.shape
    per = {}
    for i, name in enumerate(action_names):
        mask = action == i
        if mask.any():
            per[name] = float(errors[mask].mean())
    return sum(per.values()) / max(len(per), 1), per


def loss_description(l1_weight: float) -> str:
    """What the training loss of a run is, with units (the loss curve's axis label)."""
    if l1_weight:
        return f"training loss: MSE (m²) + {l1_weight:g} x L1 (m)"
    return "training loss: MSE (m²)"
