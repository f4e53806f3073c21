"""The grouping classifier shipped in `checkpoints/` (see its card, `checkpoints/<name>.md`), and
how a command line names it.

`predict.py grouping` and `pipeline` use `DEFAULT` when no grouping checkpoint is given (with the
`gnn` decoder); `--checkpoint coco-ae` (or `--grouping coco-ae`) names it anywhere a grouping
checkpoint is taken; anything else is a path.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from core.cards import facts_block, read_facts, sha256_of, trained_parameters, write_card
from core.errors import InputError

FOLDER = Path(__file__).resolve().parents[2] / "checkpoints"
SHIPPED = {"coco-ae": "COCO-17 associative-embedding maps (heatmaps and 1-D tag maps of a bottom-up model)"}
DEFAULT = "coco-ae"


def shipped_path(name: str) -> Path:
    return FOLDER / f"{name}.pt"


def resolve_grouping(value: Optional[str], flag: str = "--checkpoint", default: bool = False) -> Optional[str]:
    """A grouping checkpoint given on a command line -> a path: a shipped name -> its file; None ->
    the shipped default when `default`, else None; anything else as it is."""
    name = DEFAULT if value is None and default else value
    if name is None or name not in SHIPPED:
        return name
    path = shipped_path(name)
    if not path.exists():
        raise InputError(f"{flag} {name}: the shipped grouping model {path} is missing from this copy of the "
                         f"repository (restore it with git, or give a checkpoint path)")
    return str(path)


# ---------------------------------------------------------------------------------------------
# Making the shipped classifier from a run (maintainers): `python -m tasks.grouping.shipped --help`

def card_facts(ckpt: dict, file_sha256: str) -> dict:
    cfg = ckpt["config"]
    return {"file_sha256": file_sha256, "model": cfg["model"]["name"], "model_spec": ckpt["model"],
            "parameters": trained_parameters(ckpt["state_dict"]),
            "dataset": cfg["dataset"], "tag_dim": ckpt["tag_dim"], "epochs": ckpt["epoch"], "config": cfg,
            "person_floor_choice": ckpt.get("person_floor_choice")}


def read_card(name: str) -> dict:
    """The machine-readable facts of `checkpoints/<name>.md`."""
    return read_facts(FOLDER / f"{name}.md")


def ship(run_checkpoint: str, name: str, prose: str) -> Path:
    """A run's best.pt -> `checkpoints/<name>.pt` (weights and what rebuilds and decodes with the
    classifier; no optimizer or random state, no path of the training machine) and its card
    (`prose`, the human part, then the facts of the file)."""
    from core.checkpoint import load_checkpoint, save_checkpoint
    ckpt = load_checkpoint(run_checkpoint, "grouping")
    keep = ("task", "model", "skeleton", "normalization", "config", "epoch", "pos_weight", "tag_dim",
            "person_floor_choice", "data_fingerprint")
    small = {k: ckpt[k] for k in keep if k in ckpt}
    cfg = dict(ckpt["config"])
    if cfg.get("annotations"):
        cfg["annotations"] = Path(cfg["annotations"]).name  # the file's name, not where it lay
    cfg.update({"out": f"runs/{name}", "init": None, "maps": None if cfg.get("maps") is None else Path(cfg["maps"]).name,
                "graph_cache": "auto"})
    small["config"] = cfg
    small["annotations"] = Path(ckpt["annotations"]).name if ckpt.get("annotations") else None
    small["state_dict"] = {k: v.clone() for k, v in ckpt["state_dict"].items()}
    small["shipped"] = name
    path = save_checkpoint(shipped_path(name), small)
    facts = card_facts(load_checkpoint(path, "grouping"), sha256_of(path))
    write_card(FOLDER / f"{name}.md", prose.rstrip() + "\n\n## File\n\n" + facts_block(facts))
    return path


if __name__ == "__main__":
    import argparse
    p = argparse.ArgumentParser(description="write checkpoints/NAME.pt and its card from a grouping run")
    p.add_argument("--from", dest="source", required=True, help="the run's best.pt")
    p.add_argument("--name", required=True, choices=list(SHIPPED))
    p.add_argument("--prose", required=True, help="a Markdown file: the card's text before its facts")
    a = p.parse_args()
    print(f"wrote {ship(a.source, a.name, Path(a.prose).read_text())}")
