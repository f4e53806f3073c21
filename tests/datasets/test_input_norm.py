"""The camera-independent input normalisation and the turned (virtual) camera."""
import numpy as np

from datasets.cameras import normalize_screen
from datasets.input_norm import normalize_pose, virtual_camera


def test_pose_normalisation_ignores_image_size_scale_and_position():
    rng = np.random.default_rng(0)
    px = rng.uniform(100, 500, size=(5, 16, 2))
    ref = normalize_pose(px)
    np.testing.assert_allclose(ref[:, 0], 0, atol=1e-12)  # centred on the root
    np.testing.assert_allclose(np.sqrt((ref ** 2).sum(-1).mean(-1)), 1)  # unit RMS size
    for w, h in ((640, 360), (1920, 1080), (1000, 1002)):  # SemGCN's screen coordinates first: the same
        np.testing.assert_allclose(normalize_pose(normalize_screen(px, w, h)), ref, atol=1e-12)
    np.testing.assert_allclose(normalize_pose(px * 3.7 + np.array([40.0, -12.0])), ref, atol=1e-12)
    assert not np.allclose(normalize_screen(px, 640, 360), normalize_screen(px, 1920, 1080))


def test_virtual_camera_turns_the_root_onto_the_axis():
    rng = np.random.default_rng(1)
    f, c = 700.0, np.array([640.0, 360.0])
    P = rng.normal(size=(16, 3)) * 0.3 + np.array([1.4, -0.6, 4.0])  # off-centre, camera frame
    px = P[:, :2] / P[:, 2:] * f + c
    turned, R = virtual_camera(px, f, c)
    np.testing.assert_allclose(turned[0], c, atol=1e-9)  # the root in the middle of the picture
    Pt = P @ R.T  # the same points in the turned camera's frame
    np.testing.assert_allclose(Pt[:, :2] / Pt[:, 2:] * f + c, turned, atol=1e-9)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    centred = px - px[0] + c  # a person already on the axis: nothing turns
    t2, R2 = virtual_camera(centred, f, c)
    np.testing.assert_allclose(R2, np.eye(3)), np.testing.assert_allclose(t2, centred, atol=1e-9)
