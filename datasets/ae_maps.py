"""Associative-embedding (AE) maps of one image: heatmaps, tag maps, and the transform back to
image pixels; the reader of a folder of `<image_id>.npz` files (what real AE models write; the
synthesisers that render such maps from annotations are in `datasets.synthetic`).

File format (one `<image_id>.npz` per image, as any AE model can dump it):

- `heatmaps`: (K, H, W) float, one map per keypoint type;
- `tags`: (K, h, w) or (K, h, w, D) float, at its own resolution (h, w may differ from H, W);
- the transform from heatmap pixels to image pixels, either
  `scale_factor` (scalar or (2,): image pixels per heatmap pixel, optional `offset` (2,)),
  or `center` (2,) and `scale` (2,) as HigherHRNet / mmpose write them (the heatmap covers the
  box of size `scale * 200` pixels centred on `center`).

Coordinates: heatmap pixel (x, y) is image pixel `(x, y) * factor + offset`; the tag map's
pixel is heatmap pixel `* (w / W, h / H)`.
"""
from __future__ import annotations

import zipfile
from functools import lru_cache
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.atomic_io import atomic_write
from core.errors import InputError


@dataclass
class AEMaps:
    heatmaps: np.ndarray  # (K, H, W) float32
    tags: np.ndarray  # (K, h, w, D) float32
    factor: np.ndarray  # (2,) image pixels per heatmap pixel (x, y)
    offset: np.ndarray  # (2,) image position of heatmap pixel (0, 0)

    @property
    def num_keypoints(self) -> int:
        return self.heatmaps.shape[0]

    def to_image(self, xy: np.ndarray) -> np.ndarray:
        """(..., 2) heatmap pixels -> image pixels."""
        return xy * self.factor + self.offset

    def save(self, path):
        atomic_write(path, lambda f: np.savez_compressed(
            f, heatmaps=self.heatmaps, tags=self.tags, scale_factor=self.factor, offset=self.offset))


def _array(npz, key: str, name: str) -> np.ndarray:
    a = npz[key]
    if not isinstance(a, np.ndarray):
        raise InputError(f"{name}: '{key}' is not a readable array")
    if a.dtype.kind not in "fiu":
        raise InputError(f"{name}: '{key}' is not numeric")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name}: '{key}' contains NaN or inf")
    if key in ("heatmaps", "tags") and a.size and np.abs(a).max() > np.finfo(np.float32).max:
        raise InputError(f"{name}: '{key}' has values beyond float32's range (up to {np.abs(a).max():.3g})")
    return a


def map_files(folder) -> dict[int, Path]:
    """{image id: file} of a folder of `<image_id>.npz` map files. The name is the id as an
    integer, with or without zero padding (COCO's `000000000002.npz` is image 2); two files of one
    id (`2.npz`, `02.npz`) are an error naming both, as is a name that is not an id."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of <image_id>.npz map files")
    return dict(_map_files(str(folder.resolve()), folder.stat().st_mtime_ns))


@lru_cache(maxsize=8)
def _map_files(folder: str, mtime_ns: int) -> tuple:  # cached per version of the folder
    files: dict[int, Path] = {}
    for path in sorted(Path(folder).glob("*.npz")):
        if not path.is_file():
            raise InputError(f"{path}: a folder named like a map file (expected <image_id>.npz files); rename or move it")
        if not path.stem.isdigit():
            raise InputError(f"{path}: the file name is not an image id (expected <image_id>.npz)")
        image_id = int(path.stem)
        if image_id in files:
            raise InputError(f"{files[image_id]} and {path.name}: two map files of image {image_id}; keep one")
        files[image_id] = path
    return tuple(sorted(files.items()))


def map_image_ids(folder) -> list[int]:
    """The image ids of a folder of map files (`map_files`), ascending; an error if there is none."""
    ids = sorted(map_files(folder))
    if not ids:
        raise InputError(f"{folder}: no <image_id>.npz map files")
    return ids


def read_ae_maps(folder, image_id, num_keypoints: int) -> AEMaps:
    """Read the map file of `image_id` in `folder` (`<image_id>.npz`, zero padding allowed) and
    check it against the dataset's K keypoints."""
    path = Path(folder) / f"{image_id}.npz"
    if Path(folder).is_dir():  # the folder's one file of this id (a second one is an error)
        path = map_files(folder).get(int(image_id), path)
    name = path.name
    if not path.exists():
        raise InputError(f"{Path(folder) / f'{image_id}.npz'}: no maps for image {image_id}")
    if not zipfile.is_zipfile(path):
        raise InputError(f"{name}: not a readable .npz file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            for key in ("heatmaps", "tags"):
                if key not in npz.files:
                    raise InputError(f"{name}: missing key '{key}'")
            hm, tags = _array(npz, "heatmaps", name), _array(npz, "tags", name)
            def pair(key):
                a = _array(npz, key, name).astype(np.float64)
                if a.size not in (1, 2):
                    raise InputError(f"{name}: '{key}' has {a.size} values, expected 1 or 2")
                return np.broadcast_to(a.ravel(), (2,)).copy()

            if "scale_factor" in npz.files:
                factor = pair("scale_factor")
                offset = pair("offset") if "offset" in npz.files else np.zeros(2)
                box = None
            elif "center" in npz.files and "scale" in npz.files:
                box = pair("scale") * 200.0  # HigherHRNet / mmpose: box size = scale * 200
                offset = pair("center") - box / 2
            else:
                raise InputError(f"{name}: needs 'scale_factor' or 'center' and 'scale' to map "
                                 f"heatmap pixels to image pixels")
    except InputError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise InputError(f"{name}: not a readable .npz file ({type(e).__name__})") from None
    if hm.ndim != 3:
        raise InputError(f"{name}: heatmaps have shape {hm.shape}, expected (K, H, W)")
    if tags.ndim == 3:
        tags = tags[..., None]
    if tags.ndim != 4:
        raise InputError(f"{name}: tags have shape {tags.shape}, expected (K, h, w) or (K, h, w, D)")
    if hm.shape[0] != num_keypoints:
        raise InputError(f"{name}: {hm.shape[0]} heatmaps, expected {num_keypoints} keypoint types")
    if tags.shape[0] != num_keypoints:
        raise InputError(f"{name}: {tags.shape[0]} tag maps, expected {num_keypoints} keypoint types")
    if box is not None:
        factor = box / np.array([hm.shape[2], hm.shape[1]])
    if min(hm.shape[1:]) < 2 or min(tags.shape[1:3]) < 1:
        raise InputError(f"{name}: maps are too small ({hm.shape}, {tags.shape})")
    if np.any(factor <= 0):
        raise InputError(f"{name}: the scale to image pixels must be positive")
    return AEMaps(hm.astype(np.float32), tags.astype(np.float32), factor, offset)
