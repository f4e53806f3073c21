"""A TorchScript-traced inference copy of a module: the same operations recorded once, run
without Python's per-layer overhead (module calls, PyG's `propagate` bookkeeping, MLP loops).
For small graphs on a CPU that overhead is about half of a forward pass.

The trace records the operations of one example call. It is valid for other inputs when the
module's control flow does not depend on the values or sizes of its inputs (true of
`EdgeClassifier`: sizes are read from the tensors at run time; tested on graphs of other sizes).
Arguments that are `None` in the example stay `None`: they are left out of the traced call.
"""
from __future__ import annotations

import copy
import warnings
from typing import Optional

import torch
from torch import Tensor, nn


class Traced(nn.Module):
    """`module` (in eval mode, parameters fixed) traced on `example` (its positional arguments).
    Call it with the same arguments; those that were `None` in the example must be `None`.
    The parameters are recorded as constants on their device: trace after `.to(device)`."""

    def __init__(self, module: nn.Module, example: tuple[Optional[Tensor], ...]):
        super().__init__()
        module = copy.deepcopy(module).requires_grad_(False)  # parameters become constants of the trace
        self.present = tuple(a is not None for a in example)
        present = self.present

        def call(*tensors):
            it = iter(tensors)
            return module(*[next(it) if p else None for p in present])

        with torch.no_grad(), warnings.catch_warnings():
            # PyG's size checks turn sizes into Python values (TracerWarning); they only validate.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            expect = module(*example)
            self.script = torch.jit.trace(call, tuple(a for a in example if a is not None), check_trace=False)
            got = self.script(*[a for a in example if a is not None])
        if not torch.allclose(got, expect, rtol=1e-4, atol=1e-5):
            raise RuntimeError("traced module disagrees with the module on its own example")
        self.train(False)

    def forward(self, *args: Optional[Tensor]) -> Tensor:
        if tuple(a is not None for a in args) != self.present:
            raise ValueError("call a traced module with the arguments it was traced with (None where None)")
        return self.script(*[a for a in args if a is not None])
