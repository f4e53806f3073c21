"""Random training cameras (`--augment cameras`): what the views are, and that they repeat."""
import math

import numpy as np
import pytest
import torch

from datasets import camera_augment
from datasets.camera_augment import random_views
from datasets.input_norm import normalize_pose


def _poses(P=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = 0.3 * torch.randn(P, 16, 3, generator=g)
    return y - y[:, :1]  # root-relative


def test_torch_normalisation_equals_numpy():
    x = torch.randn(5, 16, 2, dtype=torch.float64)
    np.testing.assert_allclose(normalize_pose(x).numpy(), normalize_pose(x.numpy()), atol=1e-12)
    assert normalize_pose(x.float()).dtype == torch.float32
    assert normalize_pose(x.numpy().astype(np.float32)).dtype == np.float32


def test_views_are_perspective_projections_of_the_pose_and_repeat(monkeypatch):
    y = _poses()
    x = normalize_pose(y[..., :2] / (y[..., 2:] + 5.0))  # "original" inputs: 5 m away on the axis
    a = random_views(x, y, torch.Generator().manual_seed(3))
    b = random_views(x, y, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)  # the same draws from the same generator state
    changed = ~torch.isclose(a, x).all(dim=(1, 2))
    assert 0.3 < changed.float().mean() < 0.7  # about half replaced
    # Far away on the optical axis, a view is the pose's orthographic shadow (weak perspective).
    monkeypatch.setattr(camera_augment, "DISTANCE_M", (1e4, 1e4 + 1e-3))
    monkeypatch.setattr(camera_augment, "OFF_AXIS_DEG", 1e-6)
    far = random_views(x, y, torch.Generator().manual_seed(4), fraction=1.0)
    torch.testing.assert_close(far, normalize_pose(y[..., :2]), atol=1e-3, rtol=1e-3)


def test_near_and_off_centre_views_differ_from_the_axis_view(monkeypatch):
    """A person 1.5 m away, 40 degrees off the axis: a visibly different 2D input."""
    y = _poses(8)
    monkeypatch.setattr(camera_augment, "DISTANCE_M", (1.5, 1.5 + 1e-6))
    near = random_views(torch.zeros(8, 16, 2), y, torch.Generator().manual_seed(0), fraction=1.0)
    ortho = normalize_pose(y[..., :2])
    assert (near - ortho).abs().amax() > 0.1
    assert torch.isfinite(near).all()
    assert math.isclose(float(near[..., 0, :].abs().max()), 0.0, abs_tol=1e-6)  # centred on the root


def test_cameras_need_the_pose_normalisation():
    from core.errors import InputError
    from tasks.lifting import LiftingConfig
    with pytest.raises(InputError, match="needs .?input_norm.? pose"):
        LiftingConfig(augment="cameras")
    LiftingConfig(augment="cameras", input_norm="pose")
