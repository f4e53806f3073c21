"""Mirror images of poses: test-time flipping and mirrored training poses."""
from __future__ import annotations

import torch
from torch import Tensor, nn


def mirror(poses: Tensor, flip_permutation: Tensor) -> Tensor:
    """Poses (B, J, 2 | 3) seen in a mirror: x negated, left and right joints swapped. Its own
    inverse. 2D in screen or pose normalisation (both centred, so x -> -x mirrors the image), 3D
    in the camera frame."""
    out = poses[:, flip_permutation]  # (B, J, C), a copy
    out[..., 0] = -out[..., 0]
    return out


def mirror_half(x: Tensor, y: Tensor, flip_permutation, generator: torch.Generator,
                fraction: float = 0.5) -> tuple[Tensor, Tensor]:
    """Training poses x (P, J, 2), y (P, J, 3) with a random `fraction` of them replaced by their
    mirror images (`mirror`, 2D and 3D alike): a person seen in a mirror is another plausible
    person. Draws P numbers from `generator` (CPU), so runs and resumes repeat."""
    chosen = (torch.rand(x.size(0), generator=generator) < fraction).to(x.device)[:, None, None]  # (P, 1, 1)
    perm = torch.as_tensor(flip_permutation, device=x.device)
    return torch.where(chosen, mirror(x, perm), x), torch.where(chosen, mirror(y, perm), y)


def flip_average(pred: Tensor, pred_of_mirror: Tensor, flip_permutation: Tensor) -> Tensor:
    """Test-time flipping: the mean of the predictions (B, J, 3) for poses and, mirrored back, for
    their mirror images."""
    return 0.5 * (pred + mirror(pred_of_mirror, flip_permutation))


def flip_tested(model: nn.Module, x: Tensor, template: Tensor, flip_permutation: Tensor) -> Tensor:
    """`flip_average` of the model's predictions for x (B, J, 2) and for its mirror image."""
    return flip_average(model(x, template), model(mirror(x, flip_permutation), template), flip_permutation)
