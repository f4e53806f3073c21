"""The third (test-only) map generator and the synthesiser's artifacts."""
import dataclasses

import numpy as np

from datasets.synthetic.ae_maps import SynthConfig, synthesize_maps, with_artifacts
from datasets.synthetic.ae_maps_third import synthesize_maps_third
from datasets.graph.candidate_graph import build_graph
from datasets.graph.config import GraphConfig
from datasets.graph.labels import label_graph
from datasets.skeleton import COCO17
from tests.conftest import person_column


def test_third_generator_maps_geometry_and_people():
    anns = [person_column(1, 50, 40), person_column(2, 400, 40)]
    found = 0
    for seed in range(4):
        maps = synthesize_maps_third(640, 480, anns, COCO17, np.random.default_rng(seed))
        assert maps.heatmaps.shape == (17, 120, 160) and maps.tags.shape == (17, 60, 80, 1)  # tags at half
        assert np.allclose(maps.factor, 4.0) and np.all(np.isfinite(maps.tags))
        assert 0 <= maps.heatmaps.min() and maps.heatmaps.max() <= 1
        persons = np.stack([np.asarray(a["keypoints"]).reshape(17, 3) for a in anns])
        g = label_graph(build_graph(maps, COCO17, GraphConfig()), persons, np.array([20400.0] * 2), GraphConfig())
        found += int((g.person >= 0).sum())
    assert found >= 4 * 34 * 0.8
    again = synthesize_maps_third(640, 480, anns, COCO17, np.random.default_rng(3))
    assert np.array_equal(again.heatmaps, synthesize_maps_third(640, 480, anns, COCO17, np.random.default_rng(3)).heatmaps)


def test_third_generator_misses_joints_labelled_occluded():
    visible = [person_column(1, 50, 40, v=2)]
    occluded = [person_column(1, 50, 40, v=1)]
    count = {}
    for name, anns in (("visible", visible), ("occluded", occluded)):
        n = 0
        for seed in range(10):
            maps = synthesize_maps_third(640, 480, anns, COCO17, np.random.default_rng(seed))
            g = build_graph(maps, COCO17, GraphConfig())
            n += int(g.num_nodes)
        count[name] = n
    assert count["occluded"] < 0.85 * count["visible"]


def test_artifacts_off_leave_the_maps_unchanged_and_ghosts_appear_when_on():
    anns = [person_column(1, 50, 40), person_column(2, 400, 40)]
    plain = synthesize_maps(640, 480, anns, 17, SynthConfig(), np.random.default_rng(0))
    with_mirror = synthesize_maps(640, 480, anns, 17, SynthConfig(), np.random.default_rng(0), COCO17.flip_permutation)
    assert np.array_equal(plain.heatmaps, with_mirror.heatmaps) and np.array_equal(plain.tags, with_mirror.tags)
    clean = SynthConfig.clean()
    ghosts = synthesize_maps(640, 480, anns[:1], 17, dataclasses.replace(clean, ghost_prob=1.0),
                             np.random.default_rng(0), COCO17.flip_permutation)
    base = synthesize_maps(640, 480, anns[:1], 17, clean, np.random.default_rng(0), COCO17.flip_permutation)
    assert (ghosts.heatmaps > 0.1).sum() > (base.heatmaps > 0.1).sum()
    draws = [with_artifacts(SynthConfig(), np.random.default_rng(s)) for s in range(30)]
    assert all(0 <= c.ghost_prob <= 0.15 and 0 <= c.occluded_miss_prob <= 0.5 and c.tag_drift >= 0 for c in draws)
