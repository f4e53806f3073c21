"""The project's own errors: bad input (one line that names the file or the config field and
the problem) and a training run stopped by a non-finite loss."""
from __future__ import annotations

import re
from typing import Callable

# A config field inside a message: `{batch_size}`, `{model.hidden}`, `{synth.tag_noise}`.
FIELD = re.compile(r"\{([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)\}")


class InputError(ValueError):
    """Bad input from a user: a file, a field or a command-line value.

    The message is one line, starting with the file or the config field it is about. Config
    fields are written in braces (`"{batch_size} -3: must be >= 1"`): `str()` shows them as the
    field names (`batch_size -3: ...`), a CLI as its flags (`--batch-size -3: ...`, see
    `core.cli.ArgumentParser.flag_names`). The CLIs print it and exit with status 2, without a
    traceback.
    """

    def render(self, name: Callable[[str], str] = lambda field: field) -> str:
        """The first line of the message, each `{field}` replaced by `name(field)`."""
        text = super().__str__().strip()
        first = text.splitlines()[0] if text else type(self).__name__
        return FIELD.sub(lambda m: name(m.group(1)), first)

    def __str__(self) -> str:
        return self.render()


class NonFiniteLoss(RuntimeError):
    """Training produced a NaN or infinite loss; the run stops, the last good checkpoint stays."""
