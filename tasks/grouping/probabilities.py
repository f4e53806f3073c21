"""Stage 3, candidate graph -> pair probabilities: the classifier, one graph at a time."""
from __future__ import annotations

import copy
from typing import Optional

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Data

from gnn.trace import Traced
from core.checkpoint import rebuild_model
from core.distributed import Dist, eval_block, gather
from tasks.grouping.model import classifier_inputs, edge_logits, model_from_spec


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


class PairScorer:
    """Stage 3 as decoding runs it: graph -> pair probabilities (E,), by the classifier on
    `device` in eval mode with its BatchNorms folded (`fused`), traced with TorchScript
    (`gnn.trace.Traced`) on the first graph it sees that has message edges and pairs (the eager
    fused copy until then). Graphs must carry their features (`finalize_features`)."""

    def __init__(self, model: nn.Module, device):
        self.fused, self.device, self.traced = model.to(device).fused(), device, None

    @property
    def module(self) -> nn.Module:
        return self.traced or self.fused

    def __call__(self, graph: Data) -> np.ndarray:
        if self.traced is None and graph.edge_index.size(1) > 0 and graph.pair_index.size(1) > 0:
            self.traced = Traced(self.fused, classifier_inputs(copy.copy(graph).to(self.device)))
        return edge_probabilities(self.module, [graph], self.device)[0]


def checkpoint_scorer(ckpt: dict, path, device) -> PairScorer:
    """The pair scorer of a grouping checkpoint's classifier."""
    return PairScorer(rebuild_model(ckpt, path, model_from_spec), device)
