"""Built-in synthetic Human3.6M: a kinematic body model, written as the standard `.npz` files.

Poses come from a 17-joint kinematic tree with Human3.6M-like bone lengths (scaled per subject),
joint angles within anatomical limits that move smoothly with an action-specific pattern, a
slowly turning body that walks or shifts about the capture area, and feet on the floor. They are
projected by the real Human3.6M cameras of each subject (with lens distortion), so the files go
through exactly the same loader as real data. Everything is seeded and deterministic.
"""
from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np

from core.atomic_io import atomic_write
from core.cache_dir import cache_dir
from core.errors import InputError
from datasets.cameras import h36m_cameras, project_to_pixels, world_to_camera
from datasets.skeleton import H36M17

GENERATOR_VERSION = 1
SUBJECTS = ("S1", "S5", "S6", "S7", "S8", "S9", "S11")
ACTIONS = ("Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing",
           "Purchases", "Sitting", "SittingDown", "Smoking", "Waiting", "WalkDog", "Walking",
           "WalkTogether")
FPS = 10.0  # frames per second of the synthetic sequences (Human3.6M records at 50)

# Bone lengths in metres (child joint of H36M-17 -> length of the bone to its parent).
BONE_LENGTH = np.array([0.0, 0.132, 0.442, 0.454, 0.132, 0.442, 0.454, 0.233, 0.257, 0.121,
                        0.115, 0.151, 0.278, 0.251, 0.151, 0.278, 0.251])
# Rest direction of each bone in the frame of its parent joint (+z up, +y forward, +x left).
REST_DIR = np.array([
    [0, 0, 0], [-1, 0, 0], [0, 0, -1], [0, 0, -1], [1, 0, 0], [0, 0, -1], [0, 0, -1],
    [0, 0, 1], [0, 0, 1], [0, 0.35, 0.94], [0, -0.35, 0.94], [1, 0, 0], [0, 0, -1], [0, 0, -1],
    [-1, 0, 0], [0, 0, -1], [0, 0, -1]], dtype=np.float64)

# Degrees of freedom: name -> (joint whose outgoing bones it rotates, axis, sign, min, max) in deg.
DOFS = {
    "root_pitch": (0, "x", -1, -10, 40),
    "spine_flex": (7, "x", -1, -20, 60), "spine_twist": (7, "z", 1, -40, 40),
    "spine_side": (7, "y", 1, -25, 25),
    "neck_flex": (8, "x", -1, -40, 50), "neck_twist": (9, "z", 1, -60, 60),
    "lhip_flex": (4, "x", 1, -25, 120), "rhip_flex": (1, "x", 1, -25, 120),
    "lhip_abd": (4, "y", -1, -10, 45), "rhip_abd": (1, "y", 1, -10, 45),
    "lknee": (5, "x", -1, 0, 140), "rknee": (2, "x", -1, 0, 140),
    "lsho_flex": (11, "x", 1, -50, 170), "rsho_flex": (14, "x", 1, -50, 170),
    "lsho_abd": (11, "y", -1, 0, 150), "rsho_abd": (14, "y", 1, 0, 150),
    "lelbow": (12, "x", 1, 0, 145), "relbow": (15, "x", 1, 0, 145),
}

# Action patterns: dof -> (mean, amplitude, phase in cycles); plus cycle frequency (Hz),
# walking speed (m/s) and turning rate (rad/s).
_WALK = {"lhip_flex": (10, 25, 0.0), "rhip_flex": (10, 25, 0.5), "lknee": (25, 25, 0.2),
         "rknee": (25, 25, 0.7), "lsho_flex": (5, 20, 0.5), "rsho_flex": (5, 20, 0.0),
         "lelbow": (20, 10, 0.5), "relbow": (20, 10, 0.0), "lsho_abd": (8, 2, 0),
         "rsho_abd": (8, 2, 0), "root_pitch": (4, 2, 0.0)}
_SIT = {"lhip_flex": (90, 6, 0.0), "rhip_flex": (88, 6, 0.3), "lknee": (90, 8, 0.1),
        "rknee": (92, 8, 0.4), "spine_flex": (10, 8, 0.0), "lelbow": (60, 20, 0.0),
        "relbow": (55, 20, 0.5), "lsho_flex": (20, 15, 0.0), "rsho_flex": (20, 15, 0.5),
        "lsho_abd": (10, 5, 0), "rsho_abd": (10, 5, 0.2)}
_STAND = {"lhip_flex": (3, 4, 0.0), "rhip_flex": (3, 4, 0.5), "lknee": (6, 5, 0.0),
          "rknee": (6, 5, 0.5), "lsho_abd": (12, 6, 0), "rsho_abd": (12, 6, 0.5),
          "lelbow": (15, 10, 0), "relbow": (15, 10, 0.3), "neck_twist": (0, 25, 0.0),
          "spine_twist": (0, 10, 0.2)}
ACTION_PATTERNS = {
    "Directions": (dict(_STAND, rsho_flex=(60, 40, 0.0), relbow=(20, 15, 0.1)), 0.3, 0.15, 0.3),
    "Discussion": (dict(_STAND, lsho_flex=(30, 25, 0.0), rsho_flex=(30, 25, 0.4),
                        lelbow=(70, 30, 0.1), relbow=(70, 30, 0.5)), 0.4, 0.05, 0.2),
    "Eating": (dict(_SIT, lelbow=(110, 25, 0.0), lsho_flex=(35, 15, 0.0)), 0.25, 0.0, 0.05),
    "Greeting": (dict(_STAND, rsho_abd=(100, 30, 0.0), relbow=(60, 40, 0.25),
                      spine_flex=(10, 10, 0.0)), 0.5, 0.2, 0.2),
    "Phoning": (dict(_STAND, rsho_flex=(40, 5, 0.0), rsho_abd=(35, 5, 0), relbow=(140, 4, 0),
                     neck_flex=(10, 5, 0)), 0.2, 0.1, 0.15),
    "Photo": (dict(_STAND, lsho_flex=(80, 10, 0.0), rsho_flex=(80, 10, 0.0), lelbow=(100, 10, 0),
                   relbow=(100, 10, 0), spine_flex=(15, 10, 0)), 0.2, 0.1, 0.2),
    "Posing": (dict(_STAND, lsho_abd=(70, 30, 0.0), rsho_abd=(60, 30, 0.3), lhip_abd=(15, 8, 0),
                    rhip_abd=(12, 8, 0.5), spine_side=(0, 12, 0.1)), 0.15, 0.0, 0.1),
    "Purchases": (dict(_STAND, spine_flex=(25, 15, 0.0), rsho_flex=(50, 20, 0.0),
                       relbow=(60, 30, 0.2)), 0.3, 0.2, 0.25),
    "Sitting": (_SIT, 0.2, 0.0, 0.05),
    "SittingDown": (dict(_SIT, lhip_flex=(95, 25, 0.0), rhip_flex=(95, 25, 0.0),
                         lknee=(105, 25, 0.0), rknee=(105, 25, 0.0), spine_flex=(35, 20, 0.0),
                         root_pitch=(15, 10, 0.0)), 0.15, 0.0, 0.05),
    "Smoking": (dict(_STAND, rsho_flex=(35, 25, 0.0), relbow=(110, 30, 0.0)), 0.2, 0.05, 0.1),
    "Waiting": (dict(_STAND, spine_side=(0, 8, 0.0), lhip_abd=(5, 5, 0), rhip_abd=(5, 5, 0.5),
                     lsho_flex=(-10, 8, 0), rsho_flex=(-10, 8, 0.5)), 0.15, 0.05, 0.1),
    "WalkDog": (dict(_WALK, rsho_flex=(40, 10, 0.0), relbow=(30, 10, 0.0),
                     spine_flex=(15, 5, 0.0)), 0.9, 0.9, 0.5),
    "Walking": (_WALK, 1.0, 1.2, 0.45),
    "WalkTogether": (dict(_WALK, neck_twist=(30, 10, 0.0), lsho_flex=(0, 8, 0.5)), 0.9, 1.0, 0.4),
}


def _axis_rotation(axis: str, angle: np.ndarray) -> np.ndarray:
    """(F,) radians -> (F, 3, 3) rotation about a coordinate axis."""
    c, s = np.cos(angle), np.sin(angle)
    o, z = np.ones_like(angle), np.zeros_like(angle)
    if axis == "x":
        m = [[o, z, z], [z, c, -s], [z, s, c]]
    elif axis == "y":
        m = [[c, z, s], [z, o, z], [-s, z, c]]
    else:
        m = [[c, -s, z], [s, c, z], [z, z, o]]
    return np.moveaxis(np.array(m), (0, 1), (1, 2))  # (F, 3, 3)


def joint_angles(action: str, num_frames: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Smooth joint-angle trajectories (radians) within the limits of `DOFS`."""
    pattern, freq, _, _ = ACTION_PATTERNS[action]
    t = np.arange(num_frames) / FPS
    freq = freq * rng.uniform(0.8, 1.25)
    phase0 = rng.uniform(0, 1)
    out = {}
    for dof, (_, _, _, lo, hi) in DOFS.items():
        mean, amp, phase = pattern.get(dof, (0.0, 3.0, 0.0))
        mean = mean + rng.normal(0, 6)
        amp = amp * rng.uniform(0.7, 1.3)
        deg = mean + amp * np.sin(2 * np.pi * (freq * t + phase + phase0))
        # Low-frequency personal variation on every joint.
        for _ in range(2):
            deg = deg + rng.uniform(2, 8) * np.sin(2 * np.pi * (rng.uniform(0.05, 0.4) * t + rng.uniform(0, 1)))
        out[dof] = np.deg2rad(np.clip(deg, lo, hi))
    return out


def forward_kinematics(angles: dict[str, np.ndarray], yaw: np.ndarray,
                       bone_length: np.ndarray) -> np.ndarray:
    """Joint angles (radians, F frames) and body yaw -> (F, 17, 3) root-centred positions."""
    F = len(yaw)
    J = H36M17.num_joints
    local = np.tile(np.eye(3), (J, F, 1, 1))  # (J, F, 3, 3) local rotation at each joint
    for dof, (joint, axis, sign, _, _) in DOFS.items():
        local[joint] = local[joint] @ _axis_rotation(axis, sign * angles[dof])
    glob = np.zeros_like(local)
    pos = np.zeros((F, J, 3))
    glob[0] = _axis_rotation("z", yaw) @ local[0]
    for j in range(1, J):
        p = H36M17.parents[j]
        # Bone p -> j is oriented by the parent joint's global frame.
        pos[:, j] = pos[:, p] + (glob[p] @ REST_DIR[j] / np.linalg.norm(REST_DIR[j])) * bone_length[j]
        glob[j] = glob[p] @ local[j]
    return pos


def subject_bones(rng: np.random.Generator) -> np.ndarray:
    """Bone lengths of one subject: a global scale and small symmetric per-bone variation."""
    scale = rng.uniform(0.9, 1.1)
    jitter = rng.normal(1.0, 0.03, size=len(BONE_LENGTH))
    for a, b in zip(H36M17.left, H36M17.right):
        jitter[b] = jitter[a]
    return BONE_LENGTH * scale * jitter


def sequence(action: str, num_frames: int, bones: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One motion sequence: (F, 17, 3) world positions in metres, feet on the floor (z = 0)."""
    _, _, speed, turn = ACTION_PATTERNS[action]
    t = np.arange(num_frames) / FPS
    turn = turn * rng.choice([-1, 1]) * rng.uniform(0.6, 1.4)
    yaw = rng.uniform(0, 2 * np.pi) + turn * t + 0.2 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t)
    pos = forward_kinematics(joint_angles(action, num_frames, rng), yaw, bones)
    # Walk along the facing direction (+y of the body), starting near the centre of the room.
    heading = np.stack([-np.sin(yaw), np.cos(yaw)], axis=-1)  # (F, 2)
    xy = rng.uniform(-0.8, 0.8, size=2) + np.cumsum(heading * speed / FPS, axis=0)
    xy = np.clip(xy, -1.5, 1.5)
    root_z = -pos[:, :, 2].min(axis=1)  # lowest joint touches the floor
    pos[:, :, :2] += xy[:, None, :]
    pos[:, :, 2] += root_z[:, None]
    return pos


def generate(seed: int = 0, frames: int = 40, subjects=SUBJECTS, actions=ACTIONS):
    """-> (positions_3d, positions_2d) dictionaries in the standard layout."""
    rng = np.random.default_rng(seed)
    cams = h36m_cameras()
    pos3d, pos2d = {}, {}
    for subject in subjects:
        bones = subject_bones(rng)
        pos3d[subject], pos2d[subject] = {}, {}
        for action in actions:
            for name in (action, f"{action} 1"):
                p17 = sequence(action, frames, bones, rng)  # (F, 17, 3)
                p32 = np.repeat(p17[:, :1], 32, axis=1)  # unused mocap joints sit at the root
                p32[:, list(H36M17.joints_from_32)] = p17
                pos3d[subject][name] = p32.astype(np.float32)
                pos2d[subject][name] = [
                    project_to_pixels(world_to_camera(p17, cam), cam).astype(np.float32)
                    for cam in cams[subject]
                ]
    return pos3d, pos2d


def _save_npz_atomic(path: Path, **arrays):
    atomic_write(path, lambda f: np.savez_compressed(f, **arrays))


def synthetic_h36m_dir(cache_root=None, seed: int = 0, frames: int = 40) -> Path:
    """Write (once) and return a folder with `data_3d_h36m.npz` and `data_2d_h36m_gt.npz`, under
    `cache_root` (None: the user cache folder, `core.cache_dir`)."""
    root = Path(cache_root) if cache_root is not None else cache_dir()
    folder = root / f"synthetic_h36m_v{GENERATOR_VERSION}_seed{seed}_f{frames}"
    f3, f2 = folder / "data_3d_h36m.npz", folder / "data_2d_h36m_gt.npz"
    if f3.exists() and f2.exists():
        return folder
    pos3d, pos2d = generate(seed=seed, frames=frames)
    meta = {"layout_name": "h36m", "num_joints": 17,
            "keypoints_symmetry": [list(H36M17.left), list(H36M17.right)]}
    try:
        _write(folder, pos3d, pos2d, meta)
    except (OSError, InputError) as e:  # an unusable cache folder costs the cache, never the run
        why = getattr(e, "strerror", None) or str(e)
        folder = Path(tempfile.mkdtemp(prefix="posegraph-builtin-")) / folder.name
        warnings.warn(f"{root}: cannot keep the built-in data there ({why}); using {folder} for this run")
        _write(folder, pos3d, pos2d, meta)
    return folder


def _write(folder: Path, pos3d: dict, pos2d: dict, meta: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _save_npz_atomic(folder / "data_3d_h36m.npz", positions_3d=np.array(pos3d, dtype=object))
    _save_npz_atomic(folder / "data_2d_h36m_gt.npz", positions_2d=np.array(pos2d, dtype=object),
                     metadata=np.array(meta, dtype=object))
