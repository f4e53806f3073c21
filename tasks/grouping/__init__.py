"""Bottom-up multi-person grouping, as stages (one module each):

    AE maps --datasets.graph.candidates--> candidates --datasets.graph.candidate_graph--> candidate graph
    --datasets.graph.features--> features --probabilities--> pair probabilities
    --decoders--> persons --results--> COCO results

Ground truth enters only through `datasets.graph.labels` (training and scoring). The names
below are the package's public interface.
"""
from core.lazy import lazy_getattr

# Each public name and the module that defines it, imported on first use: `from tasks import
# lifting` stays cheap (the CLIs build their parsers from the configs without loading torch).
_WHERE = {
    "LR_SCHEDULES": "tasks.grouping.config",
    "MODEL_NAMES": "tasks.grouping.config",
    "OPTIMIZERS": "tasks.grouping.config",
    "PRESETS": "tasks.grouping.config",
    "GroupingConfig": "tasks.grouping.config",
    "GroupingModelConfig": "tasks.grouping.config",
    "FeatureGraphs": "tasks.grouping.data",
    "GroupingData": "tasks.grouping.data",
    "attributes_read": "tasks.grouping.data",
    "builtin_training_graphs": "tasks.grouping.data",
    "finalize_all": "tasks.grouping.data",
    "prepare_grouping_data": "tasks.grouping.data",
    "synthesized_copies": "tasks.grouping.data",
    "write_builtin_annotations": "tasks.grouping.data",
    "DECODERS": "tasks.grouping.config",
    "decode": "tasks.grouping.decoders",
    "decode_ae": "tasks.grouping.decoders",
    "decode_all": "tasks.grouping.decoders",
    "decode_gnn": "tasks.grouping.decoders",
    "decode_oracle": "tasks.grouping.decoders",
    "edge_metrics": "tasks.grouping.metrics",
    "pair_bce": "tasks.grouping.metrics",
    "classifier_inputs": "tasks.grouping.model",
    "edge_logits": "tasks.grouping.model",
    "model_from_spec": "tasks.grouping.model",
    "model_spec": "tasks.grouping.model",
    "PairScorer": "tasks.grouping.probabilities",
    "checkpoint_scorer": "tasks.grouping.probabilities",
    "compile_checkpoint": "tasks.grouping.probabilities",
    "edge_probabilities": "tasks.grouping.probabilities",
    "coco_results": "tasks.grouping.results",
    "subset_gt": "tasks.grouping.results",
    "grouping_loss": "tasks.grouping.training",
    "make_optimizer": "tasks.grouping.training",
    "make_scheduler": "tasks.grouping.training",
    "pos_weight_of": "tasks.grouping.training",
    "train_epoch": "tasks.grouping.training"
}

__getattr__ = lazy_getattr(__name__, _WHERE, globals())


__all__ = ["LR_SCHEDULES", "MODEL_NAMES", "OPTIMIZERS", "PRESETS", "pair_bce", "make_optimizer", "GroupingConfig", "GroupingModelConfig", "FeatureGraphs", "GroupingData",
           "attributes_read", "builtin_training_graphs", "finalize_all", "prepare_grouping_data", "synthesized_copies",
           "write_builtin_annotations", "DECODERS", "decode", "decode_ae", "decode_all", "decode_gnn",
           "decode_oracle", "edge_metrics", "classifier_inputs", "edge_logits", "PairScorer", "checkpoint_scorer", "compile_checkpoint",
           "model_from_spec", "model_spec", "edge_probabilities", "coco_results", "subset_gt",
           "grouping_loss", "make_scheduler", "pos_weight_of", "train_epoch"]
