"""Human3.6M in the standard `.npz` layout of SemGCN and VideoPose3D.

Files in a data folder:

- `data_3d_h36m.npz`: `positions_3d[subject][action]` -> (N, 32, 3) float, metres, world frame.
- `data_2d_h36m_<keypoints>.npz`: `positions_2d[subject][action]` -> list of 4 cameras, each
  (N, 17, 2) pixels (or (N, 16, 2) for the Stacked Hourglass files, already in H36M-16 order);
  `metadata` (optional) describes the layout.

`load_h36m` turns them into a `PoseSet`: 2D in SemGCN's screen coordinates
(`x / w * 2 - [1, h / w]`), 3D in the camera frame, root-relative, metres.
"""
from __future__ import annotations

import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from datasets.cameras import h36m_cameras, normalize_screen, world_to_camera
from core.errors import InputError
from datasets.skeleton import H36M17_TO_16, Skeleton, h36m_skeleton

TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS = ("S9", "S11")
FILE_3D = "data_3d_h36m.npz"
KNOWN_KEYPOINTS = ("gt", "cpn_ft_h36m_dbb", "sh_ft_h36m")


class H36MWarning(UserWarning):
    """Something was skipped while reading Human3.6M files."""


def base_action(action: str) -> str:
    """`Walking 1` counts as `Walking` (SemGCN's action-wise protocol)."""
    return action.split(" ")[0]


@dataclass
class PoseSet:
    """Poses of one split, flat over sequences and cameras. P poses, J joints."""

    x2d: np.ndarray  # (P, J, 2) float32, screen-normalised 2D
    y3d: np.ndarray  # (P, J, 3) float32, camera frame, root-relative, metres
    subject: np.ndarray  # (P,) int64 index into `subjects`
    action: np.ndarray  # (P,) int64 index into `actions` (base action names)
    camera: np.ndarray  # (P,) int64 camera 0..3
    subjects: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.x2d)


def resolve_2d_file(data_dir: Path, keypoints: str) -> Path:
    """`gt` | `cpn_ft_h36m_dbb` | `sh_ft_h36m` -> `data_2d_h36m_<keypoints>.npz`; or a path."""
    if keypoints.endswith(".npz"):
        return Path(keypoints)
    if not re.fullmatch(r"[A-Za-z0-9_]+", keypoints):
        raise InputError(f"{{keypoints}} {keypoints}: expected gt, cpn_ft_h36m_dbb, sh_ft_h36m or a .npz path")
    path = data_dir / f"data_2d_h36m_{keypoints}.npz"
    if keypoints not in KNOWN_KEYPOINTS and not path.exists():
        raise InputError(f"{{keypoints}} {keypoints}: unknown keypoints (expected "
                         f"{', '.join(KNOWN_KEYPOINTS)} or a .npz path) and {path} does not exist")
    return path


def read_npz_dict(path: Path, key: str) -> tuple[dict, Optional[dict]]:
    """Read `key` (a subject -> action -> value dict) and `metadata` from a standard .npz file."""
    name = path.name
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a .npz file")
    if not zipfile.is_zipfile(path):  # np.load would try to unpickle anything else
        size = path.stat().st_size
        raise InputError(f"{name}: not a readable .npz file ({'empty' if size == 0 else 'not a zip archive'})")
    try:
        with np.load(path, allow_pickle=True) as npz:
            if key not in npz.files:
                raise InputError(f"{name}: missing key '{key}' (has: {', '.join(npz.files) or 'nothing'})")
            value = npz[key]
            meta = npz["metadata"] if "metadata" in npz.files else None
    except InputError:
        raise
    except Exception as e:  # a corrupted pickle inside the archive can raise almost anything
        first = (str(e).strip().splitlines() or [""])[0][:100]
        raise InputError(f"{name}: not a readable .npz file ({type(e).__name__}: {first})") from None
    try:
        value = value.item()
    except (ValueError, AttributeError):
        value = None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise InputError(f"{name}: '{key}' is not a subject -> action dictionary")
    if meta is not None:
        try:
            meta = meta.item()
        except (ValueError, AttributeError):
            meta = None
    return value, meta if isinstance(meta, dict) else None


def _check_array(arr, name: str, where: str, shape_tail: tuple, what: str) -> np.ndarray:
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fiu":
        raise InputError(f"{name}: {where} is not a numeric array")
    if arr.ndim != 1 + len(shape_tail) or tuple(arr.shape[1:]) != shape_tail:
        raise InputError(f"{name}: {where} has shape {tuple(arr.shape)}, expected (N, "
                         f"{', '.join(map(str, shape_tail))}) {what}")
    if arr.shape[0] == 0:
        raise InputError(f"{name}: {where} has no frames")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: {where} contains NaN or inf")
    return arr


def _action_wanted(action: str, actions: Optional[Sequence[str]]) -> bool:
    return actions is None or base_action(action) in actions or action in actions


def load_h36m(data_dir, keypoints: str = "gt", num_joints: int = 16,
              subjects: Sequence[str] = TRAIN_SUBJECTS, actions: Optional[Sequence[str]] = None,
              downsample: int = 1, subjects_field: str = "subjects") -> PoseSet:
    """Read one split of Human3.6M from the standard files in `data_dir`.

    A subject in neither file is an `InputError` that names `subjects_field` (the config field
    or flag that asked for it). Sequences present in only one of the two files are skipped with
    an `H36MWarning` naming them and the file that lacks them. A 2D sequence longer than its 3D sequence is cut to the 3D length (as VideoPose3D
    does); a shorter one is an error.
    """
    data_dir = Path(data_dir)
    if downsample < 1:
        raise InputError(f"{{downsample}} {downsample}: must be a positive integer")
    skeleton: Skeleton = h36m_skeleton(num_joints)
    path3d = data_dir / FILE_3D
    path2d = resolve_2d_file(data_dir, keypoints)
    pos3d, _ = read_npz_dict(path3d, "positions_3d")
    pos2d, meta = read_npz_dict(path2d, "positions_2d")
    n3, n2 = path3d.name, path2d.name
    cameras = h36m_cameras()
    absent = [s for s in subjects if s not in pos3d and s not in pos2d]
    if absent:
        held = sorted(set(pos3d) | set(pos2d), key=lambda s: (len(s), s))
        raise InputError(f"{subjects_field} {','.join(absent)}: not in {data_dir} ({n3} and {n2} hold "
                         f"{', '.join(held) or 'no subject'})")

    xs, ys, subj_ids, act_ids, cam_ids, skipped = [], [], [], [], [], []
    action_names: list[str] = []
    found_actions = set()
    for si, subject in enumerate(subjects):
        if subject not in cameras:
            raise InputError(f"subject {subject}: no Human3.6M calibration (expected S1..S11)")
        in3, in2 = pos3d.get(subject), pos2d.get(subject)
        if in3 is None or in2 is None:
            skipped.append(f"{subject} (missing from {n3 if in3 is None else n2})")
            continue
        for action in sorted(set(in3) | set(in2)):
            if not _action_wanted(action, actions):
                continue
            if action not in in3 or action not in in2:
                skipped.append(f"{subject}/{action} (missing from {n3 if action not in in3 else n2})")
                continue
            found_actions.update((action, base_action(action)))
            where = f"subject {subject} action {action}"
            p3 = _check_array(in3[action], n3, where, (32, 3), "metres")
            views = in2[action]
            if isinstance(views, np.ndarray) and (views.dtype == object or views.ndim == 4):
                views = list(views)  # one array per camera, stacked
            if not isinstance(views, (list, tuple)):
                raise InputError(f"{n2}: {where} is not a list of one 2D array per camera")
            if len(views) != 4:
                raise InputError(f"{n2}: {where} has {len(views)} camera view(s), expected Human3.6M's 4")
            reach = float(np.median(np.linalg.norm(p3 - p3[:, :1], axis=-1).max(axis=1)))
            if reach > 10:  # a person's joints lie within about 1 m of the pelvis
                raise InputError(f"{n3}: {where} has joints {reach:.0f} units from the pelvis: positions must "
                                 f"be in metres (millimetres? divide by 1000)")
            base = base_action(action)
            if base not in action_names:
                action_names.append(base)
            p3 = p3.astype(np.float64)[:, skeleton.joints_from_32]  # (N, J, 3)
            for ci, view in enumerate(views):
                wc = f"{where} camera {ci}"
                if not isinstance(view, np.ndarray) or view.ndim != 3 or view.shape[1] not in (16, 17):
                    shape = tuple(view.shape) if isinstance(view, np.ndarray) else type(view).__name__
                    raise InputError(f"{n2}: {wc} has shape {shape}, expected (N, 17, 2) or (N, 16, 2)")
                view = _check_array(view, n2, wc, (view.shape[1], 2), "pixels")
                if np.abs(view).max() <= 2:  # normalised coordinates, not the camera's pixels
                    raise InputError(f"{n2}: {wc} has coordinates within +-{np.abs(view).max():.2g}: 2D "
                                     f"positions must be in image pixels (the loader normalises them)")
                if view.shape[1] == 16 and num_joints == 17:
                    raise InputError(f"{n2}: has 16 joints per pose, use {{joints}} 16")
                if view.shape[1] == 17 and num_joints == 16:
                    view = view[:, list(H36M17_TO_16)]
                if view.shape[0] < p3.shape[0]:
                    raise InputError(f"{n2}: {wc} has {view.shape[0]} frames, fewer than the "
                                     f"{p3.shape[0]} of {n3}")
                view = view[:p3.shape[0]]
                cam = cameras[subject][ci]
                x = normalize_screen(view.astype(np.float64), cam.width, cam.height)
                y = world_to_camera(p3, cam)
                y = y - y[:, :1]  # root-relative
                x, y = x[::downsample], y[::downsample]
                xs.append(x.astype(np.float32))
                ys.append(y.astype(np.float32))
                n = len(x)
                subj_ids.append(np.full(n, si, dtype=np.int64))
                act_ids.append(np.full(n, action_names.index(base), dtype=np.int64))
                cam_ids.append(np.full(n, ci, dtype=np.int64))
    if actions is not None:
        for a in actions:
            if a not in found_actions:
                raise InputError(f"{{actions}}: no sequence of action '{a}' for subjects "
                                 f"{','.join(subjects)} in {n3}")
    if skipped:
        warnings.warn(f"{n3}/{n2}: skipped {len(skipped)} sequence(s) present in only one "
                      f"file: {', '.join(skipped)}", H36MWarning, stacklevel=2)
    if not xs:
        raise InputError(f"{n3}/{n2}: no sequence for subjects {','.join(subjects)}")
    return PoseSet(x2d=np.concatenate(xs), y3d=np.concatenate(ys), subject=np.concatenate(subj_ids),
                   action=np.concatenate(act_ids), camera=np.concatenate(cam_ids),
                   subjects=list(subjects), actions=action_names, skipped=skipped)
