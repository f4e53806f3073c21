"""A grouping run's configuration: model, graphs, synthesiser, data, training, decoding."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

from core.errors import InputError
from datasets.synthetic.ae_maps import EXTRAS, SynthConfig
from datasets.coco import DATASET_SKELETONS
from datasets.graph.config import GraphConfig

SPLITS = ("all", "val", "train")  # evaluate.py grouping --split
SYNTH_GENERATORS = ("project", "second", "fourth")  # map generators training may draw from (the third only tests)
DECODERS = ("gnn", "ae", "oracle")  # stage 4 (decoders.py): the GNN's greedy merging, AE tag matching, the oracle
FLOOR_REFERENCES = ("image", "none")  # what a person floor is a share of (persons.floor_reference)
DECODE_BATCH = 32  # images whose graphs the classifier scores in one call at inference (docs/speed.md)
COMPILE_MODES = ("auto", "on", "off")  # the classifier at inference: AOTInductor-compiled or eager (probabilities.PairScorer)


MODEL_NAMES = ("edgeconv", "edgeconv-attr")


LR_SCHEDULES = ("constant", "cosine")
OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class GroupingModelConfig:
    """Defaults: the most accurate classifier measured (docs/results.md); the reference design
    is `edgeconv` without pair attributes (`PRESETS["reference"]`)."""

    name: str = "edgeconv-attr"
    hidden: int = 32
    pair_attr: bool = True  # the edge MLP also sees the pair's attributes

    def __post_init__(self):
        if self.name not in MODEL_NAMES:
            raise InputError(f"{{model.name}} {self.name}: unknown model (expected {', '.join(MODEL_NAMES)})")
        if self.hidden < 1:
            raise InputError(f"{{model.hidden}} {self.hidden}: must be >= 1")


@dataclass(frozen=True)
class GroupingConfig:
    """Everything a grouping run depends on. Defaults: the configuration that generalised best in
    our measurements (docs/results.md): EdgeConv with edge attributes, pair attributes, 16
    synthesised draws per training image, each from a randomised synthesiser with real models'
    artifacts; pairs merged down to probability 0.02, fragments attached, a person floor; Adam,
    batch 5, 50 epochs as the reference design, whose settings `PRESETS["reference"]` keeps."""

    model: GroupingModelConfig = field(default_factory=GroupingModelConfig)
    graph: GraphConfig = field(default_factory=GraphConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    annotations: Optional[str] = None  # None: built-in synthetic scenes
    maps: Optional[str] = None  # folder of <image_id>.npz; None: synthesise
    dataset: str = "coco"
    num_scenes: int = 200
    synth_copies: int = 16  # synthesised maps per training image (augmentation)
    synth_randomize: bool = True  # each training image's synthesiser drawn anew (datasets.synthetic.ae_maps.randomized)
    synth_generators: tuple[str, ...] = ("project",)  # map generators of the training copies, in turn (copy 0: project)
    synth_artifacts: bool = True  # each training image gets real AE models' artifacts (datasets.synthetic.ae_maps.with_artifacts)
    synth_extras: tuple[str, ...] = ()  # more artifacts drawn with them (of
    # datasets.synthetic.ae_maps.EXTRAS; without synth_artifacts, none)
    builtin_scenes: int = 0  # built-in scenes mixed into the training images of `annotations`
    graph_cache: Optional[str] = "auto"  # built graphs kept on disk (auto: the user cache folder; None: no cache)
    workers: int = 0  # DataLoader worker processes computing the training batches' features
    val_fraction: float = 0.2
    val_copies: int = 1  # synthesised draws of each validation image (synthesised maps only)
    epochs: int = 50
    batch_size: int = 5
    lr: float = 1e-3
    lr_schedule: str = "constant"  # "constant" (the reference design) | "cosine" (to 0 at the last epoch)
    optimizer: str = "adam"  # "adam" (the reference design) | "sgd" (momentum 0.9)
    init: Optional[str] = None  # a grouping checkpoint whose classifier weights training starts from
    seed: int = 0
    device: str = "auto"
    out: str = "runs/grouping"
    decode_threshold: float = 0.5  # a pair probability called "same person" by the edge metrics
    merge_threshold: float = 0.02  # gnn: pairs at least this probable join their groups, most probable
    # first, unless a joint type would repeat (the reference design: 0.5; low: the probabilities' order
    # decides, which holds on other models' maps better than their size, docs/results.md)
    min_keypoints: int = 1  # as the oracle: COCO people with one or two labelled keypoints count
    attach_threshold: Optional[float] = 0.05  # gnn: a fragment joins a person through a pair this probable (None: never)
    person_floor: Optional[float] = None  # gnn: persons scored lower are not written (None: train.py chooses it
    # on the run's images and records it in the checkpoint; at decoding, None writes all)
    floor_reference: str = "image"  # the floor is a share of: "image" its strongest candidate's score | "none"
    ae_tag_threshold: float = 1.0

    def __post_init__(self):
        if self.dataset not in DATASET_SKELETONS:
            raise InputError(f"{{dataset}} {self.dataset}: expected one of {', '.join(DATASET_SKELETONS)}")
        for name in ("epochs", "batch_size", "num_scenes", "min_keypoints", "synth_copies", "val_copies"):
            if getattr(self, name) < 1:
                raise InputError(f"{{{name}}} {getattr(self, name)}: must be >= 1")
        if self.workers < 0:
            raise InputError(f"{{workers}} {self.workers}: must be >= 0")
        if self.builtin_scenes < 0:
            raise InputError(f"{{builtin_scenes}} {self.builtin_scenes}: must be >= 0")
        if self.builtin_scenes and self.annotations is None:
            raise InputError(f"{{builtin_scenes}} {self.builtin_scenes}: mixes built-in scenes into "
                             f"{{annotations}}; without annotations the built-in scenes are the data")
        if self.builtin_scenes and self.dataset != "coco":
            raise InputError(f"{{builtin_scenes}} {self.builtin_scenes}: the built-in scenes have COCO's "
                             f"17 keypoints, not {self.dataset}'s")
        for name in ("synth_copies", "val_copies"):
            if getattr(self, name) > 1 and self.maps is not None:
                raise InputError(f"{{{name}}} {getattr(self, name)}: needs synthesised maps, not {{maps}}")
        if not self.synth_generators or any(g not in SYNTH_GENERATORS for g in self.synth_generators):
            raise InputError(f"{{synth_generators}} {','.join(self.synth_generators)}: expected some of "
                             f"{', '.join(SYNTH_GENERATORS)}")
        if not self.lr > 0:
            raise InputError(f"{{lr}} {self.lr}: must be positive")
        if not 0 <= self.seed < 2**32:
            raise InputError(f"{{seed}} {self.seed}: must be in [0, 2**32)")
        if self.optimizer not in OPTIMIZERS:
            raise InputError(f"{{optimizer}} {self.optimizer}: expected one of {', '.join(OPTIMIZERS)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise InputError(f"{{lr_schedule}} {self.lr_schedule}: expected one of {', '.join(LR_SCHEDULES)}")
        if any(e not in EXTRAS for e in self.synth_extras):
            raise InputError(f"{{synth_extras}} {','.join(self.synth_extras)}: expected some of {', '.join(EXTRAS)}")
        if not 0 <= self.merge_threshold <= 1:
            raise InputError(f"{{merge_threshold}} {self.merge_threshold}: must be in [0, 1]")
        if self.attach_threshold is not None and not 0 <= self.attach_threshold <= 1:
            raise InputError(f"{{attach_threshold}} {self.attach_threshold}: must be in [0, 1]")
        if self.person_floor is not None and not 0 <= self.person_floor < float("inf"):
            raise InputError(f"{{person_floor}} {self.person_floor}: must be >= 0")
        if self.floor_reference not in FLOOR_REFERENCES:
            raise InputError(f"{{floor_reference}} {self.floor_reference}: expected one of {', '.join(FLOOR_REFERENCES)}")
        if not 0 <= self.val_fraction < 1:
            raise InputError(f"{{val_fraction}} {self.val_fraction}: must be in [0, 1)")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GroupingConfig":
        d = {**LEGACY, **d}
        d["model"] = GroupingModelConfig(**d["model"])
        d["graph"] = GraphConfig(**d["graph"])
        d["synth_generators"] = tuple(d["synth_generators"])
        d["synth_extras"] = tuple(d["synth_extras"])
        d["synth"] = SynthConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d["synth"].items()})
        return cls(**d)


# Settings added since the first checkpoints, as a run without them behaved: no fragment
# attached, pairs merged from probability 0.5, no floor, no artifacts in the synthesised training
# maps, the project's generator only, one draw of each validation image.
LEGACY = {"attach_threshold": None, "merge_threshold": 0.5, "person_floor": 0.0, "synth_artifacts": False,
          "synth_generators": ("project",), "synth_extras": (), "val_copies": 1, "floor_reference": "none"}


# Named starting points of `train.py grouping --preset`: the fields each sets (flags given on the
# command line still override them).
PRESETS = {
    "default": {},
    "reference": {"model": GroupingModelConfig(name="edgeconv", pair_attr=False), "synth_copies": 1,
                  "graph": GraphConfig(pairs="skeleton2", type_nearest=3),
                  "synth_randomize": False, "synth_artifacts": False, "synth_extras": (), "val_copies": 1,
                  "attach_threshold": None, "merge_threshold": 0.5, "person_floor": 0.0, "floor_reference": "none"},
}
