"""Stage 3, candidate graph -> pair probabilities: the classifier, one graph at a time."""
from __future__ import annotations

import copy
from typing import Optional

import numpy as np
import torch
from torch_geometric.data import Data

from core.distributed import Dist, eval_block, gather
from tasks.grouping.model import edge_logits


@torch.inference_mode()
def edge_probabilities(model, graphs: list[Data], device, dist_ctx: Optional[Dist] = None) -> list[np.ndarray]:
    """Per graph, the probability of each candidate pair (graphs one at a time). Distributed:
    each rank scores its block of the graphs and the blocks are gathered."""
    d = dist_ctx or Dist()
    if model.training:
        model.eval()
    out = []
    for k in eval_block(len(graphs), d):
        g = graphs[k]
        if g.pair_index.size(1) == 0:
            out.append(np.zeros(0))
            continue
        if g.x.device != torch.device(device):
            g = copy.copy(g).to(device)  # Data.to moves in place: leave the caller's graph where it is
        out.append(torch.sigmoid(edge_logits(model, g)).cpu().numpy())
    return [p for part in gather(out, d) for p in part] if d.enabled else out
