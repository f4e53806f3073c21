"""3D pose lifting (SemGCN): configuration, models, loss, metrics, train and eval steps.

Units: 3D targets in metres (camera frame, root-relative); metrics in millimetres.
"""
from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import torch
from torch import Tensor, nn
from tqdm import tqdm

from core.errors import InputError
from datasets.camera_augment import random_views
from datasets.input_norm import INPUT_NORMS, apply_input_norm
from datasets.h36m import FILE_3D, TEST_SUBJECTS, TRAIN_SUBJECTS, PoseSet, load_h36m, resolve_2d_file
from datasets.skeleton import Skeleton
from datasets.synthetic_h36m import synthetic_h36m_dir
from gnn.models import MODEL_CLASSES
from core.distributed import Dist, all_sum, eval_block, gather

MODEL_NAMES = ("semgcn", "semgcn-nonlocal", "semgcn-ch", "gcn", "modulated", "graformer", "linear")
# Each model's own defaults (its paper's sizes) for the settings left at None.
MODEL_DEFAULTS = {"graformer": {"hidden": 96, "blocks": 5, "dropout": 0.25},
                  "linear": {"dropout": 0.5}}
GRAPH_DEFAULTS = {"hidden": 128, "blocks": 4, "dropout": 0.0}  # SemGCN's, Modulated GCN's
L1_DEFAULTS = {"modulated": 0.1}  # each model's training loss: MSE + this x L1 (Modulated GCN's code); else 0
DEVICES = ("auto", "cpu", "cuda")
AUGMENTS = ("none", "cameras", "mirror")


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
    max_grad_norm: float = 1.0
    l1_weight: Optional[float] = None  # loss = MSE + this x L1; None: the model's own (L1_DEFAULTS)
    compile: str = "auto"  # torch.compile the training step: on | off | auto (on for runs of >= COMPILE_MIN_STEPS)
    precision: str = "auto"  # fp32 | bf16 (autocast) | auto (bf16 where the hardware has it: core.device)
    input_norm: str = "screen"  # screen (SemGCN's) | pose (camera-independent): datasets.input_norm
    augment: str = "none"  # none | cameras (random views each epoch, pose lifters: datasets.camera_augment) |
    # mirror (each epoch, half of the poses mirrored: `mirror_half`)
    downsample: int = 1
    actions: Optional[tuple[str, ...]] = None
    train_subjects: tuple[str, ...] = TRAIN_SUBJECTS
    val_subjects: tuple[str, ...] = TEST_SUBJECTS  # best.pt's choice; () = none: best.pt is the last epoch
    seed: int = 0
    device: str = "auto"
    out: str = "runs/lifting"
    eval_batch_size: int = 1024

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
        return cls(**d)


# ---------------------------------------------------------------------------------------------
# Data

def data_folder(data: Optional[str], keypoints: str):
    """The folder of the standard .npz files: `data`, or the built-in synthetic set."""
    if data is not None:
        return data
    if keypoints != "gt":
        raise InputError(f"{{keypoints}} {keypoints}: the built-in synthetic data has only gt "
                         f"keypoints; set {{data}} to the folder of your Human3.6M files")
    return synthetic_h36m_dir()


def data_fingerprint(cfg: LiftingConfig) -> str:
    """A digest of what a run trains on: the content of its data files (so a moved folder with the
    same files is the same data), the keypoint set, joints, subjects, actions and downsampling."""
    import hashlib
    from datasets.graph_cache import file_digest
    folder = Path(data_folder(cfg.data, cfg.keypoints))
    files = [folder / FILE_3D, resolve_2d_file(folder, cfg.keypoints)]
    text = "|".join([*(file_digest(f) for f in files), cfg.keypoints, str(cfg.joints), ",".join(cfg.train_subjects),
                     ",".join(cfg.val_subjects), ",".join(cfg.actions or ()), str(cfg.downsample)])
    return hashlib.sha1(text.encode()).hexdigest()


def parse_subjects(text: str, field: str) -> tuple[str, ...]:
    """`S1,S5` -> ("S1", "S5"); `none` -> () (no subjects)."""
    if text.strip().lower() == "none":
        return ()
    subjects = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in subjects if not re.fullmatch(r"S([1-9]|1[01])", s)]
    if bad or not subjects:
        raise InputError(f"{{{field}}} {text!r}: expected Human3.6M subjects S1..S11, comma-separated (or none)")
    return subjects


def load_lifting_split(cfg: LiftingConfig, train: bool, subjects: Optional[Sequence[str]] = None,
                       field: Optional[str] = None) -> PoseSet:
    """One split, its 2D in the lifter's input normalisation (`cfg.input_norm`): the training
    subjects, or the validation subjects (`subjects` instead, asked for by the config field or
    flag `field`)."""
    if subjects is None:
        subjects, field = (cfg.train_subjects, "train_subjects") if train else (cfg.val_subjects, "val_subjects")
    poses = load_h36m(data_folder(cfg.data, cfg.keypoints), cfg.keypoints, cfg.joints,
                      subjects, cfg.actions, cfg.downsample, subjects_field="{" + field + "}")
    return dataclasses.replace(poses, x2d=apply_input_norm(poses.x2d, cfg.input_norm))


# ---------------------------------------------------------------------------------------------
# Models

def model_spec(cfg: LiftingModelConfig, skeleton: Skeleton) -> dict:
    """A model's class name and constructor arguments (plain values, stored in checkpoints)."""
    J = skeleton.num_joints
    if cfg.name == "linear":
        return {"class": "LinearLifter",
                "kwargs": {"num_joints": J, "dropout": cfg.effective_dropout}}
    d = cfg.effective_dropout
    if cfg.name == "graformer":
        return {"class": "GraFormer",
                "kwargs": {"num_joints": J, "hidden_channels": cfg.effective("hidden"),
                           "num_layers": cfg.effective("blocks"), "dropout": d, "inner_dropout": min(d, 0.1)}}
    kwargs = {"num_joints": J, "num_edge_types": skeleton.edge_index().size(1),
              "hidden_channels": cfg.effective("hidden"), "num_blocks": cfg.effective("blocks"),
              "dropout": d,
              "conv": {"semgcn": "sem", "semgcn-nonlocal": "sem", "semgcn-ch": "sem-ch",
                       "gcn": "gcn", "modulated": "modulated"}[cfg.name]}
    if cfg.name == "semgcn-nonlocal":
        kwargs["joint_groups"] = [list(g) for g in skeleton.joint_groups]
    if cfg.name == "modulated":
        kwargs["edges"] = skeleton.edge_index().tolist()
    return {"class": "SemGCN", "kwargs": kwargs}


def model_from_spec(spec: dict) -> nn.Module:
    return MODEL_CLASSES[spec["class"]](**spec["kwargs"])


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def predict(model: nn.Module, batch) -> Tensor:
    """A batch of pose graphs -> (N, 3) predicted joints."""
    return model(batch.x, batch.edge_index, batch.edge_type, batch.joint, batch.batch)


# ---------------------------------------------------------------------------------------------
# Loss and metrics

def lifting_loss(pred: Tensor, target: Tensor, l1_weight: float = 0.0) -> Tensor:
    """Mean squared error over joints and coordinates (SemGCN's loss), plus `l1_weight` x the mean
    absolute error (Modulated GCN's code adds 0.1 x L1)."""
    loss = torch.nn.functional.mse_loss(pred, target)
    return loss + l1_weight * torch.nn.functional.l1_loss(pred, target) if l1_weight else loss


def mpjpe(pred: Tensor, target: Tensor) -> Tensor:
    """Protocol 1: mean per-joint position error of each pose, after re-centring both poses on
    their root joint (joint 0). (B, J, 3), (B, J, 3) -> (B,), in the input's units."""
    assert pred.shape == target.shape and pred.dim() == 3 and pred.size(-1) == 3, (pred.shape, target.shape)
    pred = pred - pred[:, :1]
    target = target - target[:, :1]
    return torch.linalg.norm(pred - target, dim=-1).mean(dim=-1)


def p_mpjpe(pred: Tensor, target: Tensor) -> Tensor:
    """Protocol 2: MPJPE after aligning each prediction to its target with the best similarity
    transform (rotation, uniform scale, translation; reflections excluded).
    (B, J, 3), (B, J, 3) -> (B,)."""
    assert pred.shape == target.shape and pred.dim() == 3 and pred.size(-1) == 3, (pred.shape, target.shape)
    P = pred.double() - pred.double().mean(dim=1, keepdim=True)  # (B, J, 3)
    T = target.double() - target.double().mean(dim=1, keepdim=True)
    U, S, Vh = torch.linalg.svd(P.transpose(1, 2) @ T)  # P^T T = U diag(S) Vh
    d = torch.sign(torch.linalg.det(U @ Vh))  # -1 where the best orthogonal map is a reflection
    D = torch.ones_like(S)
    D[:, -1] = d
    R = U @ (D.unsqueeze(-1) * Vh)  # (B, 3, 3), aligned = P @ R
    scale = (S * D).sum(-1) / (P ** 2).sum(dim=(1, 2)).clamp_min(1e-12)  # (B,)
    aligned = scale[:, None, None] * (P @ R)
    return torch.linalg.norm(aligned - T, dim=-1).mean(dim=-1).to(pred.dtype)


def action_wise(errors: Tensor, action: Tensor, action_names: list[str]) -> tuple[float, dict]:
    """Mean error per action, then the mean over actions (SemGCN's protocol).
    errors (P,), action (P,) ids into `action_names` -> (average, {name: mean})."""
    assert errors.shape == action.shape
    per = {}
    for i, name in enumerate(action_names):
        mask = action == i
        if mask.any():
            per[name] = float(errors[mask].mean())
    return sum(per.values()) / max(len(per), 1), per


# ---------------------------------------------------------------------------------------------
# Train and eval steps

def make_optimizer(model: nn.Module, lr: float) -> torch.optim.Adam:
    """SemGCN's optimiser, Adam, as one fused kernel per step (`fused=True`): the same update as
    the default per-tensor loop up to rounding, 3.5x faster on this CPU (58 parameter tensors of
    SemGCN: 2.4 ms per step against 8.6, bench/lifting_profile.py), and with its step counts on
    the device, no host synchronisation on a GPU."""
    return torch.optim.Adam(model.parameters(), lr=lr, fused=True)


def make_scheduler(optimizer, decay: float, decay_steps: int):
    """SemGCN's schedule: lr = lr0 * decay ** floor(step / decay_steps), stepped per batch."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: decay ** (step // decay_steps))


def dense_data(batcher, device) -> tuple[Tensor, Optional[Tensor], Tensor]:
    """A batcher's poses on `device` as (P, J, 2), (P, J, 3) tensors (moved once and kept) and
    its skeleton template's directed bones (2, E)."""
    key = str(device)
    cache = batcher.__dict__.setdefault("_dense", {})
    if key not in cache:
        y = batcher.y3d.to(device) if batcher.y3d is not None else None
        cache[key] = (batcher.x2d.to(device), y, batcher.skeleton.edge_index().to(device))
    return cache[key]


COMPILE_MIN_STEPS = 5000  # compiling takes 10-30 s on a CPU: worth it for runs this long (docs/speed.md)


def compile_wanted(setting: str, steps: int) -> bool:
    """Whether `--compile setting` compiles a run of `steps` optimisation steps."""
    return setting == "on" or (setting == "auto" and steps >= COMPILE_MIN_STEPS)


class TrainStep:
    """One optimisation step of the fixed-topology path: forward on (B, J, 2), loss (MSE, plus
    `l1_weight` x L1), backward,
    gradient clipping, the optimizer and the schedule. `compile`: the forward and loss (with
    their backward) compiled by `torch.compile` (on a GPU with CUDA graphs, `reduce-overhead`);
    `bf16`: autocast to bfloat16 (CPU or GPU). Returns the loss as a 0-d tensor on the device
    (no host sync)."""

    def __init__(self, model: nn.Module, optimizer, scheduler, max_grad_norm: float, template: Tensor,
                 compile: bool = False, bf16: bool = False, l1_weight: float = 0.0):
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.l1_weight = l1_weight
        self.max_grad_norm, self.template, self.bf16 = max_grad_norm, template, bf16
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.forward_loss = self._forward_loss
        if compile:
            mode = "reduce-overhead" if template.is_cuda else None
            self.forward_loss = torch.compile(self._forward_loss, mode=mode, dynamic=False)

    def _forward_loss(self, x: Tensor, y: Tensor) -> Tensor:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            pred = self.model(x, self.template)
        return lifting_loss(pred.float(), y, self.l1_weight)

    first_call_seconds: Optional[float] = None  # the first step, compilation included

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        if self.first_call_seconds is None:
            start = time.perf_counter()
            loss = self._step(x, y)
            float(loss)  # wait for it
            self.first_call_seconds = time.perf_counter() - start
            return loss
        return self._step(x, y)

    def _step(self, x: Tensor, y: Tensor) -> Tensor:
        loss = self.forward_loss(x, y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(self.params, max_norm=self.max_grad_norm, foreach=True)
        self.optimizer.step()
        self.scheduler.step()
        return loss.detach()


def train_epoch(model: nn.Module, batcher, optimizer, scheduler, batch_size: int,
                max_grad_norm: float, generator: torch.Generator, device="cpu",
                progress: bool = True, desc: str = "train", indices: Optional[Tensor] = None,
                dist_ctx: Optional[Dist] = None, step: Optional[TrainStep] = None,
                augment: str = "none") -> dict:
    """One pass over the shuffled training poses (or over `indices`, this rank's shard), on the
    fixed-topology path: the poses stay on the device, each batch is an index into them, the
    loss is summed on the device and read once. `step`: a `TrainStep` (compiled, bf16) made once
    per run; default an eager fp32 one. `augment`: `cameras`, half of the inputs replaced by views
    of random cameras (`datasets.camera_augment`); `mirror`, half of the poses (2D and 3D)
    mirrored (`mirror_half`); both drawn from `generator` after the shuffle.
    -> {loss, seconds, poses_per_s}, summed over all ranks when distributed."""
    model.train()
    start = time.perf_counter()
    x_all, y_all, template = dense_data(batcher, device)
    step = step or TrainStep(model, optimizer, scheduler, max_grad_norm, template)
    if indices is not None:
        order = torch.as_tensor(indices, dtype=torch.long)
    else:
        order = torch.randperm(len(batcher), generator=generator)  # the generator's sequence on every device
    order = order.to(device)
    if augment == "cameras":
        x_all = random_views(x_all, y_all, generator)
    elif augment == "mirror":
        x_all, y_all = mirror_half(x_all, y_all, batcher.skeleton.flip_permutation, generator)
    total = torch.zeros((), device=device)
    starts = range(0, order.numel(), batch_size)
    for s in tqdm(starts, desc=desc, leave=False, disable=not progress, mininterval=0.5):
        idx = order[s:s + batch_size]
        total += step(x_all[idx], y_all[idx]) * idx.numel()
    count = order.numel()
    seconds = time.perf_counter() - start
    total, count = all_sum([float(total), count], dist_ctx or Dist())
    return {"loss": total / max(count, 1), "seconds": seconds,
            "poses_per_s": count / seconds if seconds > 0 else float("inf")}


def mirror(poses: Tensor, flip_permutation: Tensor) -> Tensor:
    """Poses (B, J, 2 | 3) seen in a mirror: x negated, left and right joints swapped. Its own
    inverse. 2D in screen or pose normalisation (both centred, so x -> -x mirrors the image), 3D
    in the camera frame."""
    out = poses[:, flip_permutation]  # (B, J, C), a copy
    out[..., 0] = -out[..., 0]
    return out


def mirror_half(x: Tensor, y: Tensor, flip_permutation, generator: torch.Generator,
                fraction: float = 0.5) -> tuple[Tensor, Tensor]:
    """Training poses x (P, J, 2), y (P, J, 3) with a random `fraction` of them replaced by their
    mirror images (`mirror`, 2D and 3D alike): a person seen in a mirror is another plausible
    person. Draws P numbers from `generator` (CPU), so runs and resumes repeat."""
    chosen = (torch.rand(x.size(0), generator=generator) < fraction).to(x.device)[:, None, None]  # (P, 1, 1)
    perm = torch.as_tensor(flip_permutation, device=x.device)
    return torch.where(chosen, mirror(x, perm), x), torch.where(chosen, mirror(y, perm), y)


def flip_average(pred: Tensor, pred_of_mirror: Tensor, flip_permutation: Tensor) -> Tensor:
    """Test-time flipping: the mean of the predictions (B, J, 3) for poses and, mirrored back, for
    their mirror images."""
    return 0.5 * (pred + mirror(pred_of_mirror, flip_permutation))


def flip_tested(model: nn.Module, x: Tensor, template: Tensor, flip_permutation: Tensor) -> Tensor:
    """`flip_average` of the model's predictions for x (B, J, 2) and for its mirror image."""
    return flip_average(model(x, template), model(mirror(x, flip_permutation), template), flip_permutation)


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
            for s in tqdm(starts, desc="eval", leave=False, disable=not progress)]
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
