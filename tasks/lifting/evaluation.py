"""Lifting evaluation: predictions for every pose of a split (optionally flip-tested, optionally
distributed), and their MPJPE / P-MPJPE, action-wise."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn
from core.progress import progress as progress_bar

from core.distributed import Dist, eval_block, gather
from tasks.lifting.data import dense_data
from tasks.lifting.flip import flip_tested
from tasks.lifting.metrics import action_wise, mpjpe, p_mpjpe


@torch.no_grad()
def predict_all(model: nn.Module, batcher, batch_size: int, device="cpu",
                progress: bool = False, dist_ctx: Optional[Dist] = None, flip: bool = False) -> Tensor:
    """(P, J, 3) predictions for every pose of `batcher`, in order, on the fixed-topology path;
    `flip`: with test-time flipping (`flip_tested`). Distributed: each rank predicts its block of
    the poses and the blocks are gathered."""
    model.eval()
    d = dist_ctx or Dist()
    J = batcher.skeleton.num_joints
    block = eval_block(len(batcher), d, align=batch_size)  # batches as a single process makes them
    x_all, _, template = dense_data(batcher, device)
    perm = torch.tensor(batcher.skeleton.flip_permutation, device=x_all.device)

    def run(x: Tensor) -> Tensor:
        return flip_tested(model, x, template, perm) if flip else model(x, template)

    starts = range(block.start, block.stop, batch_size)
    outs = [run(x_all[s:min(s + batch_size, block.stop)]).cpu()  # (B, J, 3)
            for s in progress_bar(starts, desc="eval", leave=False, enabled=progress)]
    pred = torch.cat(outs) if outs else torch.zeros(0, J, 3)
    return torch.cat(gather(pred, d)) if d.enabled else pred


def evaluate_lifting(model: nn.Module, batcher, action_names: list[str], batch_size: int = 1024,
                     device="cpu", progress: bool = False, dist_ctx: Optional[Dist] = None,
                     flip: bool = False) -> dict:
    """-> {MPJPE, P-MPJPE (mm, action-wise averages), per_action: {name: {MPJPE, P-MPJPE}}}."""
    return lifting_scores(predict_all(model, batcher, batch_size, device, progress, dist_ctx, flip),
                          batcher, action_names)


EVAL_CHUNK = 65536  # poses per P-MPJPE alignment batch


def lifting_scores(pred: Tensor, batcher, action_names: list[str]) -> dict:
    """Scores of predictions (P, J, 3) for the poses of `batcher` (see `evaluate_lifting`)."""
    target = batcher.y3d
    action = batcher.scalars["action"]
    chunks = range(0, pred.size(0), EVAL_CHUNK)  # bounded memory for the alignment's SVDs
    e1 = mpjpe(pred, target) * 1000.0
    e2 = torch.cat([p_mpjpe(pred[i:i + EVAL_CHUNK], target[i:i + EVAL_CHUNK]) for i in chunks]) * 1000.0 \
        if pred.size(0) else torch.zeros(0)
    m1, per1 = action_wise(e1, action, action_names)
    m2, per2 = action_wise(e2, action, action_names)
    return {"MPJPE": m1, "P-MPJPE": m2,
            "per_action": {a: {"MPJPE": per1[a], "P-MPJPE": per2[a]} for a in per1},
            "num_poses": int(pred.size(0))}
