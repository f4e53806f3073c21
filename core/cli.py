"""The frame of the thin CLIs: an argparse whose errors are one line and whose help shows every
default, config fields named by their flags, exit codes (2 bad input, 3 training stopped)."""
from __future__ import annotations

import argparse
import contextlib
import functools
import math
import re
import sys
import traceback
import warnings

from core.errors import InputError, NonFiniteLoss

EXIT_BAD_INPUT = 2
EXIT_TRAINING_STOPPED = 3


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every option's help ends with its default; descriptions keep their line breaks."""


def number(kind=float, lo=None, hi=None, above: bool = False, none: bool = False):
    """An argparse type: a number of `kind`, finite, >= `lo` (> `lo` with `above`) and <= `hi`
    where given; with `none`, also the word 'none' (-> None). Its range is kept in `.bounds`
    (tests walk every option of every CLI with it)."""
    def parse(text: str):
        if none and text.strip().lower() == "none":
            return None
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text}: not a{'n integer' if kind is int else ' number'}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text}: must be a finite number")
        if lo is not None and hi is not None and not above and not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text}: must be in [{lo}, {hi}]")
        if lo is not None and (value < lo or (above and value == lo)):
            raise argparse.ArgumentTypeError(f"{text}: must be {'>' if above else '>='} {lo}")
        if hi is not None and value > hi:
            raise argparse.ArgumentTypeError(f"{text}: must be <= {hi}")
        return value
    parse.__name__ = kind.__name__ + (" or none" if none else "")
    parse.bounds = (lo, hi, above)
    return parse


def inference_mode(fn):
    """`torch.inference_mode()` as a decorator that imports torch only when `fn` runs (a CLI's
    handlers are defined before torch is loaded, so that --help answers at once)."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        import torch
        with torch.inference_mode():
            return fn(*args, **kwargs)
    return run


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors are `InputError`s (one line, no usage dump, exit code 2), whose
    `--help` shows every default, and which names config fields by its flags (`flag_names`)."""

    def __init__(self, *args, renamed: dict[str, str] | None = None, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        # config field (`model.name`) or its last part (`eval_batch_size`) -> argument dest,
        # where they differ
        self.renamed = {"model.name": "model", **(renamed or {})}

    def error(self, message):
        # "argument --batch-size: 0: must be >= 1" -> "--batch-size 0: must be >= 1"
        m = re.fullmatch(r"argument (\S+?)(?:/\S+)?: (\S+): (.*)", message)
        if m and m.group(3).startswith(("must be", "not a")):
            message = f"{m.group(1)} {m.group(2)}: {m.group(3)}"
        raise InputError(f"{self.prog}: {message}")

    def add_argument(self, *args, **kwargs):
        """Plain `int` / `float` options become `number`s: floats must be finite."""
        if kwargs.get("type") in (int, float):
            kwargs["type"] = number(kwargs["type"])
        return super().add_argument(*args, **kwargs)

    def add_subparsers(self, **kwargs):
        kwargs.setdefault("parser_class", ArgumentParser)
        return super().add_subparsers(**kwargs)

    def _flags(self) -> dict[str, tuple[str, bool]]:
        """Argument dest -> (its long flag, whether it collects KNOB=VALUE items), over this
        parser and its subparsers."""
        flags = {}
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    flags.update(sub._flags())
            elif action.option_strings:
                longs = [o for o in action.option_strings if o.startswith("--")] or action.option_strings
                flags.setdefault(action.dest, (longs[0],
                                               isinstance(action, argparse._AppendAction)))
        return flags

    def subparser(self, name: str) -> "ArgumentParser":
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action.choices[name]
        raise KeyError(name)

    def given_dests(self, argv: list[str]) -> set[str]:
        """The argument dests that `argv` sets explicitly (not by their defaults)."""
        saved = [(action, action.default) for action in self._actions]
        try:
            for action, _ in saved:
                action.default = argparse.SUPPRESS
            return set(vars(self.parse_args(argv)))
        finally:
            for action, default in saved:
                action.default = default

    def dest_of(self, field: str) -> str | None:
        """The argument dest that sets a config field (`flag_for`'s rule), None if no flag does
        or the flag collects KNOB=VALUE items."""
        flags = self._flags()
        name = field.split(".")[-1]
        dest = self.renamed.get(field, self.renamed.get(name, name))
        return dest if dest in flags and not flags[dest][1] else None

    def flag_for(self, field: str) -> str:
        """A config field's name on this command line: `batch_size` -> `--batch-size`,
        `graph.edges` -> `--edges`, `model.name` -> `--model` (by `renamed`), `synth.tag_noise`
        -> `--synth tag_noise` (a repeatable KNOB=VALUE flag); the field itself when no flag
        sets it."""
        flags = self._flags()
        *prefix, name = field.split(".")
        dest = self.renamed.get(field, self.renamed.get(name, name))
        if dest in flags:
            return flags[dest][0]
        if prefix and prefix[-1] in flags and flags[prefix[-1]][1]:
            return f"{flags[prefix[-1]][0]} {name}"
        return field

    @contextlib.contextmanager
    def flag_names(self):
        """Inside: an `InputError` that names config fields is raised again naming flags."""
        try:
            yield
        except InputError as e:
            raise InputError(e.render(self.flag_for)) from e


def task_parser(prog: str, what: str, tasks: dict[str, str], **kwargs) -> tuple[ArgumentParser, dict]:
    """A CLI of one subcommand per task: `tasks` maps a task's name to its one-line help.
    -> (the parser, {task: its subparser}); `--help` and a bare call list the tasks."""
    listing = "\n".join(f"  {name:<9} {text}" for name, text in tasks.items())
    parser = ArgumentParser(prog=prog, description=f"{what} Tasks:\n{listing}\n"
                            f"`python {prog} TASK --help` lists its options.", **kwargs)
    sub = parser.add_subparsers(dest="task", metavar="TASK")
    return parser, {name: sub.add_parser(name, help=text) for name, text in tasks.items()}


def check_paths(a, kinds: dict, names=frozenset()) -> None:
    """The path arguments of a command checked before its handler loads torch (a wrong path is
    answered at once): `kinds` maps an argument's dest to `file`, `dir`, `maps` (a folder of map
    files) or `checkpoint` (a file; a name in `names`, e.g. a shipped model's, passes)."""
    from pathlib import Path
    for dest, kind in kinds.items():
        value = getattr(a, dest, None)
        if value is None or value in names:
            continue
        path, flag = Path(value), "--" + dest.replace("_", "-")
        if kind == "checkpoint" and not path.exists():
            raise InputError(f"{value}: checkpoint not found ({flag})")
        if kind == "file" and not path.is_file():
            raise InputError(f"{value}: {'a folder, expected a file' if path.is_dir() else 'file not found'} ({flag})")
        if kind == "dir" and not path.is_dir():
            raise InputError(f"{value}: {'a file, expected a folder' if path.exists() else 'folder not found'} ({flag})")
        if kind == "maps" and not path.is_dir():
            raise InputError(f"{value}: not a folder of <image_id>.npz map files ({flag})")


def run_task(parser: ArgumentParser, argv, handlers: dict, paths: dict | None = None,
             names=frozenset()) -> int | None:
    """Parse `argv` and call the chosen task's handler with the arguments, config fields in its
    errors shown as flags; `paths` ({task: {dest: kind}}, `check_paths`) checked first. No
    arguments at all: the help, listing the tasks (exit code 2)."""
    if not argv:
        parser.print_help()
        return EXIT_BAD_INPUT
    a = parser.parse_args(argv)
    if a.task is None:
        parser.error("a task is required: " + " | ".join(handlers))
    a._parser = parser.subparser(a.task)
    a._given = a._parser.given_dests(argv[argv.index(a.task) + 1:])
    check_paths(a, (paths or {}).get(a.task, {}), names)
    with parser.flag_names(), contextlib.ExitStack() as stack:
        a._exit_stack = stack  # what a handler holds until it returns (e.g. its output folder's lock)
        handlers[a.task](a)
    return None


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    return f"warning: {message}\n"


def run_cli(main, argv=None) -> int:
    """Run `main(argv)` -> its exit code (None: 0); bad input (`InputError`) -> one line on stderr, exit 2; a non-finite
    training loss -> one line, exit 3.
    `--debug` anywhere on the command line shows the traceback instead."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if debug:
        argv.remove("--debug")
    warnings.formatwarning = _one_line_warning
    try:
        return main(argv) or 0
    except InputError as e:
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"error: {e}\n")
        return EXIT_BAD_INPUT
    except NonFiniteLoss as e:
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"error: {e}\n")
        return EXIT_TRAINING_STOPPED
    except KeyboardInterrupt as e:
        if not getattr(e, "reported", False):  # train.py prints its own (what was saved, how to resume)
            sys.stderr.write(f"interrupted{': ' + str(e) if str(e) else ''}\n")
        return 130
