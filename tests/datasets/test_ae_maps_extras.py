"""The synthesiser's extra artifacts (`EXTRAS`) and the fourth (validation) map generator."""
import dataclasses

import numpy as np
import pytest

from core.errors import InputError
from datasets.synthetic.ae_maps import EXTRAS, SynthConfig, _box_blur, synthesize_maps, with_artifacts
from datasets.synthetic.ae_maps_fourth import synthesize_maps_fourth
from datasets.graph.candidate_graph import build_graph
from datasets.graph.config import GraphConfig
from datasets.graph.labels import label_graph
from datasets.skeleton import COCO17
from tasks.cli import synth_config
from tasks.grouping.config import GroupingConfig
from tests.conftest import person_column

ANNS = [person_column(1, 50, 40), person_column(2, 400, 40)]


def _maps(cfg, anns=ANNS, seed=0):
    return synthesize_maps(640, 480, anns, 17, cfg, np.random.default_rng(seed), COCO17.flip_permutation)


def test_calibration_scales_every_peak_and_blur_is_a_box_blur_of_the_same_draw():
    base = SynthConfig()
    plain = _maps(base)
    half = _maps(dataclasses.replace(base, calibration=0.5))
    np.testing.assert_allclose(half.heatmaps, 0.5 * plain.heatmaps, rtol=1e-6, atol=1e-7)
    assert np.array_equal(half.tags, plain.tags)
    blurred = _maps(dataclasses.replace(base, tag_blur=2))
    np.testing.assert_allclose(blurred.tags, _box_blur(_box_blur(plain.tags)), atol=1e-6)
    assert np.array_equal(blurred.heatmaps, plain.heatmaps)
    flat = np.full((1, 4, 5, 1), 3.0, np.float32)
    assert np.allclose(_box_blur(flat), 3.0)  # a constant map stays constant (edges replicated)


def test_swaps_put_left_and_right_joints_at_each_others_places():
    clean = SynthConfig.clean()
    kps = np.asarray(ANNS[0]["keypoints"]).reshape(17, 3)
    swapped = _maps(dataclasses.replace(clean, swap_prob=1.0), ANNS[:1])
    factor = swapped.factor
    for k, j in ((5, 6), (9, 10), (15, 16)):  # shoulders, wrists, ankles
        y, x = np.unravel_index(swapped.heatmaps[k].argmax(), swapped.heatmaps[k].shape)
        assert np.allclose([x, y], kps[j, :2] / factor, atol=1.0)
    nose = _maps(dataclasses.replace(clean, swap_prob=1.0), ANNS[:1]).heatmaps[0]
    assert np.array_equal(nose, _maps(clean, ANNS[:1]).heatmaps[0])  # no twin: in place


def test_merged_peaks_of_two_close_people_sum_and_stay_within_one():
    clean = SynthConfig.clean(sigma_range=(3.0, 3.0))
    close = [person_column(1, 100, 40), person_column(2, 104, 40)]  # 4 px apart: one heatmap pixel
    top = _maps(clean, close).heatmaps.max(axis=(1, 2))
    merged = _maps(dataclasses.replace(clean, merge_peaks=True), close).heatmaps
    assert np.all(top > 0.99) and np.all(top <= 1.0)
    assert np.allclose(merged.max(axis=(1, 2)), 1.0)  # the sum, above 1, clipped at 1
    lower = dataclasses.replace(clean, merge_peaks=True, calibration=0.4)
    assert np.all(_maps(lower, close).heatmaps.max(axis=(1, 2)) > 0.7)  # two peaks of 0.4 added


def test_false_peaks_near_people_and_background_people_add_candidates():
    clean = SynthConfig.clean()
    counts = {}
    for name, cfg in (("none", clean), ("near", dataclasses.replace(clean, fp_near=3.0)),
                      ("people", dataclasses.replace(clean, fp_people=3.0))):
        counts[name] = sum(int(build_graph(_maps(cfg, seed=s), COCO17, GraphConfig()).num_nodes) for s in range(4))
    assert counts["none"] == 4 * 34  # every joint of both people, nothing else
    assert counts["near"] > counts["none"] + 8 and counts["people"] > counts["none"] + 8


def test_extras_draw_in_range_in_a_fixed_order_and_only_when_named():
    base = SynthConfig()
    assert with_artifacts(base, np.random.default_rng(0)) == with_artifacts(base, np.random.default_rng(0), ())
    one = with_artifacts(base, np.random.default_rng(0), ("swaps", "calibration"))
    assert one == with_artifacts(base, np.random.default_rng(0), ("calibration", "swaps"))
    assert one.fp_near == 0 and not one.merge_peaks
    for s in range(30):
        c = with_artifacts(base, np.random.default_rng(s), EXTRAS)
        assert 0.35 <= c.calibration <= 1 and 0 <= c.swap_prob <= 0.15 and c.tag_blur in (0, 1, 2)
        assert 0 <= c.fp_near <= 1.5 and 0 <= c.fp_people <= 1.5


def test_extras_settings_are_checked():
    with pytest.raises(InputError, match="synth_extras"):
        GroupingConfig(synth_extras=("clouds",))
    with pytest.raises(InputError, match="calibration"):
        SynthConfig(calibration=0.0)
    assert synth_config(["merge_peaks=false"]).merge_peaks is False
    assert synth_config(["merge_peaks=true", "tag_blur=2"]).tag_blur == 2
    with pytest.raises(InputError, match="true or false"):
        synth_config(["merge_peaks=maybe"])
    old = GroupingConfig().to_dict()
    del old["synth_extras"]
    assert GroupingConfig.from_dict(old).synth_extras == ()  # checkpoints from before: none


def test_fourth_generator_geometry_and_people():
    found = 0
    for seed in range(4):
        maps = synthesize_maps_fourth(640, 480, ANNS, COCO17, np.random.default_rng(seed))
        assert maps.heatmaps.shape == (17, 240, 320) and maps.tags.shape == (17, 120, 160, 1)
        assert np.allclose(maps.factor, 2.0) and np.all(np.isfinite(maps.tags))
        assert 0 <= maps.heatmaps.min() and maps.heatmaps.max() <= 1
        persons = np.stack([np.asarray(a["keypoints"]).reshape(17, 3) for a in ANNS])
        g = label_graph(build_graph(maps, COCO17, GraphConfig()), persons, np.array([20400.0] * 2), GraphConfig())
        found += int((g.person >= 0).sum())
    assert found >= 4 * 34 * 0.8
    big = synthesize_maps_fourth(2000, 1000, ANNS, COCO17, np.random.default_rng(0))
    assert big.heatmaps.shape[1:] == (160, 320)  # long side capped
    again = synthesize_maps_fourth(640, 480, ANNS, COCO17, np.random.default_rng(3))
    assert np.array_equal(again.tags, synthesize_maps_fourth(640, 480, ANNS, COCO17, np.random.default_rng(3)).tags)


def test_scoring_a_run_trained_with_extras_draws_plain_maps():
    """The person floor (after training) and `evaluate.py grouping` synthesise plain maps or read
    them: the run's extras and validation draws are dropped, not an error."""
    from tasks.grouping.evaluation import eval_config
    cfg = eval_config(GroupingConfig(synth_extras=EXTRAS, val_copies=4), None, "cpu")
    assert not cfg.synth_artifacts and cfg.synth_extras == () and not cfg.synth_randomize
    assert eval_config(GroupingConfig(val_copies=4), "maps/", "cpu").val_copies == 1  # read maps: one draw
