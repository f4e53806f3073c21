"""An ahead-of-time compiled inference copy of a module: `torch.export` with dynamic sizes, then
AOTInductor (`torch._inductor.aoti_compile_and_package`), the package cached on disk under a key of
the module's code, weights, argument layout, device and torch build. It replaces
`torch.jit.trace` (deprecated in torch 2.13). Compiling takes 10-20 s on a CPU and loading a
cached package milliseconds, so callers compile only when the work pays for it and otherwise
use a package that is already there (docs/speed.md).
"""
from __future__ import annotations

import errno
import hashlib
import os
import platform
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch
from torch import Tensor, nn


def package_key(module: nn.Module, example: Sequence[Optional[Tensor]], dynamic: Sequence[Optional[dict]]) -> str:
    """A hex digest of everything the compiled code depends on: torch build, machine, device,
    the module's structure and weights, and the layout of its arguments (which are `None`, their
    dtypes and fixed sizes)."""
    h = hashlib.sha256()
    h.update(f"{torch.__version__}|{platform.machine()}|{type(module).__qualname__}|{module!r}".encode())
    for a, dims in zip(example, dynamic):
        if a is None:
            h.update(b"none|")
            continue
        fixed = [s if not dims or i not in dims else -1 for i, s in enumerate(a.shape)]
        h.update(f"{a.dtype}|{a.device.type}|{fixed}|".encode())
    for name, t in module.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:24]


class _Present(nn.Module):
    """`module` called with only the arguments that are not `None` (export needs tensors)."""

    def __init__(self, module: nn.Module, present: tuple[bool, ...]):
        super().__init__()
        self.module, self.present = module, present

    def forward(self, *tensors: Tensor) -> Tensor:
        it = iter(tensors)
        return self.module(*[next(it) if p else None for p in self.present])


class AOTCompiled:
    """Call like `module` (positional arguments, `None` where the example had `None`)."""

    def __init__(self, runner: Callable, present: tuple[bool, ...], path: Path):
        self.runner, self.present, self.path = runner, present, path

    def __call__(self, *args: Optional[Tensor]) -> Tensor:
        if tuple(a is not None for a in args) != self.present:
            raise ValueError("call a compiled module with the arguments it was compiled for (None where None)")
        return self.runner(*[a for a in args if a is not None])


def aot_compiled(module: nn.Module, example: Sequence[Optional[Tensor]], dynamic: Sequence[Optional[dict]],
                 cache: Path, compile: bool) -> Optional[AOTCompiled]:
    """The compiled copy of `module` (eval mode) for arguments like `example`, whose dimensions
    `dynamic[i]` ({dim: name}) vary: loaded from `cache` when a package is there, else compiled and
    stored when `compile`, else `None`. Same-named dimensions are one size."""
    module = module.eval()
    present = tuple(a is not None for a in example)
    path = Path(cache) / f"{package_key(module, example, dynamic)}.pt2"
    tensors = [a for a in example if a is not None]
    dims = [d for a, d in zip(example, dynamic) if a is not None]
    for attempt in (1, 2):  # a damaged package is removed and made once more
        if not path.exists():
            if not compile:
                return None
            try:
                _compile(_Present(module, present), tensors, dims, path)
            except OSError as e:  # an unusable cache folder costs speed, never the run
                warnings.warn(f"{path.parent}: cannot keep the compiled classifier there ({e.strerror or e}); "
                              f"running it uncompiled")
                return None
        try:
            return AOTCompiled(torch._inductor.aoti_load_package(str(path)), present, path)
        except Exception as e:  # noqa: BLE001 (a truncated, empty or foreign package raises many types)
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:100]
            warnings.warn(f"{path}: damaged compiled package ({first}); "
                          + ("removed, compiling it again" if compile and attempt == 1 else "removed, running uncompiled"))
            try:
                path.unlink(missing_ok=True)
            except OSError:
                return None
            if not compile:
                return None
    return None


def _compile(module: nn.Module, example: list[Tensor], dynamic: list[Optional[dict]], path: Path) -> None:
    dims = {}

    def dim(name: str):
        return dims.setdefault(name, torch.export.Dim(name, min=1))

    shapes = (tuple({i: dim(n) for i, n in d.items()} if d else None for d in dynamic),)  # the *tensors argument
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch-internal deprecations during export
        program = torch.export.export(module, tuple(example), dynamic_shapes=shapes)
        path.parent.mkdir(parents=True, exist_ok=True)
        # The package is written by a C++ zip writer that aborts the whole process when its disk is
        # full; so it is written to a scratch folder with room, and only copied into the cache by
        # Python, whose write failures are ordinary OSErrors.
        _need_room(path.parent)
        scratch = tempfile.mkdtemp(prefix="posegraph-aot-")
        fd, tmp = tempfile.mkstemp(suffix=".pt2", dir=path.parent)
        os.close(fd)
        try:
            _need_room(scratch)
            built = os.path.join(scratch, "package.pt2")
            torch._inductor.aoti_compile_and_package(program, package_path=built)
            _copy(built, tmp)
            os.replace(tmp, path)  # whole packages only: another process may be loading
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
            shutil.rmtree(scratch, ignore_errors=True)


def _copy(src: str, dst: str) -> None:
    """Copy the built package into the cache (Python's write: a full disk is an OSError)."""
    shutil.copyfile(src, dst)


MIN_FREE_BYTES = 256 << 20  # a package is a few MB; its build needs some more


def _need_room(folder) -> None:
    """An OSError (ENOSPC) unless `folder`'s file system has MIN_FREE_BYTES free."""
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        raise OSError(errno.ENOSPC, f"{free >> 20} MB free, {MIN_FREE_BYTES >> 20} MB needed")

