"""The second map generator and the randomised synthesiser: valid maps, the documented ranges."""
import numpy as np

from datasets.synthetic.ae_maps import SynthConfig, randomized
from datasets.synthetic.ae_maps_second import synthesize_maps_second
from datasets.graph.candidate_graph import build_graph
from datasets.graph.config import GraphConfig
from datasets.graph.labels import label_graph
from datasets.skeleton import COCO17
from tests.conftest import person_column


def test_second_generator_maps_find_both_people_with_apart_tags():
    anns = [person_column(1, 50, 40), person_column(2, 400, 40)]
    found = 0
    for seed in range(5):
        maps = synthesize_maps_second(640, 480, anns, COCO17, np.random.default_rng(seed))
        assert maps.heatmaps.shape == (17, 120, 160) and maps.tags.shape == (17, 120, 160, 1)
        assert np.allclose(maps.factor, [4.0, 4.0]) and np.all(np.isfinite(maps.tags))
        persons = np.stack([np.asarray(a["keypoints"]).reshape(17, 3) for a in anns])
        g = label_graph(build_graph(maps, COCO17, GraphConfig()), persons, np.array([20400.0] * 2), GraphConfig())
        matched = g.person >= 0
        found += int(matched.sum())
        tags = [np.median(g.tag[g.person == p].numpy()) for p in (0, 1)]
        assert abs(tags[0] - tags[1]) > 0.5  # the people's tags on a ladder ~1 unit apart
    assert found >= 5 * 34 * 0.9  # few keypoints missed (3% away from occluders)


def test_randomized_synthesiser_draws_within_its_ranges():
    base = SynthConfig(tag_dim=2)
    draws = [randomized(base, np.random.default_rng(s)) for s in range(50)]
    assert randomized(base, np.random.default_rng(3)) == draws[3]  # seeded
    for c in draws:
        assert c.tag_dim == 2 and c.sigma_ref_size == base.sigma_ref_size
        assert c.heatmap_size[0] in (96, 128, 160, 192) and c.tag_size[0] in (c.heatmap_size[0], c.heatmap_size[0] // 2)
        assert 0.3 <= c.tag_spread <= 4 and 0.01 * c.tag_spread <= c.tag_noise <= 0.15 * c.tag_spread
        assert 1 <= c.background_scale <= 10 and 0 <= c.miss_prob <= 0.15 and 0 <= c.false_positives <= 3
        assert 0.6 * base.sigma <= c.sigma <= 1.6 * base.sigma and c.peak_range[1] == 1.0
    assert len({c.heatmap_size for c in draws}) == 4
