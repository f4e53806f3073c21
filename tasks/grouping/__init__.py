"""Bottom-up multi-person grouping, as stages (one module each):

    AE maps --datasets.graph.candidates--> candidates --datasets.graph.candidate_graph--> candidate graph
    --datasets.graph.features--> features --probabilities--> pair probabilities
    --decoders--> persons --results--> COCO results

Ground truth enters only through `datasets.graph.labels` (training and scoring). The names
below are the package's public interface.
"""
from tasks.grouping.config import (LR_SCHEDULES, MODEL_NAMES, OPTIMIZERS, PRESETS, GroupingConfig,
                                   GroupingModelConfig)
from tasks.grouping.data import (FeatureGraphs, GroupingData, attributes_read, builtin_training_graphs, finalize_all,
                                 prepare_grouping_data, synthesized_copies, write_builtin_annotations)
from tasks.grouping.decoders import DECODERS, decode, decode_ae, decode_all, decode_gnn, decode_oracle
from tasks.grouping.metrics import edge_metrics, pair_bce
from tasks.grouping.model import classifier_inputs, edge_logits, model_from_spec, model_spec
from tasks.grouping.probabilities import PairScorer, checkpoint_scorer, compile_checkpoint, edge_probabilities
from tasks.grouping.results import coco_results, subset_gt
from tasks.grouping.training import grouping_loss, make_optimizer, make_scheduler, pos_weight_of, train_epoch

__all__ = ["LR_SCHEDULES", "MODEL_NAMES", "OPTIMIZERS", "PRESETS", "pair_bce", "make_optimizer", "GroupingConfig", "GroupingModelConfig", "FeatureGraphs", "GroupingData",
           "attributes_read", "builtin_training_graphs", "finalize_all", "prepare_grouping_data", "synthesized_copies",
           "write_builtin_annotations", "DECODERS", "decode", "decode_ae", "decode_all", "decode_gnn",
           "decode_oracle", "edge_metrics", "classifier_inputs", "edge_logits", "PairScorer", "checkpoint_scorer", "compile_checkpoint",
           "model_from_spec", "model_spec", "edge_probabilities", "coco_results", "subset_gt",
           "grouping_loss", "make_scheduler", "pos_weight_of", "train_epoch"]
