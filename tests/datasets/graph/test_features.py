"""The classifier's features: pair margins and the score feature variants, against loops."""
import numpy as np
import torch

from datasets.ae_maps import SynthConfig, synthesize_maps
from datasets.coco import persons_by_image, quiet_coco
from datasets.graph.candidate_graph import build_graph
from datasets.graph.config import GraphConfig
from datasets.graph.features import finalize_features, pair_margins, vertex_dim
from datasets.skeleton import COCO17
from datasets.synthetic_scenes import synthetic_scenes


def _graph(seed=3):
    gt = quiet_coco(synthetic_scenes(1, seed=seed))
    (i, img), = gt.imgs.items()
    maps = synthesize_maps(img["width"], img["height"], persons_by_image(gt, 17)[i][2], 17,
                           SynthConfig(false_positives=2.0), np.random.default_rng(seed))
    return build_graph(maps, COCO17, GraphConfig())


def test_pair_margins_equal_a_loop_over_each_ends_pairs():
    g = finalize_features(_graph(), 17, "per-map", margins=True)
    base = finalize_features(_graph(), 17, "per-map")
    assert g.pair_attr.shape == (base.pair_attr.size(0), base.pair_attr.size(1) + 4) and g.pair_index.size(1) > 50
    torch.testing.assert_close(g.pair_attr[:, :-4], base.pair_attr)
    pairs, jt = g.pair_index.t().tolist(), g.jtype.tolist()
    dist, tag = base.pair_attr[:, 2].tolist(), base.pair_attr[:, 3].tolist()
    want = []
    for a, b in pairs:
        row = []
        for value in (dist, tag):
            for end, other in ((a, b), (b, a)):  # the least over the end's pairs with the other's type
                best = min(value[n] for n, (p, q) in enumerate(pairs)
                           if (p == end and jt[q] == jt[other]) or (q == end and jt[p] == jt[other]))
                row.append(value[pairs.index([a, b])] - best)
        want.append(row)
    torch.testing.assert_close(g.pair_attr[:, -4:], torch.tensor(want), rtol=0, atol=1e-6)
    assert (g.pair_attr[:, -4:] >= 0).all() and (g.pair_attr[:, -4:] == 0).any(dim=0).all()


def test_pair_margins_of_no_pairs():
    assert pair_margins(torch.zeros(0, 21), torch.zeros(2, 0, dtype=torch.long), torch.zeros(0, dtype=torch.long),
                        17).shape == (0, 4)


def test_score_both_holds_raw_and_relative():
    g = finalize_features(_graph(), 17, "per-map", score_norm="both")
    assert g.x.size(1) == vertex_dim(17, 1, "both") == vertex_dim(17, 1) + 1
    raw, relative = g.x[:, 19], g.x[:, 20]
    torch.testing.assert_close(raw, g.score)
    torch.testing.assert_close(relative, g.score / g.score.max())
