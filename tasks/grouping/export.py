"""A grouping checkpoint's edge classifier exported for inference: ONNX (`.onnx`, torch's dynamo
exporter; run with onnxruntime) or `torch.export` (`.pt2`), with dynamic node, message-edge and
pair counts (an image's candidate graph has its own sizes). Inputs, as `finalize_features` leaves
them on a candidate graph: x (M, F) node features, edge_index (2, E') message edges, edge_attr
(E', A) when the classifier reads them, pair_index (2, P) candidate pairs, pair_attr (P, A) when it
reads them; output: pair_probabilities (P,). The BatchNorms are folded (`EdgeClassifier.fused`)."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from core.export_io import write_export
from tasks.grouping.probabilities import ARGUMENTS, DYNAMIC as CLASSIFIER_DYNAMIC


class ClassifierForExport(nn.Module):
    """The fused classifier on the inputs it reads, -> pair probabilities (P,)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model.fused()
        self.reads_edge_attr = bool(model.edge_attr_in_conv)
        self.reads_pair_attr = model.pair_e is not None

    def input_names(self) -> list[str]:
        unread = {"edge_attr": not self.reads_edge_attr, "pair_attr": not self.reads_pair_attr}
        return [n for n in ARGUMENTS if not unread.get(n)]

    def forward(self, *inputs: Tensor) -> Tensor:
        named = dict(zip(self.input_names(), inputs))
        logits = self.model(named["x"], named["edge_index"], named.get("edge_attr"), named["pair_index"],
                            named.get("pair_attr"))
        return torch.sigmoid(logits)


def example_inputs(wrapped: ClassifierForExport, in_channels: int, edge_dim: int) -> tuple[Tensor, ...]:
    """A small random candidate graph of the classifier's feature widths (6 nodes, 8 message
    edges, 5 pairs: sizes other than 0 and 1, which export would fix)."""
    g = torch.Generator().manual_seed(0)
    values = {"x": torch.randn(6, in_channels, generator=g), "edge_index": torch.randint(0, 6, (2, 8), generator=g),
              "edge_attr": torch.randn(8, edge_dim, generator=g), "pair_index": torch.randint(0, 6, (2, 5), generator=g),
              "pair_attr": torch.randn(5, edge_dim, generator=g)}
    return tuple(values[n] for n in wrapped.input_names())


DYNAMIC = dict(zip(ARGUMENTS, CLASSIFIER_DYNAMIC))  # argument name -> {dim: size name}


def export_classifier(model: nn.Module, in_channels: int, edge_dim: int, path, metadata: dict) -> Path:
    """Write `path` (.onnx or .pt2) atomically."""
    wrapped = ClassifierForExport(model.eval()).eval()
    example = example_inputs(wrapped, in_channels, edge_dim)
    dims = {n: torch.export.Dim(n, min=1) for n in ("nodes", "edges", "pairs")}
    shapes = (tuple({i: dims[d] for i, d in DYNAMIC[n].items()} for n in wrapped.input_names()),)  # *inputs
    return write_export(wrapped, example, shapes, path, metadata, wrapped.input_names(), ["pair_probabilities"])


def classifier_inputs_from_maps(checkpoint, maps_file) -> dict:
    """What an exported classifier reads, for one image: a grouping checkpoint and one map file
    (`<image_id>.npz`) -> {input name: numpy array} (the checkpoint's graph settings and tag
    statistics, as `predict.py grouping` builds them), plus `positions` (M, 2) image pixels and
    `types` (M,) of the candidates the pairs index. Feed all but those two to the ONNX session:
    `session.run(None, {k: v for k, v in inputs.items() if k in names})`."""
    from core.checkpoint import checkpoint_config, load_checkpoint, rebuild_model
    from datasets.ae_maps import read_ae_maps
    from datasets.graph.candidate_graph import candidate_graph
    from datasets.graph.candidates import extract_candidates
    from datasets.coco import DATASET_SKELETONS
    from datasets.graph.features import finalize_features
    from tasks.grouping.config import GroupingConfig
    from tasks.grouping.data import feature_settings
    from tasks.grouping.model import model_from_spec
    ckpt = load_checkpoint(checkpoint, "grouping")
    cfg = checkpoint_config(ckpt, checkpoint, GroupingConfig.from_dict)
    skeleton = DATASET_SKELETONS[cfg.dataset]
    path = Path(maps_file)
    maps = read_ae_maps(path.parent, int(path.stem), skeleton.num_joints)
    graph = candidate_graph(extract_candidates(maps, cfg.graph), skeleton, cfg.graph, int(path.stem))
    finalize_features(graph, skeleton.num_joints, stats=ckpt["normalization"]["tag_stats"], **feature_settings(cfg))
    wanted = ClassifierForExport(rebuild_model(ckpt, checkpoint, model_from_spec)).input_names()
    out = {name: getattr(graph, name).numpy() for name in wanted}
    out["positions"] = (graph.pos * graph.factor + graph.offset).numpy()
    out["types"] = graph.jtype.numpy()
    return out
