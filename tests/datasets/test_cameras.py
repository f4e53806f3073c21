import numpy as np

from datasets.cameras import (h36m_cameras, normalize_screen, project_to_pixels,
                              unnormalize_screen, world_to_camera)


def test_camera_centre_and_optical_axis():
    cam = h36m_cameras()["S9"][1]
    np.testing.assert_allclose(world_to_camera(cam.T, cam), 0, atol=1e-12)
    # A point on the optical axis (third row of R) projects to the principal point.
    on_axis = cam.T + 3.0 * cam.R[2]
    np.testing.assert_allclose(world_to_camera(on_axis, cam), [0, 0, 3.0], atol=1e-9)
    np.testing.assert_allclose(project_to_pixels(world_to_camera(on_axis, cam), cam), cam.c, atol=1e-9)


def test_projection_follows_the_documented_distortion_model():
    cam = h36m_cameras()["S1"][0]
    X = np.array([0.3, -0.2, 4.0])
    x, y = X[0] / X[2], X[1] / X[2]
    r2 = x * x + y * y
    k1, k2, k3 = cam.k
    p1, p2 = cam.p
    radial = 1 + k1 * r2 + k2 * r2 ** 2 + k3 * r2 ** 3
    tan = p1 * x + p2 * y
    u = cam.f[0] * (x * (radial + tan) + p1 * r2) + cam.c[0]
    v = cam.f[1] * (y * (radial + tan) + p2 * r2) + cam.c[1]
    np.testing.assert_allclose(project_to_pixels(X, cam), [u, v], rtol=1e-12)


def test_screen_normalisation_round_trip_and_values():
    uv = np.array([[0.0, 0.0], [1000.0, 1002.0], [500.0, 501.0]])
    xy = normalize_screen(uv, 1000, 1002)
    np.testing.assert_allclose(xy[0], [-1, -1.002])
    np.testing.assert_allclose(xy[1], [1, 1.002])
    np.testing.assert_allclose(unnormalize_screen(xy, 1000, 1002), uv)
    assert len(h36m_cameras()) == 11 and all(len(c) == 4 for c in h36m_cameras().values())
