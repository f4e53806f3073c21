"""Write AE map files (`<image_id>.npz`) for the images of a COCO-format annotation file, from the
project's synthesiser (what the classifier trains on), the second generator (another noise
model) the third (a test-only noise model: nothing is trained or tuned on it) or the fourth (the
transfer validation generator: randomisation settings are chosen on it), for `evaluate.py grouping --maps` and `predict.py grouping --maps`.
Usage: python bench/write_maps.py (--annotations GT.json | --scenes N) --out DIR [--generator project|second|third|fourth]
           [--seed 0] [--synth KNOB=VALUE ...] [--dataset coco|crowdpose]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from core.cli import HelpFormatter, run_cli  # noqa: E402
from datasets.synthetic.ae_maps import synthesize_maps  # noqa: E402
from datasets.synthetic.ae_maps_second import synthesize_maps_second  # noqa: E402
from datasets.synthetic.ae_maps_third import synthesize_maps_third  # noqa: E402
from datasets.synthetic.ae_maps_fourth import synthesize_maps_fourth  # noqa: E402
from datasets.coco import DATASET_SKELETONS, load_coco_gt, persons_by_image  # noqa: E402
from core.atomic_io import write_json  # noqa: E402
from core.errors import InputError  # noqa: E402
from datasets.synthetic.scenes import synthetic_scenes  # noqa: E402
from tasks.cli import synth_config  # noqa: E402


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--annotations", default=None, help="COCO-format person keypoints (.json)")
    p.add_argument("--scenes", type=int, default=0,
                   help="instead of --annotations: N new built-in scenes (seeded by --seed), written to OUT/scenes.json")
    p.add_argument("--out", required=True, help="folder for the <image_id>.npz files")
    p.add_argument("--generator", default="project", choices=["project", "second", "third", "fourth"], help="which noise model")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise")
    p.add_argument("--synth", action="append", default=[], metavar="KNOB=VALUE", help="project generator knobs")
    p.add_argument("--dataset", default="coco", choices=sorted(DATASET_SKELETONS), help="keypoint set")
    a = p.parse_args(argv)
    skeleton = DATASET_SKELETONS[a.dataset]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.scenes:
        a.annotations = write_json(out / "scenes.json", synthetic_scenes(a.scenes, seed=1000 + a.seed))
    elif a.annotations is None:
        raise InputError("give --annotations or --scenes")
    gt = load_coco_gt(a.annotations, a.dataset)
    people = persons_by_image(gt, skeleton.num_joints)
    synth = synth_config(a.synth)
    rng = np.random.default_rng(a.seed)
    for image_id, img in tqdm(sorted(gt.imgs.items()), desc="maps", disable=not sys.stderr.isatty()):
        anns = people[image_id][2]
        if a.generator == "second":
            maps = synthesize_maps_second(img["width"], img["height"], anns, skeleton, rng)
        elif a.generator == "third":
            maps = synthesize_maps_third(img["width"], img["height"], anns, skeleton, rng)
        elif a.generator == "fourth":
            maps = synthesize_maps_fourth(img["width"], img["height"], anns, skeleton, rng)
        else:
            maps = synthesize_maps(img["width"], img["height"], anns, skeleton.num_joints, synth, rng,
                                   skeleton.flip_permutation)
        maps.save(out / f"{image_id}.npz")
    print(f"wrote {len(gt.imgs)} map files ({a.generator} generator) to {out}")


if __name__ == "__main__":
    sys.exit(run_cli(main))
