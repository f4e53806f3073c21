"""The cards of shipped checkpoints (`checkpoints/<name>.md`): prose for people, then one fenced
JSON block of the file's facts, which the tests compare with the file itself."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

CARD_BLOCK = "```json card\n"  # opens the machine-readable part


def facts_block(facts: dict) -> str:
    """The card's machine-readable part, fenced."""
    return CARD_BLOCK + json.dumps(facts, indent=1, sort_keys=True) + "\n```\n"


def read_facts(card: Path) -> dict:
    """The facts of a card file."""
    return json.loads(Path(card).read_text().split(CARD_BLOCK, 1)[1].split("\n```", 1)[0])


def sha256_of(path) -> str:
    """SHA-256 of a file's bytes (what cards and outputs name a shipped file by)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def trained_parameters(state_dict: dict) -> int:
    """Parameters of a state dict, BatchNorm's running statistics left out."""
    return sum(int(t.numel()) for k, t in state_dict.items()
               if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))


def write_card(path: Path, text: str) -> None:
    from core.atomic_io import atomic_write
    atomic_write(Path(path), lambda f: f.write(text), mode="w")
