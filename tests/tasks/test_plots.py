"""tasks/plots.py: the colour link between predicted and ground-truth persons."""
import numpy as np

from tasks.plots import match_to_truth


def _person(x0, y0, n=17, visible=None):
    k = np.zeros((n, 3))
    k[:, 0], k[:, 1], k[:, 2] = x0 + np.arange(n) * 3.0, y0 + np.arange(n) * 6.0, 2
    if visible is not None:
        k[~visible, :] = 0
    return k


def test_predicted_persons_take_the_nearest_truth_or_none():
    truth = [_person(0, 0), _person(200, 0)]
    first_half = np.arange(17) < 8
    pred = [_person(201, 1), _person(0.5, 0, visible=first_half), _person(400, 400),
            _person(0, 0, visible=np.zeros(17, bool))]
    # a person on truth 1; a fragment on truth 0 (compared on its own keypoints); one far from
    # everyone; one with no keypoints
    assert match_to_truth(pred, truth).tolist() == [1, 0, -1, -1]
    assert match_to_truth(pred, []).tolist() == [-1, -1, -1, -1]
