import shutil
import warnings

import numpy as np
import pytest

from datasets.cameras import h36m_cameras, project_to_pixels, unnormalize_screen
from core.errors import InputError
from datasets.h36m import TEST_SUBJECTS, H36MWarning, base_action, load_h36m


def _read(folder, name):
    with np.load(folder / name, allow_pickle=True) as f:
        return {k: f[k] for k in f.files}


def _write(folder, name, **arrays):
    np.savez(folder / name, **{k: np.array(v, dtype=object) if isinstance(v, dict) else v
                               for k, v in arrays.items()})


@pytest.fixture
def h36m_copy(tiny_h36m, tmp_path):
    """A writable copy of the tiny synthetic data, plus its dictionaries."""
    for f in tiny_h36m.iterdir():
        shutil.copy(f, tmp_path / f.name)
    p3 = _read(tmp_path, "data_3d_h36m.npz")["positions_3d"].item()
    p2 = _read(tmp_path, "data_2d_h36m_gt.npz")["positions_2d"].item()
    return tmp_path, p3, p2


def test_reads_the_standard_layout(tiny_h36m):
    test = load_h36m(tiny_h36m, "gt", 16, TEST_SUBJECTS)
    # 2 subjects x 15 actions x 2 sequences x 4 cameras x 8 frames
    assert len(test) == 2 * 15 * 2 * 4 * 8
    assert test.x2d.shape == (len(test), 16, 2) and test.y3d.shape == (len(test), 16, 3)
    assert test.x2d.dtype == np.float32
    np.testing.assert_allclose(test.y3d[:, 0], 0)  # root-relative
    assert len(test.actions) == 15 and "Walking 1" not in test.actions
    assert set(np.unique(test.camera)) == {0, 1, 2, 3}


def test_camera_frame_3d_reprojects_to_the_2d_input(tiny_h36m):
    """3D in the camera frame + the root's camera position projects onto the 2D input."""
    p3 = _read(tiny_h36m, "data_3d_h36m.npz")["positions_3d"].item()
    poses = load_h36m(tiny_h36m, "gt", 17, ["S9"], actions=["Eating"])
    cams = h36m_cameras()["S9"]
    sel = (poses.camera == 2)
    root_world = p3["S9"]["Eating"][:, 0]  # (N, 3)
    cam = cams[2]
    root_cam = (root_world - cam.T) @ cam.R.T
    pts = poses.y3d[sel][:8] + root_cam[:, None]  # first sequence, camera 2
    uv = project_to_pixels(pts.astype(np.float64), cam)
    np.testing.assert_allclose(uv, unnormalize_screen(poses.x2d[sel][:8], cam.width, cam.height),
                               atol=1e-2)


def test_joint_modes_downsample_and_action_filter(tiny_h36m):
    p17 = load_h36m(tiny_h36m, "gt", 17, ["S1"], actions=["Walking"])
    p16 = load_h36m(tiny_h36m, "gt", 16, ["S1"], actions=["Walking"], downsample=3)
    assert p17.actions == ["Walking"] and len(p17) == 2 * 4 * 8  # Walking and Walking 1
    assert len(p16) == 2 * 4 * 3  # frames 0, 3, 6 of each sequence
    np.testing.assert_allclose(p16.x2d[0], np.delete(p17.x2d[0], 9, axis=0))
    assert base_action("Walking 1") == "Walking"
    one = load_h36m(tiny_h36m, "gt", 17, ["S1"], actions=["Walking 1"])  # a single sequence by name
    assert len(one) == 4 * 8 and one.actions == ["Walking"]


def test_missing_sequences_are_skipped_with_a_warning(h36m_copy):
    folder, p3, p2 = h36m_copy
    del p2["S9"]["Eating 1"]
    _write(folder, "data_2d_h36m_gt.npz", positions_2d=p2)
    with pytest.warns(H36MWarning, match=r"S9/Eating 1 \(missing from data_2d_h36m_gt.npz\)"):
        poses = load_h36m(folder, "gt", 16, ["S9"])
    assert poses.skipped == ["S9/Eating 1 (missing from data_2d_h36m_gt.npz)"]


def test_cameras_stacked_in_one_array_are_read_as_four_views(h36m_copy):
    folder, p3, p2 = h36m_copy
    before = load_h36m(folder, "gt", 16, ["S9"], actions=["Eating"])
    p2["S9"]["Eating"] = np.stack(p2["S9"]["Eating"])  # (4, N, 17, 2): the message once said "4 cameras, expected 4"
    _write(folder, "data_2d_h36m_gt.npz", positions_2d=p2)
    after = load_h36m(folder, "gt", 16, ["S9"], actions=["Eating"])
    np.testing.assert_array_equal(before.x2d, after.x2d)


def test_longer_2d_is_cut_to_the_3d_length(h36m_copy):
    folder, p3, p2 = h36m_copy
    p2["S9"]["Eating"] = [np.concatenate([v, v[:3]]) for v in p2["S9"]["Eating"]]
    _write(folder, "data_2d_h36m_gt.npz", positions_2d=p2)
    assert len(load_h36m(folder, "gt", 16, ["S9"], actions=["Eating"])) == 2 * 4 * 8


def _corrupt(folder, p3, p2, what):
    if what == "3 cameras":
        p2["S9"]["Eating"] = p2["S9"]["Eating"][:3]
    elif what == "millimetres":
        p3["S9"]["Eating"] = p3["S9"]["Eating"] * 1000
    elif what == "normalised 2d":
        p2["S9"]["Eating"] = [np.clip(v / 1000 - 0.5, -1, 1) for v in p2["S9"]["Eating"]]
    elif what == "short 2d":
        p2["S9"]["Eating"] = [v[:5] for v in p2["S9"]["Eating"]]
    elif what == "nan":
        p3["S9"]["Eating"][2, 3, 1] = np.nan
    elif what == "inf 2d":
        p2["S9"]["Eating"][1][0, 0, 0] = np.inf
    elif what == "joints 3d":
        p3["S9"]["Eating"] = p3["S9"]["Eating"][:, :17]
    elif what == "joints 2d":
        p2["S9"]["Eating"] = [v[:, :15] for v in p2["S9"]["Eating"]]
    elif what == "strings":
        p3["S9"]["Eating"] = np.array([["a"]])
    _write(folder, "data_3d_h36m.npz", positions_3d=p3)
    _write(folder, "data_2d_h36m_gt.npz", positions_2d=p2)


@pytest.mark.parametrize("what,message", [
    ("3 cameras", r"^data_2d_h36m_gt.npz: subject S9 action Eating has 3 camera view\(s\), expected Human3.6M's 4$"),
    ("millimetres", r"^data_3d_h36m.npz: subject S9 action Eating has joints \d+ units from the pelvis: positions "
                    r"must be in metres \(millimetres\? divide by 1000\)$"),
    ("normalised 2d", r"^data_2d_h36m_gt.npz: subject S9 action Eating camera 0 has coordinates within \+-[0-9.]+: 2D "
                      r"positions must be in image pixels"),
    ("short 2d", r"^data_2d_h36m_gt.npz: subject S9 action Eating camera 0 has 5 frames, fewer than the 8 of data_3d_h36m.npz$"),
    ("nan", r"^data_3d_h36m.npz: subject S9 action Eating contains NaN or inf$"),
    ("inf 2d", r"^data_2d_h36m_gt.npz: subject S9 action Eating camera 1 contains NaN or inf$"),
    ("joints 3d", r"^data_3d_h36m.npz: subject S9 action Eating has shape \(8, 17, 3\), expected \(N, 32, 3\)"),
    ("joints 2d", r"^data_2d_h36m_gt.npz: subject S9 action Eating camera 0 has shape \(8, 15, 2\)"),
    ("strings", r"^data_3d_h36m.npz: subject S9 action Eating is not a numeric array$"),
])
def test_bad_sequences_give_one_line_errors(h36m_copy, what, message):
    folder, p3, p2 = h36m_copy
    _corrupt(folder, p3, p2, what)
    with pytest.raises(InputError, match=message):
        load_h36m(folder, "gt", 16, ["S9"])


def test_bad_files_give_one_line_errors(h36m_copy, tmp_path_factory):
    folder, p3, p2 = h36m_copy
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(InputError, match=r"data_3d_h36m.npz: file not found$"):
        load_h36m(empty, "gt", 16)
    with pytest.raises(InputError, match=r"data_2d_h36m_cpn_ft_h36m_dbb.npz: file not found$"):
        load_h36m(folder, "cpn_ft_h36m_dbb", 16)
    with pytest.raises(InputError, match=r"^keypoints foo: unknown keypoints"):
        load_h36m(folder, "foo", 16)
    (folder / "data_3d_h36m.npz").write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match=r"^data_3d_h36m.npz: not a readable .npz file"):
        load_h36m(folder, "gt", 16)
    np.savez(folder / "data_3d_h36m.npz", poses=np.zeros(3))
    with pytest.raises(InputError, match=r"^data_3d_h36m.npz: missing key 'positions_3d' \(has: poses\)$"):
        load_h36m(folder, "gt", 16)
    np.savez(folder / "data_3d_h36m.npz", positions_3d=np.zeros(3))
    with pytest.raises(InputError, match=r"'positions_3d' is not a subject -> action dictionary$"):
        load_h36m(folder, "gt", 16)
    (folder / "data_3d_h36m.npz").write_bytes(b"")
    with pytest.raises(InputError, match=r"^data_3d_h36m.npz: not a readable .npz file"):
        load_h36m(folder, "gt", 16)


def test_sixteen_joint_files_and_bad_filters(h36m_copy):
    folder, p3, p2 = h36m_copy
    sh = {s: {a: [v[:, [j for j in range(17) if j != 9]] for v in views] for a, views in acts.items()}
          for s, acts in p2.items()}
    _write(folder, "data_2d_h36m_sh_ft_h36m.npz", positions_2d=sh)
    assert len(load_h36m(folder, "sh_ft_h36m", 16, ["S9"])) == 15 * 2 * 4 * 8
    with pytest.raises(InputError, match=r"has 16 joints per pose, use joints 16$"):
        load_h36m(folder, "sh_ft_h36m", 17, ["S9"])
    with pytest.raises(InputError, match=r"^actions: no sequence of action 'Dancing'"):
        load_h36m(folder, "gt", 16, ["S9"], actions=["Dancing"])
    with pytest.raises(InputError, match=r"^downsample 0: must be a positive integer"):
        load_h36m(folder, "gt", 16, downsample=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_h36m(folder, str(folder / "data_2d_h36m_gt.npz"), 16, ["S11"])  # a path works
