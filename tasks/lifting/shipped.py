"""The lifters shipped in `checkpoints/` (trained on real Human3.6M, research use only: see
each one's card, `checkpoints/<name>.md`), and how a command line names them.

`--checkpoint h36m-gt` / `--checkpoint h36m-sh` (or `--lifting` for the pipeline) picks a
shipped file; anything else is a path. When none is given, `predict.py` picks by the input
(`default_lifter`): keypoints of photos (COCO / CrowdPose order: results files, arrays, the
pipeline's groups) get `DEFAULT_FOR_PHOTOS`, `--format h36m16` / `h36m17` arrays (Human3.6M's
cameras) `DEFAULT_FOR_H36M`; both are trained on detected keypoints.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from core.cards import facts_block, read_facts, sha256_of, trained_parameters, write_card
from core.errors import InputError

FOLDER = Path(__file__).resolve().parents[2] / "checkpoints"
SHIPPED = {"h36m-gt": "ground-truth 2D of Human3.6M (clean keypoints)",
           "h36m-sh": "Stacked Hourglass detections of Human3.6M (MPII-trained, noisy keypoints)"}
DEFAULT_FOR_H36M = "h36m-sh"  # --format h36m16 / h36m17 arrays: Human3.6M's own cameras
DEFAULT_FOR_PHOTOS = "h36m-sh"  # COCO-format keypoints: the photo lifter once it is shipped (issue 33)
H36M_FORMATS = ("h36m16", "h36m17")


def default_lifter(fmt: Optional[str]) -> str:
    """The shipped lifter `predict.py` uses for keypoints of format `fmt` (`datasets.keypoints_2d.FORMATS`)."""
    return DEFAULT_FOR_H36M if fmt in H36M_FORMATS else DEFAULT_FOR_PHOTOS


def default_help() -> str:
    """The default, as a command line's help says it."""
    if DEFAULT_FOR_PHOTOS == DEFAULT_FOR_H36M:
        return f"None: {DEFAULT_FOR_H36M}, trained on detections"
    return f"None: {DEFAULT_FOR_PHOTOS} for photos (COCO order), {DEFAULT_FOR_H36M} for --format h36m16/h36m17"


def shipped_path(name: str) -> Path:
    return FOLDER / f"{name}.pt"


def resolve_lifter(value: Optional[str], flag: str = "--checkpoint", default: str = DEFAULT_FOR_H36M) -> str:
    """A checkpoint given on a command line -> a path: a shipped name (`SHIPPED`) -> its file in
    `checkpoints/`; None -> `default` (a shipped name); anything else as it is."""
    from tasks.grouping.shipped import SHIPPED as GROUPING_SHIPPED
    name = default if value is None else value
    if name in GROUPING_SHIPPED:
        raise InputError(f"{flag} {name}: is the shipped grouping classifier, expected a lifting checkpoint "
                         f"({' | '.join(SHIPPED)} or a path)")
    if name not in SHIPPED:
        return name
    path = shipped_path(name)
    if not path.exists():
        raise InputError(f"{flag} {name}: the shipped lifter {path} is missing from this copy of the "
                         f"repository (restore it with git, or give a checkpoint path)")
    return str(path)


def lifter_identity(given: Optional[str], path: str, ckpt: dict, input_norm: str,
                    default: str = DEFAULT_FOR_H36M) -> dict:
    """What an output says about the lifter that made it: the shipped name (`default` when none
    was given) or the path as given, the file's SHA-256, the model, its input normalisation and joints."""
    from datasets.skeleton import SKELETONS
    name = default if given is None else given
    model = ckpt.get("config", {}).get("model", {}).get("name") or ckpt["model"]["class"]
    return {"name": name if name in SHIPPED else str(path), "sha256": sha256_of(path), "model": model,
            "input_norm": input_norm, "joints": SKELETONS[ckpt["skeleton"]].num_joints}


def describe_lifter(identity: dict) -> str:
    """The console's first line."""
    return (f"lifter: {identity['name']} ({identity['model']}, {identity['input_norm']} input normalisation, "
            f"{identity['joints']} joints, sha256 {identity['sha256'][:12]})")


# ---------------------------------------------------------------------------------------------
# Making a shipped lifter from a run (maintainers): `python -m tasks.lifting.shipped --help`

def card_facts(ckpt: dict, file_sha256: str, validation: dict) -> dict:
    """What a card states about its checkpoint: settings from the file, and the numbers of the
    validation run (same settings, trained without the validation subjects)."""
    cfg = ckpt["config"]
    return {"file_sha256": file_sha256, "model": cfg["model"]["name"], "model_spec": ckpt["model"],
            "parameters": trained_parameters(ckpt["state_dict"]), "keypoints": cfg["keypoints"],
            "joints": cfg["joints"], "train_subjects": cfg["train_subjects"], "epochs": ckpt["epoch"],
            "config": cfg, "validation": validation}


def reproduce_flags(cfg: dict, epochs: int) -> str:
    """The `train.py lifting` flags of a run's config (every setting that shapes the weights)."""
    m = cfg["model"]
    flags = [f"--model {m['name']}"]
    flags += [f"--{k} {m[k]}" for k in ("hidden", "blocks", "dropout") if m.get(k) is not None]
    flags += [f"--keypoints {cfg['keypoints']}", f"--joints {cfg['joints']}", f"--epochs {epochs}",
              f"--batch-size {cfg['batch_size']}", f"--lr {cfg['lr']:g}",
              f"--lr-schedule {cfg.get('lr_schedule', 'step')}"]
    if cfg.get("lr_schedule", "step") == "step":
        flags += [f"--lr-decay {cfg['lr_decay']:g}", f"--lr-decay-steps {cfg['lr_decay_steps']}"]
    if cfg.get("l1_weight") is not None:
        flags.append(f"--l1-weight {cfg['l1_weight']:g}")
    flags += [f"--input-norm {cfg['input_norm']}", f"--augment {cfg['augment']}",
              f"--precision {cfg.get('precision', 'fp32')}", f"--seed {cfg['seed']}"]
    if cfg.get("downsample", 1) != 1:
        flags.append(f"--downsample {cfg['downsample']}")
    return " ".join(flags)


def card_text(name: str, facts: dict) -> str:
    cfg, v = facts["config"], facts["validation"]
    lines = [f"# Shipped lifter `{name}`", "",
             f"A `{facts['model']}` lifter ({facts['parameters']:,} parameters) for {SHIPPED[name]}.", "",
             "## Data", "",
             f"Human3.6M (Ionescu et al., TPAMI 2014), subjects {', '.join(facts['train_subjects'])}, every "
             f"{4 * cfg['downsample']}th frame of the 50 Hz videos, 4 cameras; 2D input `{facts['keypoints']}`, "
             f"{facts['joints']} joints. The test subjects S9 and S11 were never seen.",
             "**Licence: the weights derive from Human3.6M, whose licence allows research use only.**", "",
             "## Settings", "",
             "To reproduce the file (the Human3.6M files in DIR, the standard layout):", "",
             f"`python train.py lifting --data DIR {reproduce_flags(cfg, facts['epochs'])} "
             f"--train-subjects {','.join(facts['train_subjects'])} --val-subjects none --out runs/{name}`", "",
             "The epoch count was fixed in advance (no choice of epoch); the file is the run's last.pt "
             f"(`python -m tasks.lifting.shipped --from runs/{name}/last.pt --name {name} ...` writes it and this card). "
             "Same-seed CPU runs repeat exactly; other machines and GPUs differ in the last digits.", "",
             "## Validation (the same settings trained on S1, S5, S6, S7, scored on S8)", "",
             f"MPJPE {v['MPJPE']:.1f} mm, P-MPJPE {v['P-MPJPE']:.1f} mm"
             + (f"; with test-time flipping {v['MPJPE_flip']:.1f} / {v['P-MPJPE_flip']:.1f} mm"
                if v.get("MPJPE_flip") is not None else "") + f" ({v['poses']:,} poses of S8, {v['note']}).",
             "", "## File", ""]
    return "\n".join(lines) + "\n" + facts_block(facts)


def read_card(name: str) -> dict:
    """The machine-readable facts of `checkpoints/<name>.md`."""
    return read_facts(FOLDER / f"{name}.md")


def validation_of(validation_eval: str, note: str) -> dict:
    """The card's validation numbers from the validation run's `eval.json` (evaluate.py lifting
    --subjects S8 [--flip-test]) and a phrase on how they were made."""
    import json
    ev = json.loads(Path(validation_eval).read_text())
    flip = ev.get("flip_test") or {}
    return {"MPJPE": round(ev["MPJPE"], 2), "P-MPJPE": round(ev["P-MPJPE"], 2),
            "MPJPE_flip": round(flip["MPJPE"], 2) if flip else None,
            "P-MPJPE_flip": round(flip["P-MPJPE"], 2) if flip else None,
            "subjects": ev.get("subjects"), "poses": ev["num_poses"], "note": note}


def ship(run_checkpoint: str, name: str, validation: dict) -> Path:
    """A run's checkpoint -> `checkpoints/<name>.pt` (weights and what rebuilds the model; no
    optimizer, schedule or random state) and its card `checkpoints/<name>.md` (`validation`:
    `validation_of`)."""
    from core.checkpoint import load_checkpoint, save_checkpoint
    ckpt = load_checkpoint(run_checkpoint, "lifting")
    keep = ("task", "model", "skeleton", "normalization", "config", "epoch")
    small = {k: ckpt[k] for k in keep}
    # The trainer's folders mean nothing on a user's machine (and name the machine): no data folder
    # (commands use --data; the card says what the weights were trained on), the run folder as the
    # card's command names it, no --init path (the card says what the run started from).
    small["config"] = {**ckpt["config"], "data": None, "out": f"runs/{name}", "init": None}
    small["state_dict"] = {k: v.clone() for k, v in ckpt["state_dict"].items()}
    small["shipped"] = name
    path = save_checkpoint(shipped_path(name), small)
    facts = card_facts(load_checkpoint(path, "lifting"), sha256_of(path), validation)
    write_card(FOLDER / f"{name}.md", card_text(name, facts))
    return path


if __name__ == "__main__":
    import argparse
    p = argparse.ArgumentParser(description="write checkpoints/NAME.pt and its card from a training run")
    p.add_argument("--from", dest="source", required=True, help="the final run's last.pt")
    p.add_argument("--name", required=True, choices=list(SHIPPED))
    p.add_argument("--validation", required=True, help="eval.json of the validation run (evaluate.py --subjects S8)")
    p.add_argument("--note", required=True, help="how the validation number was made, one phrase")
    a = p.parse_args()
    print(f"wrote {ship(a.source, a.name, validation_of(a.validation, a.note))}")
