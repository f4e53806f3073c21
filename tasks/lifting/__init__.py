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
from core.lazy import lazy_getattr

# Each public name and the module that defines it, imported on first use: `from tasks import
# lifting` stays cheap (the CLIs build their parsers from the configs without loading torch).
_WHERE = {
    "AUGMENTS": "tasks.lifting.config",
    "DEVICES": "tasks.lifting.config",
    "GRAPH_DEFAULTS": "tasks.lifting.config",
    "L1_DEFAULTS": "tasks.lifting.config",
    "LR_SCHEDULES": "tasks.lifting.config",
    "MODEL_DEFAULTS": "tasks.lifting.config",
    "MODEL_NAMES": "tasks.lifting.config",
    "LiftingConfig": "tasks.lifting.config",
    "LiftingModelConfig": "tasks.lifting.config",
    "parse_subjects": "tasks.lifting.config",
    "data_fingerprint": "tasks.lifting.data",
    "data_folder": "tasks.lifting.data",
    "dense_data": "tasks.lifting.data",
    "load_lifting_split": "tasks.lifting.data",
    "EVAL_CHUNK": "tasks.lifting.evaluation",
    "evaluate_lifting": "tasks.lifting.evaluation",
    "lifting_scores": "tasks.lifting.evaluation",
    "predict_all": "tasks.lifting.evaluation",
    "flip_average": "tasks.lifting.flip",
    "flip_tested": "tasks.lifting.flip",
    "mirror": "tasks.lifting.flip",
    "mirror_half": "tasks.lifting.flip",
    "action_wise": "tasks.lifting.metrics",
    "lifting_loss": "tasks.lifting.metrics",
    "loss_description": "tasks.lifting.metrics",
    "mpjpe": "tasks.lifting.metrics",
    "p_mpjpe": "tasks.lifting.metrics",
    "count_parameters": "tasks.lifting.models",
    "model_from_spec": "tasks.lifting.models",
    "model_spec": "tasks.lifting.models",
    "predict": "tasks.lifting.models",
    "COMPILE_MIN_STEPS": "tasks.lifting.config",
    "TrainStep": "tasks.lifting.training",
    "compile_wanted": "tasks.lifting.training",
    "make_optimizer": "tasks.lifting.training",
    "make_scheduler": "tasks.lifting.training",
    "train_epoch": "tasks.lifting.training",
    "TEST_SUBJECTS": "datasets.h36m",
    "TRAIN_SUBJECTS": "datasets.h36m"
}

__getattr__ = lazy_getattr(__name__, _WHERE, globals())


__all__ = ["AUGMENTS", "DEVICES", "GRAPH_DEFAULTS", "L1_DEFAULTS", "LR_SCHEDULES", "MODEL_DEFAULTS", "MODEL_NAMES", "LiftingConfig",
           "LiftingModelConfig", "parse_subjects", "data_fingerprint", "data_folder", "dense_data", "load_lifting_split",
           "EVAL_CHUNK", "evaluate_lifting", "lifting_scores", "predict_all", "flip_average", "flip_tested", "mirror",
           "mirror_half", "action_wise", "lifting_loss", "loss_description", "mpjpe", "p_mpjpe", "count_parameters", "model_from_spec",
           "model_spec", "predict", "COMPILE_MIN_STEPS", "TrainStep", "compile_wanted", "make_optimizer",
           "make_scheduler", "train_epoch", "TEST_SUBJECTS", "TRAIN_SUBJECTS"]
