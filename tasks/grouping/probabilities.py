"""Stage 3, candidate graph -> pair probabilities: the classifier, one graph at a time or the
graphs of many images in one call."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Data

from core.cache_dir import cache_dir
from core.errors import InputError
from gnn.aot import aot_compiled
from core.checkpoint import load_checkpoint, rebuild_model
from core.distributed import Dist, eval_block, gather
from tasks.grouping.config import COMPILE_MODES
from tasks.grouping.model import classifier_inputs, edge_logits, model_from_spec


@torch.inference_mode()
def edge_probabilities(model, graphs: list[Data], device, dist_ctx: Optional[Dist] = None) -> list[np.ndarray]:
    """Per graph, the probability of each candidate pair (graphs one at a time). Distributed:
    each rank scores its block of the graphs and the blocks are gathered."""
    d = dist_ctx or Dist()
    if getattr(model, "training", False):
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


# Loading an AOTInductor package on CUDA crashed the interpreter (segmentation fault in
# torch._inductor.aoti_load_package, torch 2.11, H200): until that works, `on` refuses CUDA in one
# line and `auto` stays eager there.
AOT_ON_CUDA = False

# The classifier's arguments (`classifier_inputs`) and their varying sizes: nodes, message edges, pairs.
ARGUMENTS = ("x", "edge_index", "edge_attr", "pair_index", "pair_attr")
DYNAMIC = ({0: "nodes"}, {1: "edges"}, {0: "edges"}, {1: "pairs"}, {0: "pairs"})


class PairScorer:
    """Stage 3 as decoding runs it: graph -> pair probabilities (E,), by the classifier on
    `device` in eval mode with its BatchNorms folded (`fused`). `compile`: `on` runs an
    AOTInductor-compiled copy (`gnn.aot`, about 2x faster per graph; compiled once per
    classifier, 10-20 s, and kept in the cache folder), `auto` the compiled copy when the cache
    already has it (train.py grouping puts it there after runs that took minutes) once
    `auto_after` graphs have been scored eagerly, `off` the eager copy. Loading a compiled copy
    takes about 1.3 s (torch's inductor start-up) and saves about 0.2 ms per graph, so `auto`
    leaves runs of a few thousand images eager. The copy is made for the first graph (after
    those) with at least two nodes, message edges and pairs; graphs must carry their features
    (`finalize_features`)."""

    auto_after = 5000  # graphs scored eagerly before `auto` loads a cached compiled copy

    def __init__(self, model: nn.Module, device, compile: str = "auto"):
        if compile not in COMPILE_MODES:
            raise ValueError(f"compile must be one of {COMPILE_MODES}, not {compile!r}")
        if torch.device(device).type == "cuda" and not AOT_ON_CUDA:
            if compile == "on":
                raise InputError("{compile} on: the AOTInductor-compiled classifier is CPU-only for now (loading "
                                 "its package on CUDA crashed the process); use --compile off or auto on a GPU")
            compile = "off"  # auto: the eager classifier
        self.fused, self.device, self.compile = model.to(device).fused(), device, compile
        self.compiled, self.tried, self.scored = None, compile == "off", 0

    def wants_example(self) -> bool:
        """Whether `prepare` would now load or make the compiled copy (given a graph)."""
        return not (self.tried or (self.compile == "auto" and self.scored < self.auto_after))

    def prepare(self, graph: Data) -> bool:
        """Load (or with `on`, make) the compiled copy for graphs like `graph`; -> whether there is one."""
        if self.wants_example() and min(graph.num_nodes, graph.edge_index.size(1), graph.pair_index.size(1)) >= 2:
            self.tried = True
            example = classifier_inputs(copy.copy(graph).to(self.device))
            self.compiled = aot_compiled(self.fused, example, DYNAMIC, cache_dir() / "aot", self.compile == "on")
        return self.compiled is not None

    def __call__(self, graph: Data) -> np.ndarray:
        self.prepare(graph)
        self.scored += 1
        module = self.compiled if self.compiled is not None and graph.edge_index.size(1) > 0 else self.fused
        return edge_probabilities(module, [graph], self.device)[0]

    def many(self, graphs: list[Data], batch: int = 1) -> list[np.ndarray]:
        """Per graph its pair probabilities, `batch` graphs per classifier call (their inputs
        joined into one disconnected graph, `joined_inputs`): the per-call overhead paid once
        per batch. Equal to one call per graph up to float rounding (tested)."""
        if batch <= 1:
            return [self(g) for g in graphs]
        out = []
        for start in range(0, len(graphs), batch):
            part = graphs[start:start + batch]
            self.prepare(part[0])
            out += self.joined(*joined_inputs(part))
        return out

    def joined(self, inputs: tuple, pairs: list[int]) -> list[np.ndarray]:
        """The classifier's inputs of several graphs joined (`joined_inputs`,
        `datasets.graph.batched`) and each graph's pair count -> per graph its probabilities."""
        self.scored += len(pairs)
        if inputs[3].size(1) == 0:
            return [np.zeros(0) for _ in pairs]
        module = self.compiled if self.compiled is not None and inputs[1].size(1) > 0 else self.fused
        if getattr(module, "training", False):
            module.eval()
        with torch.inference_mode():
            probs = torch.sigmoid(module(*(t if t is None else t.to(self.device) for t in inputs))).cpu().numpy()
        return np.split(probs, np.cumsum(pairs)[:-1])


def joined_inputs(graphs: list[Data]) -> tuple[tuple, list[int]]:
    """The classifier's arguments (`classifier_inputs`) of several graphs joined into one graph
    of disconnected parts (node indices offset), and each graph's number of pairs. Only these
    five tensors are joined (`Batch.from_data_list` would also collate every other attribute)."""
    sizes = [g.num_nodes for g in graphs]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    per_graph = [classifier_inputs(g) for g in graphs]

    def cat(i, offset_index=False):
        parts = [p[i] for p in per_graph]
        if parts[0] is None:
            return None
        if offset_index:
            parts = [t + int(o) for t, o in zip(parts, offsets)]
        return torch.cat(parts, dim=1 if offset_index else 0)
    joined = (cat(0), cat(1, True), cat(2), cat(3, True), cat(4))
    return joined, [p[3].size(1) for p in per_graph]


def checkpoint_scorer(ckpt: dict, path, device, compile: str = "auto") -> PairScorer:
    """The pair scorer of a grouping checkpoint's classifier."""
    return PairScorer(rebuild_model(ckpt, path, model_from_spec), device, compile)


def compile_checkpoint(path, graphs: list[Data], device) -> Optional[Path]:
    """Put the AOTInductor-compiled classifier of grouping checkpoint `path` into the cache, where
    `--compile auto` finds it (10-20 s, once per classifier), made for graphs like `graphs` (with
    features). -> the package, or None when no graph has two nodes, edges and pairs."""
    if torch.device(device).type == "cuda" and not AOT_ON_CUDA:
        return None
    scorer = checkpoint_scorer(load_checkpoint(path, "grouping"), path, device, "on")
    return scorer.compiled.path if any(scorer.prepare(g) for g in graphs) else None
