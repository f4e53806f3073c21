import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from tasks.lifting import action_wise, make_scheduler, mpjpe, p_mpjpe


def test_mpjpe_known_value_and_root_recentring():
    target = torch.zeros(1, 3, 3)
    pred = torch.tensor([[[0.0, 0, 0], [3, 4, 0], [0, 0, 2]]])
    assert mpjpe(pred, target).item() == pytest.approx((0 + 5 + 2) / 3)
    # A translated prediction has the same error after re-centring on the root.
    assert mpjpe(pred + 10.0, target).item() == pytest.approx(7 / 3)
    with pytest.raises(AssertionError):
        mpjpe(torch.zeros(2, 3, 3), torch.zeros(2, 4, 3))


def _reference_p_mpjpe(pred, target):
    """Independent reference: scipy's proper-rotation fit (Kabsch), then the optimal scale."""
    P = pred - pred.mean(0)
    T = target - target.mean(0)
    rot, _ = Rotation.align_vectors(T, P)  # proper rotation minimising |T - R P|
    RP = rot.apply(P)
    s = (T * RP).sum() / (P * P).sum()
    return np.linalg.norm(s * RP - T, axis=-1).mean()


def test_p_mpjpe_matches_a_reference_and_is_similarity_invariant():
    rng = np.random.default_rng(0)
    target = rng.normal(size=(6, 16, 3))
    pred = target + rng.normal(scale=0.2, size=target.shape)
    ours = p_mpjpe(torch.tensor(pred), torch.tensor(target)).numpy()
    ref = [_reference_p_mpjpe(p, t) for p, t in zip(pred, target)]
    np.testing.assert_allclose(ours, ref, rtol=1e-6)
    # A rotated, scaled and shifted copy of the target has zero error.
    R = torch.tensor(Rotation.random(random_state=1).as_matrix())
    moved = 2.5 * torch.tensor(target) @ R.T + torch.tensor([1.0, -2.0, 3.0])
    assert p_mpjpe(moved, torch.tensor(target)).abs().max() < 1e-9


def test_p_mpjpe_excludes_reflections():
    rng = np.random.default_rng(1)
    target = torch.tensor(rng.normal(size=(1, 16, 3)))
    mirrored = target * torch.tensor([-1.0, 1.0, 1.0])
    assert p_mpjpe(mirrored, target).item() > 0.1  # a reflection would fit it exactly
    np.testing.assert_allclose(p_mpjpe(mirrored, target).numpy(),
                               [_reference_p_mpjpe(mirrored[0].numpy(), target[0].numpy())], rtol=1e-6)


def test_action_wise_average_is_a_mean_of_action_means():
    errors = torch.tensor([1.0, 3.0, 10.0, 0.0])
    actions = torch.tensor([0, 0, 1, 2])
    avg, per = action_wise(errors, actions, ["Walking", "Eating", "Sitting", "Posing"])
    assert per == {"Walking": 2.0, "Eating": 10.0, "Sitting": 0.0}
    assert avg == pytest.approx(4.0)  # not the pose mean 3.5


def test_staircase_learning_rate_schedule():
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched = make_scheduler(opt, 0.96, 10)
    lrs = []
    for _ in range(25):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[9] == pytest.approx(1e-3) and lrs[10] == pytest.approx(0.96e-3)
    assert lrs[24] == pytest.approx(1e-3 * 0.96 ** 2)


def test_the_loss_curve_says_what_the_loss_is():
    """`modulated` trains on MSE + 0.1 x L1: its curve is not labelled as a plain MSE."""
    from tasks.lifting import LiftingConfig, LiftingModelConfig, loss_description
    assert loss_description(LiftingConfig().effective_l1_weight) == "training loss: MSE (m²) + 0.1 x L1 (m)"
    assert loss_description(LiftingConfig(model=LiftingModelConfig("semgcn")).effective_l1_weight) == \
        "training loss: MSE (m²)"
