"""COCO-format person keypoints: ground-truth files (COCO, CrowdPose) and results files, read
and validated into pycocotools `COCO` objects."""
from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import warnings
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO

from core.errors import InputError
from datasets.skeleton import COCO17, CROWDPOSE14, Skeleton

DATASET_SKELETONS = {"coco": COCO17, "crowdpose": CROWDPOSE14}
# CrowdPose's evaluator (crowdposetools / xtcocotools 'keypoints_crowd', use_area=False) scales
# OKS by area = 0.53 * box width * box height, whether or not the file has `area`.
CROWDPOSE_AREA_FACTOR = 0.53


def read_json(path):
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a .json file")
    try:
        return json.loads(path.read_text())
    except UnicodeDecodeError:
        raise InputError(f"{path.name}: not a text file") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path.name}: not valid JSON (line {e.lineno} column {e.colno}: {e.msg})") from None


def check_keypoints(kps, K: int, where: str, name: str, hint: str = ""):
    """A keypoint list of K (x, y, v) triples of finite numbers, or a one-line error (`hint`
    appended to the length message, e.g. the flag that chooses K)."""
    if not isinstance(kps, list) or len(kps) != 3 * K:
        n = len(kps) if isinstance(kps, list) else type(kps).__name__
        raise InputError(f"{name}: {where} has {n} keypoint values, expected {3 * K} "
                         f"({K} keypoints x (x, y, v){hint})")
    if not all(_is_number(v) for v in kps):
        raise InputError(f"{name}: {where} has non-numeric or non-finite keypoint values")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_int(obj: dict, key: str, where: str, name: str):
    if key in obj and not _is_int(obj[key]):
        raise InputError(f"{name}: {where} '{key}' is not an integer ({json.dumps(obj[key])[:40]})")


def require_fields(obj, keys, where: str, name: str):
    if not isinstance(obj, dict):
        raise InputError(f"{name}: {where} is not an object")
    for key in keys:
        if key not in obj:
            raise InputError(f"{name}: {where} has no '{key}'")


def quiet_coco(dataset: dict) -> COCO:
    """A pycocotools `COCO` from an in-memory dict, without its prints."""
    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def load_coco_gt(path, dataset: str = "coco") -> COCO:
    """A COCO / CrowdPose person-keypoint annotation file -> pycocotools `COCO`.

    Checks the top-level fields, keypoint lengths against the dataset's skeleton and image ids.
    CrowdPose annotations get area = 0.53 * bbox width * bbox height, as CrowdPose's own
    evaluator computes it (CrowdPose files have no `area`; one that is present is replaced).
    """
    skeleton: Skeleton = DATASET_SKELETONS[dataset]
    name = Path(path).name
    d = read_json(path)
    if not isinstance(d, dict):
        raise InputError(f"{name}: expected a JSON object with images, annotations, categories")
    for key in ("images", "annotations", "categories"):
        if key not in d:
            raise InputError(f"{name}: no '{key}' field (not a COCO annotation file)")
        if not isinstance(d[key], list):
            raise InputError(f"{name}: '{key}' is not a list")
    image_ids = {}
    for i, img in enumerate(d["images"]):
        require_fields(img, ("id",), f"images[{i}]", name)
        check_int(img, "id", f"images[{i}]", name)
        for key in ("width", "height"):
            if key in img and not (_is_number(img[key]) and img[key] > 0):
                raise InputError(f"{name}: images[{i}] '{key}' is not a positive number")
        if "crowdIndex" in img and not _is_number(img["crowdIndex"]):
            raise InputError(f"{name}: images[{i}] 'crowdIndex' is not a number")
        if img["id"] in image_ids:
            raise InputError(f"{name}: images[{i}] and images[{image_ids[img['id']]}] have the same id {img['id']}")
        image_ids[img["id"]] = i
    if not d["categories"]:
        raise InputError(f"{name}: 'categories' is empty (pycocotools scores no category; COCO's "
                         f"person is {{\"id\": 1, \"name\": \"person\"}})")
    category_ids = {}
    for i, cat in enumerate(d["categories"]):
        require_fields(cat, ("id",), f"categories[{i}]", name)
        check_int(cat, "id", f"categories[{i}]", name)
        if cat["id"] in category_ids:
            raise InputError(f"{name}: categories[{i}] and categories[{category_ids[cat['id']]}] have the same id {cat['id']}")
        category_ids[cat["id"]] = i
    d = copy.copy(d)
    d["annotations"] = anns = [dict(a) if isinstance(a, dict) else a for a in d["annotations"]]
    for i, a in enumerate(anns):
        where = f"annotations[{i}]"
        require_fields(a, ("image_id", "keypoints", "bbox"), where, name)
        for key in ("image_id", "category_id", "id", "iscrowd", "num_keypoints"):
            check_int(a, key, where, name)
        if a["image_id"] not in image_ids:
            raise InputError(f"{name}: {where} refers to image {a['image_id']}, not in 'images'")
        check_keypoints(a["keypoints"], skeleton.num_joints, where, name)
        if not (isinstance(a["bbox"], list) and len(a["bbox"]) == 4 and all(map(_is_number, a["bbox"]))):
            raise InputError(f"{name}: {where} bbox is not [x, y, w, h]")
        if a["bbox"][2] < 0 or a["bbox"][3] < 0:
            raise InputError(f"{name}: {where} bbox has a negative width or height ({a['bbox'][2]}, {a['bbox'][3]})")
        if "area" in a and not (_is_number(a["area"]) and a["area"] >= 0):
            raise InputError(f"{name}: {where} area is not a non-negative number")
        if dataset == "crowdpose":
            a["area"] = CROWDPOSE_AREA_FACTOR * a["bbox"][2] * a["bbox"][3]
        elif "area" not in a:
            raise InputError(f"{name}: {where} has no 'area' (use {{dataset}} crowdpose for "
                             f"CrowdPose files)")
        a.setdefault("iscrowd", 0)
        a.setdefault("category_id", 1)
        if a["category_id"] not in category_ids:
            raise InputError(f"{name}: {where} category_id {a['category_id']} is not in 'categories'")
        a.setdefault("num_keypoints", sum(1 for v in a["keypoints"][2::3] if v > 0))
        if a["num_keypoints"] > 0 and not a["iscrowd"] and a["area"] <= 0:
            raise InputError(f"{name}: {where} has labelled keypoints but area 0 (OKS divides by the area; "
                             f"its box is {a['bbox'][2]} x {a['bbox'][3]})")
    _number_annotations(anns, name)
    return quiet_coco(d)


def _number_annotations(anns: list[dict], name: str) -> None:
    """Annotation ids must be unique (pycocotools indexes annotations and matches by id: a
    duplicate silently overwrites another person). Annotations without one get fresh ids above
    the largest present (1..N when none has one), said in a warning when others have ids."""
    seen = {}
    for i, a in enumerate(anns):
        if "id" in a:
            if a["id"] in seen:
                raise InputError(f"{name}: annotations[{i}] and annotations[{seen[a['id']]}] have the same id {a['id']}")
            seen[a["id"]] = i
    missing = [a for a in anns if "id" not in a]
    if missing and seen:
        first = next(i for i, a in enumerate(anns) if "id" not in a)
        warnings.warn(f"{name}: {len(missing)} annotation(s) have no id (the first: annotations[{first}]); "
                      f"numbered from {max(seen) + 1}, above the ids present")
    start = max(seen, default=0) + 1
    for k, a in enumerate(missing):
        a["id"] = start + k
    zero = [i for i, a in enumerate(anns) if a["id"] == 0]
    if zero:  # scored as pycocotools and crowdposetools score it, but say so
        warnings.warn(f"{name}: annotations[{zero[0]}] has id 0: pycocotools (and CrowdPose's evaluator) "
                      f"count a detection matched to it as a false positive; number annotation ids from 1")


def person_category(gt: COCO) -> int:
    """The category the ground truth's annotations are of (COCO's person: 1)."""
    used = sorted({a["category_id"] for a in gt.dataset["annotations"]})
    return used[0] if len(used) == 1 else 1


def load_results(path, gt: COCO, dataset: str = "coco") -> list[dict]:
    """A COCO results file (list of {image_id, category_id, keypoints, score}) -> checked list.
    A result without `category_id` is of the ground truth's person category; one of another
    category is an error (pycocotools would score it against nothing). Other fields (bbox,
    segmentation, ...) are ignored: only these four are scored (`tasks.coco_eval.load_res`)."""
    K = DATASET_SKELETONS[dataset].num_joints
    name = Path(path).name
    res = read_json(path)
    if not isinstance(res, list):
        raise InputError(f"{name}: expected a JSON list of results")
    if not res:
        raise InputError(f"{name}: no results (an empty list scores nothing)")
    unknown = []
    person = person_category(gt)
    for i, r in enumerate(res):
        where = f"result [{i}]"
        require_fields(r, ("image_id", "keypoints", "score"), where, name)
        check_int(r, "image_id", where, name)
        check_int(r, "category_id", where, name)
        if r.get("category_id", person) != person:
            raise InputError(f"{name}: {where} category_id {r['category_id']} is not the ground truth's "
                             f"person category ({person}); it would score against nothing")
        check_keypoints(r["keypoints"], K, where, name)
        if not isinstance(r["score"], (int, float)) or not math.isfinite(r["score"]):
            raise InputError(f"{name}: {where} score is not a finite number")
        if r["image_id"] not in gt.imgs:
            unknown.append(r["image_id"])
    if unknown:
        shown = ", ".join(map(str, sorted(set(unknown), key=str)[:5]))
        raise InputError(f"{name}: {len(unknown)} result(s) for image ids not in the ground "
                         f"truth ({shown})")
    return res


def persons_by_image(coco: COCO, num_keypoints: int) -> dict:
    """image id -> (keypoints (P, K, 3), areas (P,), annotations) of its non-crowd people."""
    out = {}
    for image_id in coco.getImgIds():
        anns = [a for a in coco.imgToAnns.get(image_id, []) if not a.get("iscrowd", 0)]
        kps = np.array([a["keypoints"] for a in anns], dtype=np.float64).reshape(len(anns), num_keypoints, 3)
        areas = np.array([a["area"] for a in anns], dtype=np.float64)
        out[image_id] = (kps, areas, anns)
    return out
