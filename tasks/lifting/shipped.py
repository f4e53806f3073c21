"""The lifters shipped in `checkpoints/` (trained on real Human3.6M, research use only: see
each one's card, `checkpoints/<name>.md`), and how a command line names them.

`--checkpoint h36m-gt` / `--checkpoint h36m-sh` (or `--lifting` for the pipeline) picks a
shipped file; anything else is a path. `predict.py` uses `DEFAULT_FOR_DETECTIONS` when no
checkpoint is given: its inputs are detected keypoints.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from core.errors import InputError

FOLDER = Path(__file__).resolve().parents[2] / "checkpoints"
SHIPPED = {"h36m-gt": "ground-truth 2D of Human3.6M (clean keypoints)",
           "h36m-sh": "Stacked Hourglass detections of Human3.6M (MPII-trained, noisy keypoints)"}
DEFAULT_FOR_DETECTIONS = "h36m-sh"


def shipped_path(name: str) -> Path:
    return FOLDER / f"{name}.pt"


def resolve_lifter(value: Optional[str], flag: str = "--checkpoint") -> str:
    """A checkpoint given on a command line -> a path: a shipped name (`SHIPPED`) -> its file in
    `checkpoints/`; None -> the default for detected keypoints; anything else as it is."""
    name = DEFAULT_FOR_DETECTIONS if value is None else value
    if name not in SHIPPED:
        return name
    path = shipped_path(name)
    if not path.exists():
        raise InputError(f"{flag} {name}: the shipped lifter {path} is missing from this copy of the "
                         f"repository (restore it with git, or give a checkpoint path)")
    return str(path)


# ---------------------------------------------------------------------------------------------
# Making a shipped lifter from a run (maintainers): `python -m tasks.lifting.shipped --help`

CARD_BLOCK = "```json card\n"  # the card's machine-readable part (tests compare it with the file)


def card_facts(ckpt: dict, file_sha256: str, validation: dict) -> dict:
    """What a card states about its checkpoint: settings from the file, and the numbers of the
    validation run (same settings, trained without the validation subjects)."""
    cfg = ckpt["config"]
    return {"file_sha256": file_sha256, "model": cfg["model"]["name"], "model_spec": ckpt["model"],
            "parameters": sum(int(t.numel()) for k, t in ckpt["state_dict"].items()
                              if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))),
            "keypoints": cfg["keypoints"], "joints": cfg["joints"], "train_subjects": cfg["train_subjects"],
            "epochs": ckpt["epoch"], "config": cfg, "validation": validation}


def card_text(name: str, facts: dict) -> str:
    import json
    cfg, v = facts["config"], facts["validation"]
    lines = [f"# Shipped lifter `{name}`", "",
             f"A `{facts['model']}` lifter ({facts['parameters']:,} parameters) for {SHIPPED[name]}.", "",
             "## Data", "",
             f"Human3.6M (Ionescu et al., TPAMI 2014), subjects {', '.join(facts['train_subjects'])}, every "
             f"{4 * cfg['downsample']}th frame of the 50 Hz videos, 4 cameras; 2D input `{facts['keypoints']}`, "
             f"{facts['joints']} joints. The test subjects S9 and S11 were never seen.",
             "**Licence: the weights derive from Human3.6M, whose licence allows research use only.**", "",
             "## Settings", "",
             f"`train.py lifting --model {facts['model']} --keypoints {cfg['keypoints']} --epochs {facts['epochs']} "
             f"--batch-size {cfg['batch_size']} --lr {cfg['lr']:g} --lr-decay {cfg['lr_decay']:g} "
             f"--lr-decay-steps {cfg['lr_decay_steps']} --input-norm {cfg['input_norm']} --augment {cfg['augment']}"
             + (f" --l1-weight {cfg['l1_weight']:g}" if cfg["l1_weight"] is not None else "") +
             f" --train-subjects {','.join(facts['train_subjects'])} --val-subjects none`; "
             f"the epoch count was fixed in advance (no choice of epoch).", "",
             "## Validation (the same settings trained on S1, S5, S6, S7, scored on S8)", "",
             f"MPJPE {v['MPJPE']:.1f} mm, P-MPJPE {v['P-MPJPE']:.1f} mm"
             + (f"; with test-time flipping {v['MPJPE_flip']:.1f} / {v['P-MPJPE_flip']:.1f} mm"
                if v.get("MPJPE_flip") is not None else "") + f" ({v['poses']:,} poses of S8, {v['note']}).",
             "", "## File", "", CARD_BLOCK.rstrip("\n"), json.dumps(facts, indent=1, sort_keys=True), "```", ""]
    return "\n".join(lines)


def read_card(name: str) -> dict:
    """The machine-readable facts of `checkpoints/<name>.md`."""
    import json
    text = (FOLDER / f"{name}.md").read_text()
    return json.loads(text.split(CARD_BLOCK, 1)[1].split("\n```", 1)[0])


def ship(run_checkpoint: str, name: str, validation_eval: str, note: str) -> Path:
    """A run's checkpoint -> `checkpoints/<name>.pt` (weights and what rebuilds the model; no
    optimizer, schedule or random state) and its card `checkpoints/<name>.md`."""
    import hashlib
    import json

    from core.atomic_io import atomic_write
    from core.checkpoint import load_checkpoint, save_checkpoint
    ckpt = load_checkpoint(run_checkpoint, "lifting")
    keep = ("task", "model", "skeleton", "normalization", "config", "epoch")
    small = {k: ckpt[k] for k in keep}
    # The trainer's data folder means nothing on a user's machine: commands use --data (default:
    # the built-in data); the card says what the weights were trained on.
    small["config"] = {**ckpt["config"], "data": None}
    small["state_dict"] = {k: v.clone() for k, v in ckpt["state_dict"].items()}
    small["shipped"] = name
    path = save_checkpoint(shipped_path(name), small)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    ev = json.loads(Path(validation_eval).read_text())
    flip = ev.get("flip_test") or {}
    validation = {"MPJPE": round(ev["MPJPE"], 2), "P-MPJPE": round(ev["P-MPJPE"], 2),
                  "MPJPE_flip": round(flip["MPJPE"], 2) if flip else None,
                  "P-MPJPE_flip": round(flip["P-MPJPE"], 2) if flip else None,
                  "subjects": ev.get("subjects"), "poses": ev["num_poses"], "note": note}
    text = card_text(name, card_facts(load_checkpoint(path, "lifting"), digest, validation))
    atomic_write(FOLDER / f"{name}.md", lambda f: f.write(text), mode="w")
    return path


if __name__ == "__main__":
    import argparse
    p = argparse.ArgumentParser(description="write checkpoints/NAME.pt and its card from a training run")
    p.add_argument("--from", dest="source", required=True, help="the final run's last.pt")
    p.add_argument("--name", required=True, choices=list(SHIPPED))
    p.add_argument("--validation", required=True, help="eval.json of the validation run (evaluate.py --subjects S8)")
    p.add_argument("--note", required=True, help="how the validation number was made, one phrase")
    a = p.parse_args()
    print(f"wrote {ship(a.source, a.name, a.validation, a.note)}")
