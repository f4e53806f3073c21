"""What the thin CLIs share: one-line argument errors, exit code 2 for bad input, devices."""
from __future__ import annotations

import argparse
import dataclasses
import sys
import traceback
import warnings

import torch

from datasets.ae_maps import SynthConfig
from datasets.errors import InputError
from tasks.run_io import NonFiniteLoss

EXIT_BAD_INPUT = 2
EXIT_TRAINING_STOPPED = 3


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors are `InputError`s: one line (no usage dump), exit code 2."""

    def error(self, message):
        raise InputError(f"{self.prog}: {message}")


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    return f"warning: {message}\n"


def run_cli(main, argv=None) -> int:
    """Run `main(argv)`; bad input (`InputError`) -> one line on stderr, exit 2; a non-finite
    training loss -> one line, exit 3.
    `--debug` anywhere on the command line shows the traceback instead."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if debug:
        argv.remove("--debug")
    warnings.formatwarning = _one_line_warning
    try:
        main(argv)
    except InputError as e:
        if debug:
            traceback.print_exc()
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        sys.stderr.write(f"error: {first}\n")
        return EXIT_BAD_INPUT
    except NonFiniteLoss as e:
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"error: {e}\n")
        return EXIT_TRAINING_STOPPED
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    return 0


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available")
    return torch.device(name)


def parse_actions(text):
    if text is None:
        return None
    actions = tuple(a.strip() for a in text.split(",") if a.strip())
    if not actions:
        raise InputError(f"--actions {text!r}: no action names")
    return actions


def build_config(cls, **kwargs):
    """A task config from CLI values; its validation errors become `InputError`s."""
    try:
        return cls(**kwargs)
    except ValueError as e:
        raise InputError(str(e)) from None


def synth_config(knobs: list[str], base: SynthConfig | None = None, maps=None) -> SynthConfig:
    """`--synth KNOB=VALUE` texts -> `base` (default: the defaults) with those knobs set; each
    value parsed as its default's type (tuples: comma-separated). Knobs with `--maps` (read, not
    synthesised) are an error."""
    if knobs and maps is not None:
        raise InputError(f"--synth {knobs[0]}: the maps are read from --maps {maps}, not synthesised")
    defaults, values = {f.name: f.default for f in dataclasses.fields(SynthConfig)}, {}
    for text in knobs:
        name, sep, value = text.partition("=")
        name = name.strip()
        if not sep or name not in defaults:
            raise InputError(f"--synth {text!r}: expected KNOB=VALUE with KNOB one of {', '.join(defaults)}")
        default = defaults[name]
        parts = value.split(",") if isinstance(default, tuple) else [value]
        items = default if isinstance(default, tuple) else (default,)
        kind = "integer" if isinstance(items[0], int) else "number"
        try:
            if len(parts) != len(items):
                raise ValueError
            parsed = tuple(type(d)(v) for d, v in zip(items, parts))
        except ValueError:
            expected = f"{len(items)} {kind}s, comma-separated" if isinstance(default, tuple) else \
                f"{'an' if kind == 'integer' else 'a'} {kind}"
            raise InputError(f"--synth {text!r}: expected {expected}") from None
        values[name] = parsed if isinstance(default, tuple) else parsed[0]
    try:
        return dataclasses.replace(base or SynthConfig(), **values)
    except ValueError as e:
        raise InputError(str(e)) from None
