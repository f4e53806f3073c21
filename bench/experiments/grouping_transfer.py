"""The transfer table: one grouping checkpoint scored with the GNN, AE and oracle decoders on
the same images with the maps of several generators (folders of `<image_id>.npz`, written by
`bench/write_maps.py`), as `evaluate.py grouping --maps DIR --decoder D` scores them. Per
generator and decoder: AP, AR, persons written (and how many are fragments), persons per image,
decode images/s (graphs -> persons); per generator the share of the AE-to-oracle gap the GNN
closes, (GNN - AE) / (oracle - AE).
Usage: python bench/experiments/grouping_transfer.py --checkpoint CKPT --annotations GT.json
           --maps project=DIR [--maps second=DIR ...] [--split all] [--person-floor F] [--json PATH]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.atomic_io import write_json  # noqa: E402
from core.checkpoint import load_checkpoint  # noqa: E402
from core.cli import HelpFormatter, run_cli  # noqa: E402
from core.device import resolve_device  # noqa: E402
from core.errors import InputError  # noqa: E402
from tasks.grouping import evaluation  # noqa: E402
from tasks.grouping.config import SPLITS, GroupingConfig  # noqa: E402
from tasks.grouping.probabilities import checkpoint_scorer  # noqa: E402
from tasks.grouping.results import count_persons  # noqa: E402


def gap_closed(gnn: float, ae: float, oracle: float) -> float:
    return (gnn - ae) / (oracle - ae) if oracle != ae else float("nan")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--checkpoint", required=True, help="a grouping checkpoint")
    p.add_argument("--annotations", required=True, help="COCO-format ground truth of the scored images")
    p.add_argument("--maps", action="append", required=True, metavar="NAME=DIR", help="a generator's map folder")
    p.add_argument("--split", default="all", choices=list(SPLITS), help="images of --annotations to score")
    p.add_argument("--json", default=None, help="also write the table here")
    p.add_argument("--person-floor", type=float, default=None, help="instead of the checkpoint's person floor")
    a = p.parse_args(argv)
    ckpt = load_checkpoint(a.checkpoint, "grouping")
    saved = GroupingConfig.from_dict(ckpt["config"])
    scorer = checkpoint_scorer(ckpt, a.checkpoint, resolve_device("cpu"), "off")
    table = {}
    for item in a.maps:
        name, sep, folder = item.partition("=")
        if not sep:
            raise InputError(f"--maps {item}: expected NAME=DIR")
        cfg = evaluation.eval_config(saved, maps=folder, device="cpu")
        if a.person_floor is not None:
            cfg = dataclasses.replace(cfg, person_floor=a.person_floor)
        rows = {}
        for decoder in ("gnn", "ae", "oracle"):
            ev = evaluation.evaluate_grouping(cfg, a.annotations, 0, a.split, decoder, scorer, ckpt, a.checkpoint)
            persons, fragments = count_persons(ev.results)
            m = ev.metrics
            rows[decoder] = {"AP": m["AP"], "AR": m["AR"], "written": len(ev.results), "persons": persons,
                             "fragments": fragments, "per_image": len(ev.results) / m["images"],
                             "decode_images_per_s": m["decode_images_per_s"], "images": m["images"]}
        rows["gap_closed"] = gap_closed(rows["gnn"]["AP"], rows["ae"]["AP"], rows["oracle"]["AP"])
        table[name] = rows
        print(f"{name}: {rows['gnn']['images']} images, gap closed {100 * rows['gap_closed']:.0f}%")
        for d in ("gnn", "ae", "oracle"):
            r = rows[d]
            print(f"  {d:6s} AP {r['AP']:.3f}  AR {r['AR']:.3f}  written {r['written']:5d} ({r['per_image']:5.1f}/image,"
                  f" {r['fragments']} fragments)  {r['decode_images_per_s']:7.1f} images/s", flush=True)
    if a.json:
        write_json(a.json, table)


if __name__ == "__main__":
    sys.exit(run_cli(main))
