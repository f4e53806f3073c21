"""Test-time flipping on hand-built poses: the mirror image, its inverse, and what averaging does."""
import pytest
import torch

from datasets.pose_graph import SkeletonBatcher
from datasets.skeleton import H36M16
from tasks import lifting

PERM = torch.tensor(H36M16.flip_permutation)


def _pose():
    """A 2D pose (screen coordinates) leaning to the image's right, right arm raised."""
    x = torch.zeros(1, 16, 2)
    for j, (u, v) in enumerate([(0.10, 0.0), (0.00, 0.0), (0.00, 0.4), (0.00, 0.8),  # pelvis, right leg
                                (0.20, 0.0), (0.20, 0.4), (0.20, 0.8),  # left leg
                                (0.12, -0.4), (0.14, -0.6), (0.15, -0.8),  # spine, thorax, head
                                (0.30, -0.6), (0.35, -0.3), (0.40, 0.0),  # left arm
                                (0.00, -0.6), (-0.10, -0.9), (-0.15, -1.2)]):  # right arm, raised
        x[0, j] = torch.tensor([u, v])
    return x


def _mirrored_by_hand():
    """The same pose in a mirror, written out: x negated, left and right limbs exchanged."""
    x = torch.zeros(1, 16, 2)
    for j, (u, v) in enumerate([(-0.10, 0.0), (-0.20, 0.0), (-0.20, 0.4), (-0.20, 0.8),  # right leg: was left
                                (0.00, 0.0), (0.00, 0.4), (0.00, 0.8),  # left leg: was right
                                (-0.12, -0.4), (-0.14, -0.6), (-0.15, -0.8),
                                (0.00, -0.6), (0.10, -0.9), (0.15, -1.2),  # left arm: was right, raised
                                (-0.30, -0.6), (-0.35, -0.3), (-0.40, 0.0)]):
        x[0, j] = torch.tensor([u, v])
    return x


def test_mirror_matches_the_hand_built_mirror_image_and_is_its_own_inverse():
    x, m = _pose(), _mirrored_by_hand()
    torch.testing.assert_close(lifting.mirror(x, PERM), m)
    torch.testing.assert_close(lifting.mirror(m, PERM), x)
    y = torch.randn(3, 16, 3)  # 3D: x negated, y and z kept
    back = lifting.mirror(y, PERM)
    torch.testing.assert_close(back[:, PERM, 1:], y[:, :, 1:])
    torch.testing.assert_close(lifting.mirror(back, PERM), y)


def test_flip_tested_predictions_of_mirror_images_are_mirror_images():
    """For any model, flip testing makes the prediction for the mirror image the mirror of the
    prediction; a plain model (here untrained) does not do that by itself."""
    torch.manual_seed(0)
    model = lifting.model_from_spec(lifting.model_spec(lifting.LiftingModelConfig(hidden=16, blocks=1), H36M16)).eval()
    t = H36M16.edge_index()
    x, m = _pose(), _mirrored_by_hand()
    with torch.no_grad():
        f_x, f_m = lifting.flip_tested(model, x, t, PERM), lifting.flip_tested(model, m, t, PERM)
        plain_x, plain_m = model(x, t), model(m, t)
    torch.testing.assert_close(f_m, lifting.mirror(f_x, PERM), atol=1e-6, rtol=1e-5)
    assert not torch.allclose(plain_m, lifting.mirror(plain_x, PERM), atol=1e-3)
    torch.testing.assert_close(f_x, 0.5 * (plain_x + lifting.mirror(plain_m, PERM)))


class _Biased(torch.nn.Module):
    """A 'lifter' that puts each joint at (u, v, 1) but shifts every x by +0.05: the sort of
    left-right bias flipping averages away."""

    def forward(self, x, template):
        return torch.cat([x[..., :1] + 0.05, x[..., 1:], torch.ones_like(x[..., :1])], dim=-1)


def test_flipping_cancels_a_left_right_bias_and_predict_all_applies_it():
    x = _pose()
    exact = torch.cat([x, torch.ones_like(x[..., :1])], dim=-1)
    torch.testing.assert_close(lifting.flip_tested(_Biased(), x, None, PERM), exact)
    batcher = SkeletonBatcher(H36M16, torch.cat([x, _mirrored_by_hand()]))
    plain = lifting.predict_all(_Biased(), batcher, batch_size=1)
    flipped = lifting.predict_all(_Biased(), batcher, batch_size=1, flip=True)
    assert plain[..., 0].sub(torch.cat([x, _mirrored_by_hand()])[..., 0]).mean() == pytest.approx(0.05)
    torch.testing.assert_close(flipped[..., :2], torch.cat([x, _mirrored_by_hand()]))


def test_flip_average_of_two_passes_equals_predict_all_with_flip():
    """evaluate.py scores the flip test from its plain predictions and those of the mirror images
    (one extra pass); that equals predicting with `flip=True`."""
    torch.manual_seed(0)
    model = lifting.model_from_spec(lifting.model_spec(lifting.LiftingModelConfig(hidden=16, blocks=1), H36M16))
    batcher = SkeletonBatcher(H36M16, torch.randn(700, 16, 2))
    plain = lifting.predict_all(model, batcher, 256)
    of_mirror = lifting.predict_all(model, SkeletonBatcher(H36M16, lifting.mirror(batcher.x2d, PERM)), 256)
    torch.testing.assert_close(lifting.flip_average(plain, of_mirror, PERM),
                               lifting.predict_all(model, batcher, 256, flip=True), atol=1e-6, rtol=1e-6)


def test_mirror_half_mirrors_the_chosen_poses_in_2d_and_3d_alike_and_repeats():
    from tasks.lifting import mirror, mirror_half
    sk = H36M16
    perm = torch.tensor(sk.flip_permutation)
    x, y = torch.randn(200, 16, 2), torch.randn(200, 16, 3)
    x2, y2 = mirror_half(x, y, sk.flip_permutation, torch.Generator().manual_seed(5))
    x3, _ = mirror_half(x, y, sk.flip_permutation, torch.Generator().manual_seed(5))
    assert torch.equal(x2, x3)  # the run's generator decides, so resumes repeat
    chosen = (x2 != x).flatten(1).any(1)
    assert 60 < int(chosen.sum()) < 140  # about half
    assert torch.equal(x2[chosen], mirror(x[chosen], perm)) and torch.equal(y2[chosen], mirror(y[chosen], perm))
    assert torch.equal(x2[~chosen], x[~chosen]) and torch.equal(y2[~chosen], y[~chosen])
