"""3D pose lifting (SemGCN and its successors) as stages, one module each:

    config      LiftingConfig, LiftingModelConfig, each model's defaults, subject lists
    data        the standard files -> the training and validation splits; poses on the device
    models      a model's spec (stored in checkpoints) and the model rebuilt from it
    metrics     the loss, MPJPE, P-MPJPE, action-wise means
    training    the optimiser, the schedule, one step (TrainStep), one epoch
    flip        mirror images: test-time flipping, mirrored training poses
    evaluation  predictions for a split and their scores
    prediction  lifting without ground truth (predict.py), the poses3d.json records
    export      a lifter exported as ONNX / torch.export
    plots       the lifting pictures
    seeds       several seeds in one process (--seeds)
    shipped     the lifters shipped in checkpoints/, by name, with their cards
    original    checkpoints of the original SemGCN code

Units: 3D targets in metres (camera frame, root-relative); metrics in millimetres. The names
below are the package's public interface (`from tasks import lifting; lifting.TrainStep`).
"""
from tasks.lifting.config import (AUGMENTS, DEVICES, GRAPH_DEFAULTS, L1_DEFAULTS, MODEL_DEFAULTS, MODEL_NAMES,
                                  LiftingConfig, LiftingModelConfig, parse_subjects)
from tasks.lifting.data import data_fingerprint, data_folder, dense_data, load_lifting_split
from tasks.lifting.evaluation import EVAL_CHUNK, evaluate_lifting, lifting_scores, predict_all
from tasks.lifting.flip import flip_average, flip_tested, mirror, mirror_half
from tasks.lifting.metrics import action_wise, lifting_loss, mpjpe, p_mpjpe
from tasks.lifting.models import count_parameters, model_from_spec, model_spec, predict
from tasks.lifting.training import (COMPILE_MIN_STEPS, TrainStep, compile_wanted, make_optimizer, make_scheduler,
                                    train_epoch)
from datasets.h36m import TEST_SUBJECTS, TRAIN_SUBJECTS

__all__ = ["AUGMENTS", "DEVICES", "GRAPH_DEFAULTS", "L1_DEFAULTS", "MODEL_DEFAULTS", "MODEL_NAMES", "LiftingConfig",
           "LiftingModelConfig", "parse_subjects", "data_fingerprint", "data_folder", "dense_data", "load_lifting_split",
           "EVAL_CHUNK", "evaluate_lifting", "lifting_scores", "predict_all", "flip_average", "flip_tested", "mirror",
           "mirror_half", "action_wise", "lifting_loss", "mpjpe", "p_mpjpe", "count_parameters", "model_from_spec",
           "model_spec", "predict", "COMPILE_MIN_STEPS", "TrainStep", "compile_wanted", "make_optimizer",
           "make_scheduler", "train_epoch", "TEST_SUBJECTS", "TRAIN_SUBJECTS"]
