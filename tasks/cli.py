"""Task options as the command lines write them, parsed into config values: `--synth
KNOB=VALUE` texts, `--actions A,B`, numbers or 'none'. Errors name config fields (`{synth}`),
which the CLIs show as their flags."""
from __future__ import annotations

import argparse
import dataclasses

from core.cli import number
from core.errors import InputError
from datasets.synthetic.ae_maps import SynthConfig
from tasks.grouping.config import COMPILE_MODES, DECODE_BATCH, FLOOR_REFERENCES


def or_none(kind):
    """argparse type: a number of `kind`, or 'none'."""
    def parse(text: str):
        return None if text.lower() == "none" else kind(text)
    parse.__name__ = kind.__name__ + " or none"
    return parse


def field_defaults(cls) -> dict:
    """A config dataclass's field defaults (fields with a default factory left out)."""
    return {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}


def parse_actions(text):
    if text is None:
        return None
    actions = tuple(a.strip() for a in text.split(",") if a.strip())
    if not actions:
        raise InputError(f"{{actions}} {text!r}: no action names")
    return actions


def _boolean(text: str) -> bool:
    value = {"true": True, "1": True, "false": False, "0": False}.get(text.strip().lower())
    if value is None:
        raise ValueError(text)
    return value


def synth_config(knobs: list[str], base: SynthConfig | None = None, maps=None) -> SynthConfig:
    """`--synth KNOB=VALUE` texts -> `base` (default: the defaults) with those knobs set; each
    value parsed as its default's type (tuples: comma-separated). Knobs with `maps` (read, not
    synthesised) are an error."""
    if knobs and maps is not None:
        raise InputError(f"{{synth}} {knobs[0]}: the maps are read from {{maps}} {maps}, not synthesised")
    defaults, values = field_defaults(SynthConfig), {}
    for text in knobs:
        name, sep, value = text.partition("=")
        name = name.strip()
        if not sep or name not in defaults:
            raise InputError(f"{{synth}} {text!r}: expected KNOB=VALUE with KNOB one of {', '.join(defaults)}")
        default = defaults[name]
        parts = value.split(",") if isinstance(default, tuple) else [value]
        items = default if isinstance(default, tuple) else (default,)
        kind = "boolean" if isinstance(items[0], bool) else "integer" if isinstance(items[0], int) else "number"
        try:
            if len(parts) != len(items):
                raise ValueError
            parsed = tuple(_boolean(v) if isinstance(d, bool) else type(d)(v) for d, v in zip(items, parts))
        except ValueError:
            expected = f"{len(items)} {kind}s, comma-separated" if isinstance(default, tuple) else \
                "true or false" if kind == "boolean" else f"{'an' if kind == 'integer' else 'a'} {kind}"
            raise InputError(f"{{synth}} {text!r}: expected {expected}") from None
        values[name] = parsed if isinstance(default, tuple) else parsed[0]
    return dataclasses.replace(base or SynthConfig(), **values)


def add_decode_flags(p) -> None:
    """Decoding settings of the commands that group with a checkpoint: images per classifier
    call, and the checkpoint's merging, fragment attachment and person floor overridden."""
    p.add_argument("--batch", type=number(int, 1), default=DECODE_BATCH,
                   help="images whose graphs the classifier scores in one call (1: image by image)")
    p.add_argument("--merge-threshold", type=number(float, 0, 1), default=argparse.SUPPRESS,
                   help="gnn: pairs at least this probable join their groups, most probable first (default: the "
                        "checkpoint's)")
    p.add_argument("--attach-threshold", type=number(float, 0, 1, none=True), default=argparse.SUPPRESS,
                   help="gnn: a fragment joins a person through a pair this probable (none: never; default: the "
                        "checkpoint's)")
    p.add_argument("--person-floor", type=number(float, 0), default=argparse.SUPPRESS,
                   help="gnn: persons scored lower are not written (0: all; default: the checkpoint's, chosen after "
                        "training)")
    p.add_argument("--floor-reference", choices=list(FLOOR_REFERENCES), default=argparse.SUPPRESS,
                   help="gnn: the person floor is a share of the image's strongest candidate's score (image) or in "
                        "heatmap score units (none); default: the checkpoint's")


def decode_overrides(cfg, a):
    """`cfg` with the --merge-threshold / --attach-threshold / --person-floor / --floor-reference given
    on the command line."""
    given = {k: getattr(a, k) for k in ("merge_threshold", "attach_threshold", "person_floor", "floor_reference")
             if hasattr(a, k)}
    return dataclasses.replace(cfg, **given) if given else cfg


def add_compile_flag(p) -> None:
    """`--compile auto|on|off` of the commands that score candidate pairs (`PairScorer`)."""
    p.add_argument("--compile", default="auto", choices=list(COMPILE_MODES),
                   help="the classifier AOTInductor-compiled (about 2x faster per image; seconds to compile, once "
                        "per classifier, kept in the cache folder): on | off | auto (when already compiled, after "
                        "the first 5,000 images: loading it takes about 1.3 s)")
