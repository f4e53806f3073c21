import numpy as np
import pytest

from datasets.skeleton import H36M17
from datasets.synthetic.h36m import DOFS, forward_kinematics, generate, joint_angles, subject_bones


def test_seeded_and_deterministic():
    a3, a2 = generate(seed=5, frames=6, subjects=("S1",), actions=("Walking",))
    b3, b2 = generate(seed=5, frames=6, subjects=("S1",), actions=("Walking",))
    c3, _ = generate(seed=6, frames=6, subjects=("S1",), actions=("Walking",))
    np.testing.assert_array_equal(a3["S1"]["Walking"], b3["S1"]["Walking"])
    np.testing.assert_array_equal(a2["S1"]["Walking 1"][3], b2["S1"]["Walking 1"][3])
    assert not np.allclose(a3["S1"]["Walking"], c3["S1"]["Walking"])


def test_bones_keep_their_length_and_feet_touch_the_floor():
    p3, p2 = generate(seed=1, frames=30, subjects=("S5",), actions=("Walking", "Sitting"))
    for name, seq in p3["S5"].items():
        p = seq[:, list(H36M17.joints_from_32)]  # (F, 17, 3)
        for j, parent in enumerate(H36M17.parents):
            if parent >= 0:
                length = np.linalg.norm(p[:, j] - p[:, parent], axis=-1)
                np.testing.assert_allclose(length, length[0], rtol=1e-4)
        np.testing.assert_allclose(p[:, :, 2].min(axis=1), 0, atol=1e-5)
        assert len(p2["S5"][name]) == 4 and p2["S5"][name][0].shape == (30, 17, 2)
    # Sitting keeps the hip low; walking moves the body through the room.
    sit = p3["S5"]["Sitting"][:, 0, 2].mean()
    walk = p3["S5"]["Walking"][:, 0]
    assert sit < 0.65 < walk[:, 2].mean()
    assert np.linalg.norm(walk[-1, :2] - walk[0, :2]) > 0.5


def test_joint_angles_stay_within_limits():
    rng = np.random.default_rng(0)
    for action in ("Walking", "SittingDown", "Greeting"):
        angles = joint_angles(action, 200, rng)
        for dof, (_, _, _, lo, hi) in DOFS.items():
            deg = np.rad2deg(angles[dof])
            assert deg.min() >= lo - 1e-9 and deg.max() <= hi + 1e-9, (action, dof)
    pos = forward_kinematics({d: np.zeros(1) for d in DOFS}, np.zeros(1),
                             subject_bones(np.random.default_rng(0)))
    assert pos[0, 10, 2] > pos[0, 8, 2] > 0 > pos[0, 3, 2]  # head above thorax above hip above foot


def test_an_unusable_cache_folder_still_gives_the_built_in_data(tmp_path, monkeypatch):
    """$POSEGRAPH_CACHE set to a file: a one-line warning and a temporary folder, never a failed run."""
    from datasets.synthetic.h36m import synthetic_h36m_dir
    (tmp_path / "a-file").write_text("x")
    monkeypatch.setenv("POSEGRAPH_CACHE", str(tmp_path / "a-file"))
    with pytest.warns(UserWarning, match="cannot keep the built-in data there"):
        folder = synthetic_h36m_dir(frames=4)
    assert (folder / "data_3d_h36m.npz").exists() and (folder / "data_2d_h36m_gt.npz").exists()
