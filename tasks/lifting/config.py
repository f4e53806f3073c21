"""Lifting configuration: the run's settings (`LiftingConfig`) and the model's
(`LiftingModelConfig`), each model's own defaults, subject lists. Errors name config fields."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Optional

from core.errors import InputError
from datasets.h36m import TEST_SUBJECTS, TRAIN_SUBJECTS
from datasets.input_norm import INPUT_NORMS


MODEL_NAMES = ("semgcn", "semgcn-nonlocal", "semgcn-ch", "gcn", "modulated", "graformer", "linear")


# Each model's own defaults (its paper's sizes) for the settings left at None.
MODEL_DEFAULTS = {"graformer": {"hidden": 96, "blocks": 5, "dropout": 0.25},
                  "linear": {"dropout": 0.5}}


GRAPH_DEFAULTS = {"hidden": 128, "blocks": 4, "dropout": 0.0}  # SemGCN's, Modulated GCN's


L1_DEFAULTS = {"modulated": 0.1}  # each model's training loss: MSE + this x L1 (Modulated GCN's code); else 0


COMPILE_MIN_STEPS = 5000  # compiling takes 10-30 s on a CPU: worth it for runs this long (docs/speed.md)
DEVICES = ("auto", "cpu", "cuda")


AUGMENTS = ("none", "cameras", "mirror")


# step: SemGCN's lr x decay every decay_steps steps; cosine: from lr down to 0 over the run's steps
LR_SCHEDULES = ("step", "cosine")


@dataclass(frozen=True)
class LiftingModelConfig:
    name: str = "modulated"  # the best graph lifter measured (docs/results.md); semgcn: the reference
    hidden: Optional[int] = None  # None: the model's own (MODEL_DEFAULTS, else GRAPH_DEFAULTS)
    blocks: Optional[int] = None  # residual blocks; graformer: attention + Chebyshev layers
    dropout: Optional[float] = None  # None: 0 for the graph models, 0.25 for graformer, 0.5 for linear

    def __post_init__(self):
        if self.name not in MODEL_NAMES:
            raise InputError(f"{{model.name}} {self.name}: unknown model (expected {', '.join(MODEL_NAMES)})")
        if (self.hidden is not None and self.hidden < 1) or (self.blocks is not None and self.blocks < 0):
            raise InputError(f"{{model.hidden}} {self.hidden} / {{model.blocks}} {self.blocks}: must be positive")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise InputError(f"{{model.dropout}} {self.dropout}: must be in [0, 1)")
        if self.name == "graformer" and self.effective("hidden") % 4:
            raise InputError(f"{{model.hidden}} {self.hidden}: graformer needs a multiple of its 4 heads")

    def effective(self, key: str):
        """A setting's value: the given one, else the model's default."""
        value = getattr(self, key)
        return value if value is not None else MODEL_DEFAULTS.get(self.name, {}).get(key, GRAPH_DEFAULTS[key])

    @property
    def effective_dropout(self) -> float:
        return self.effective("dropout")


@dataclass(frozen=True)
class LiftingConfig:
    """Everything a lifting run depends on. Defaults are SemGCN's training settings, with the model
    `modulated` (Modulated GCN: SemGCN's architecture with modulated graph convs) and its loss
    (MSE + 0.1 x L1)."""

    model: LiftingModelConfig = field(default_factory=LiftingModelConfig)
    data: Optional[str] = None  # folder with the standard .npz files; None: built-in synthetic
    keypoints: str = "gt"
    joints: int = 16
    epochs: int = 50
    batch_size: int = 64
    lr: float = 1e-3
    lr_decay: float = 0.96
    lr_decay_steps: int = 100_000
    lr_schedule: str = "step"
    max_grad_norm: float = 1.0
    l1_weight: Optional[float] = None  # loss = MSE + this x L1; None: the model's own (L1_DEFAULTS)
    compile: str = "auto"  # torch.compile the training step: on | off | auto (on for runs of >= COMPILE_MIN_STEPS)
    precision: str = "auto"  # fp32 | bf16 (autocast) | auto (bf16 where the hardware has it: core.device)
    input_norm: str = "screen"  # screen (SemGCN's) | pose (camera-independent): datasets.input_norm
    # mirror (the default: each epoch, half of the poses mirrored, `mirror_half`; 65.0 against 69.8 mm on
    # Human3.6M's S8, docs/results.md) | none | cameras (random views each epoch, pose lifters: datasets.camera_augment)
    augment: str = "mirror"
    downsample: int = 1
    actions: Optional[tuple[str, ...]] = None
    train_subjects: tuple[str, ...] = TRAIN_SUBJECTS
    val_subjects: tuple[str, ...] = TEST_SUBJECTS  # best.pt's choice; () = none: best.pt is the last epoch
    seed: int = 0
    device: str = "auto"
    out: str = "runs/lifting"
    eval_batch_size: int = 1024
    init: Optional[str] = None  # start from this lifting checkpoint's weights (ours, a shipped name, SemGCN's / Modulated GCN's)

    def __post_init__(self):
        if self.joints not in (16, 17):
            raise InputError(f"{{joints}} {self.joints}: must be 16 or 17")
        if self.model.name == "semgcn-nonlocal" and self.joints != 16:
            raise InputError("{model.name} semgcn-nonlocal: needs {joints} 16 (SemGCN's joint groups)")
        for name in ("epochs", "batch_size", "downsample", "eval_batch_size", "lr_decay_steps"):
            if getattr(self, name) < 1:
                raise InputError(f"{{{name}}} {getattr(self, name)}: must be >= 1")
        if not self.lr > 0:
            raise InputError(f"{{lr}} {self.lr}: must be positive")
        if self.l1_weight is not None and not 0 <= self.l1_weight < float("inf"):
            raise InputError(f"{{l1_weight}} {self.l1_weight}: must be >= 0")
        if self.lr_schedule not in LR_SCHEDULES:
            raise InputError(f"{{lr_schedule}} {self.lr_schedule}: expected one of {', '.join(LR_SCHEDULES)}")
        if not 0 < self.lr_decay <= 1:
            raise InputError(f"{{lr_decay}} {self.lr_decay}: must be in (0, 1]")
        if not 0 <= self.seed < 2**32:
            raise InputError(f"{{seed}} {self.seed}: must be in [0, 2**32)")
        if self.compile not in ("auto", "on", "off"):
            raise InputError(f"{{compile}} {self.compile}: expected auto, on or off")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise InputError(f"{{precision}} {self.precision}: expected auto, fp32 or bf16")
        if self.input_norm not in INPUT_NORMS:
            raise InputError(f"{{input_norm}} {self.input_norm}: expected one of {', '.join(INPUT_NORMS)}")
        if self.augment not in AUGMENTS:
            raise InputError(f"{{augment}} {self.augment}: expected one of {', '.join(AUGMENTS)}")
        if self.augment == "cameras" and self.input_norm != "pose":
            raise InputError("{augment} cameras: needs {input_norm} pose (the random views change the image "
                             "geometry that screen coordinates encode)")
        if self.device not in DEVICES:
            raise InputError(f"{{device}} {self.device}: expected one of {', '.join(DEVICES)}")
        if not self.train_subjects:
            raise InputError("{train_subjects}: no subject to train on")
        both = sorted(set(self.train_subjects) & set(self.val_subjects))
        if both:
            raise InputError(f"{{val_subjects}} {','.join(both)}: also in {{train_subjects}}; validate on "
                             f"subjects the model does not train on")

    @property
    def effective_l1_weight(self) -> float:
        return self.l1_weight if self.l1_weight is not None else L1_DEFAULTS.get(self.model.name, 0.0)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["actions"] = list(self.actions) if self.actions else None
        d["train_subjects"], d["val_subjects"] = list(self.train_subjects), list(self.val_subjects)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "LiftingConfig":
        d = dict(d)
        d["model"] = LiftingModelConfig(**d["model"])
        d["actions"] = tuple(d["actions"]) if d.get("actions") else None
        for key, default in (("train_subjects", TRAIN_SUBJECTS), ("val_subjects", TEST_SUBJECTS)):
            d[key] = tuple(d.get(key, default))  # runs saved before the flags used the standard split
        d.setdefault("l1_weight", 0.0)  # runs saved before the option trained with the plain MSE
        d.setdefault("precision", "fp32")  # ... and before --precision, in fp32
        d.setdefault("augment", "none")  # ... and before --augment, without augmentation
        return cls(**d)


def parse_subjects(text: str, field: str) -> tuple[str, ...]:
    """`S1,S5` -> ("S1", "S5"); `none` -> () (no subjects)."""
    if text.strip().lower() == "none":
        return ()
    subjects = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in subjects if not re.fullmatch(r"S([1-9]|1[01])", s)]
    if bad or not subjects:
        raise InputError(f"{{{field}}} {text!r}: expected Human3.6M subjects S1..S11, comma-separated (or none)")
    return subjects
