"""2D poses to lift, from a user's files: a COCO results json (17 keypoints per person, as COCO
detectors, mmpose and `predict.py grouping` write) or an `.npy` / `.npz` array (P, J, 2) or
(P, J, 3) in COCO-17 or Human3.6M order; image sizes from a COCO images list or one size for all.
Each person becomes the lifter's Human3.6M joints in pixels (`datasets.coco_to_h36m`)."""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from core.errors import InputError
from datasets.coco import check_int, check_keypoints, read_json, require_fields
from datasets.coco_to_h36m import convert_person
from datasets.skeleton import H36M17_TO_16

FORMATS = ("coco", "crowdpose", "h36m17", "h36m16")
CONVERTED = {"coco": 17, "crowdpose": 14}  # keypoint sets converted to Human3.6M joints


@dataclass
class Persons2D:
    image_id: list[int] = field(default_factory=list)
    score: list[float] = field(default_factory=list)
    joints: list[np.ndarray] = field(default_factory=list)  # (J, 2) pixels, H36M order
    size: list[tuple[float, float]] = field(default_factory=list)  # image (width, height)
    filled: list[list[str]] = field(default_factory=list)  # input keypoints filled in
    source: list[int] = field(default_factory=list)  # index of each person in the input
    input_id: list[Optional[int]] = field(default_factory=list)  # the input's own id of the person (COCO 'id')
    skipped: int = 0  # persons not lifted (too few keypoints, no torso)

    def __len__(self) -> int:
        return len(self.joints)


def image_sizes(images_path) -> dict[int, tuple[float, float]]:
    """A COCO file's `images` list -> {image id: (width, height)}."""
    name = Path(images_path).name
    d = read_json(images_path)
    images = d.get("images") if isinstance(d, dict) else None
    if not isinstance(images, list):
        raise InputError(f"{name}: no 'images' list (expected a COCO annotation file)")
    sizes = {}
    for i, img in enumerate(images):
        if not (isinstance(img, dict) and isinstance(img.get("id"), int)
                and all(isinstance(img.get(k), (int, float)) and img[k] > 0 for k in ("width", "height"))):
            raise InputError(f"{name}: images[{i}] needs an integer 'id' and positive 'width' and 'height'")
        size = (float(img["width"]), float(img["height"]))
        if sizes.get(img["id"], size) != size:
            raise InputError(f"{name}: image {img['id']} is listed twice with two sizes "
                             f"({sizes[img['id']][0]:g}x{sizes[img['id']][1]:g} and {size[0]:g}x{size[1]:g})")
        sizes[img["id"]] = size
    return sizes


def _read_array(path: Path) -> np.ndarray:
    name = path.name
    try:
        if path.suffix == ".npz":
            if not zipfile.is_zipfile(path):
                raise InputError(f"{name}: not a readable .npz file")
            with np.load(path, allow_pickle=False) as f:
                keys = [k for k in ("keypoints", "poses_2d") if k in f.files] or f.files
                if len(keys) != 1:
                    raise InputError(f"{name}: expected one array or a 'keypoints' array, found {', '.join(f.files) or 'none'}")
                arr = f[keys[0]]
        else:
            arr = np.load(path, allow_pickle=False)
    except InputError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise InputError(f"{name}: not a readable array file ({type(e).__name__})") from None
    if arr.dtype.kind not in "fiu" or arr.ndim != 3 or arr.shape[2] not in (2, 3) or arr.shape[1] not in (16, 17):
        raise InputError(f"{name}: array has shape {arr.shape} ({arr.dtype}), expected (P, J, 2) or (P, J, 3) "
                         f"numbers with J = 17 (COCO or Human3.6M order) or 16")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: array contains NaN or inf")
    return arr.astype(np.float64)


def _coco_results(path: Path, K: int) -> tuple[list[int], np.ndarray, list[float], list]:
    name = path.name
    res = read_json(path)
    if not isinstance(res, list) or not res:
        raise InputError(f"{name}: expected a non-empty JSON list of COCO results")
    ids, kps, scores, own = [], [], [], []
    for i, r in enumerate(res):
        where = f"result [{i}]"
        require_fields(r, ("image_id", "keypoints"), where, name)
        check_int(r, "image_id", where, name)
        check_keypoints(r["keypoints"], K, where, name, f"; {{format}} {'coco' if K == 17 else 'crowdpose'}")
        ids.append(r["image_id"])
        kps.append(r["keypoints"])
        s = r.get("score")
        scores.append(float(s) if isinstance(s, (int, float)) and np.isfinite(s) else float("nan"))
        own.append(r["id"] if isinstance(r.get("id"), int) and not isinstance(r.get("id"), bool) else None)
    return ids, np.array(kps, dtype=np.float64).reshape(-1, K, 3), scores, own


def keypoint_format(path, fmt: Optional[str]) -> str:
    """The joint order `read_persons` reads `path` in: `fmt` when given, else coco for a .json and,
    for arrays, coco if J = 17, h36m16 if J = 16 (the array is read to see J)."""
    path = Path(path)
    if fmt is not None or path.suffix == ".json" or not path.exists():
        return fmt or "coco"
    return _array_format(_read_array(path).shape[1])


def _array_format(joints: int) -> str:
    """The joint order of an array given without --format: COCO's 17, or SemGCN's 16."""
    return "coco" if joints == 17 else "h36m16"


def read_persons(path, fmt: Optional[str], num_joints: int, sizes: Optional[dict] = None,
                 image_size: Optional[tuple[float, float]] = None, min_score: float = 0.1,
                 min_keypoints: Optional[int] = None) -> Persons2D:
    """The persons of a keypoint file -> `Persons2D` in the lifter's `num_joints` (16 or 17).
    `fmt` coco | crowdpose | h36m17 | h36m16 (None: coco for a .json, else from the array's J:
    17 -> coco, 16 -> h36m16). Arrays give image ids 0..P-1. Sizes: `sizes` (image id -> (w, h)) or
    `image_size` for every image."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"{{format}} {fmt}: expected one of {', '.join(FORMATS)}")
    if path.suffix == ".json":
        if fmt not in (None, *CONVERTED):
            raise InputError(f"{path.name}: a .json file is a COCO results list; {{format}} {fmt} is for arrays")
        fmt = fmt or "coco"
        ids, kps, scores, own = _coco_results(path, CONVERTED[fmt])
    else:
        kps = _read_array(path)
        J = kps.shape[1]
        fmt = fmt or _array_format(J)
        expected = {"coco": 17, "crowdpose": 14, "h36m17": 17, "h36m16": 16}[fmt]
        if J != expected:
            raise InputError(f"{path.name}: array has {J} joints, {{format}} {fmt} has {expected}")
        if kps.shape[2] == 2:
            kps = np.concatenate([kps, np.ones(kps.shape[:2] + (1,))], axis=2)
        ids = list(range(len(kps)))
        scores = list(kps[:, :, 2].mean(1))
        own = None
    if fmt == "h36m16" and num_joints == 17:
        raise InputError(f"{path.name}: has 16 joints per pose (no Neck/Nose); the model lifts 17")

    def size_of(n: int, image_id) -> tuple[float, float]:
        if sizes is not None:
            if image_id not in sizes:
                raise InputError(f"{path.name}: image {image_id} (person {n}) is not in the images list")
            return sizes[image_id]
        if image_size is not None:
            return image_size
        raise InputError("image sizes are needed to normalise the 2D input: give {images} or {image_size}")

    return to_persons(ids, kps, scores, size_of, fmt, num_joints, min_score, min_keypoints, own)


def to_persons(ids, kps: np.ndarray, scores, size_of, fmt: str, num_joints: int, min_score: float = 0.1,
               min_keypoints: Optional[int] = None, own_ids: Optional[list] = None) -> Persons2D:
    """Keypoints (P, K, 3) of `fmt`'s layout, their image ids and person scores -> `Persons2D`;
    `size_of(n, image_id)` -> the image's (width, height); `own_ids`: the input's ids of the
    persons (COCO results' optional 'id'), kept beside each person's index in the input."""
    out = Persons2D()
    for n, (image_id, k, score) in enumerate(zip(ids, kps, scores)):
        size = size_of(n, image_id)
        if fmt in CONVERTED:
            conv = convert_person(k, min_score, num_joints, min_keypoints, dataset=fmt)
            if conv is None:
                out.skipped += 1
                continue
            joints, filled = conv.joints, conv.filled
        else:
            joints = k[:, :2][list(H36M17_TO_16)] if fmt == "h36m17" and num_joints == 16 else k[:, :2]
            filled = []
        out.image_id.append(int(image_id))
        out.score.append(float(score) if np.isfinite(score) else float(np.mean(k[:, 2])))
        out.joints.append(joints)
        out.size.append(size)
        out.filled.append(filled)
        out.source.append(n)
        out.input_id.append(own_ids[n] if own_ids is not None else None)
    return out
