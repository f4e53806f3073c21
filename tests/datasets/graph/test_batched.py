"""Graphs of many images built in one pass equal the image-by-image stages."""
import dataclasses

import numpy as np
import pytest
import torch

from datasets.synthetic.ae_maps import SynthConfig, synthesize_maps
from datasets.synthetic.ae_maps_second import synthesize_maps_second
from datasets.coco import persons_by_image, quiet_coco
from datasets.graph import batched
from datasets.graph.candidate_graph import candidate_graph
from datasets.graph.candidates import extract_candidates
from datasets.graph.config import GraphConfig
from datasets.graph.features import finalize_features, tag_statistics
from datasets.skeleton import COCO17
from datasets.synthetic.scenes import synthetic_scenes


@pytest.fixture(scope="module")
def candidates():
    gt = quiet_coco(synthetic_scenes(9, seed=21))
    people, rng, out = persons_by_image(gt, 17), np.random.default_rng(2), []
    for n, (i, img) in enumerate(sorted(gt.imgs.items())):
        anns = people[i][2]
        maps = (synthesize_maps_second(img["width"], img["height"], anns, COCO17, rng) if n % 2
                else synthesize_maps(img["width"], img["height"], anns, 17, SynthConfig(tag_dim=1), rng))
        out.append((i, maps))
    return out


@pytest.mark.parametrize("graph", [GraphConfig(), GraphConfig(pairs="skeleton", edges="skeleton2"),
                                   GraphConfig(pairs="skeleton3"),
                                   GraphConfig(radius=0.2, type_nearest=None), GraphConfig(score_norm="per-map"),
                                   GraphConfig(feature_norm="dataset")])
@pytest.mark.parametrize("block", [1024, 40])
def test_batched_graphs_equal_image_by_image(candidates, graph, block, monkeypatch):
    monkeypatch.setattr(batched, "BLOCK_NODES", block)  # 40: several blocks, and images alone
    ids = [i for i, _ in candidates]
    cands = [extract_candidates(m, graph) for _, m in candidates]
    cands.insert(3, dataclasses.replace(cands[0], pos=cands[0].pos[:1], pos_img=cands[0].pos_img[:1],
                                        jtype=cands[0].jtype[:1], score=cands[0].score[:1], tag=cands[0].tag[:1]))
    ids.insert(3, 999)  # an image with one candidate
    settings = {"edge_attr": True, "pair_attr": True, "score_norm": graph.score_norm}
    singles = [candidate_graph(c, COCO17, graph, i) for c, i in zip(cands, ids)]
    stats = tag_statistics(singles) if graph.feature_norm == "dataset" else None
    singles = [finalize_features(g, 17, graph.feature_norm, stats=stats, **settings) for g in singles]
    (x, edges, e_attr, pairs, p_attr), views, counts = batched.batched_graphs(cands, ids, COCO17, graph, stats, **settings)
    assert counts == [g.pair_index.size(1) for g in singles]
    torch.testing.assert_close(x, torch.cat([g.x for g in singles]), rtol=0, atol=1e-6)
    offset = 0
    for g, v in zip(singles, views):
        assert int(v.image_id) == int(g.image_id) and torch.equal(v.pair_index, g.pair_index)
        assert torch.equal(v.pos, g.pos) and torch.equal(v.jtype, g.jtype)
        offset += g.num_nodes
    torch.testing.assert_close(p_attr, torch.cat([g.pair_attr for g in singles]), rtol=0, atol=1e-6)
    # Message edges: the same set per image (the batch lays out both directions once for all).
    nodes = np.cumsum([0] + [g.num_nodes for g in singles])
    want = {(int(a) + nodes[b], int(c) + nodes[b]) for b, g in enumerate(singles) for a, c in g.edge_index.t().tolist()}
    assert set(map(tuple, edges.t().tolist())) == want and edges.size(1) == len(want)
    order = {e: n for n, e in enumerate(map(tuple, edges.t().tolist()))}
    single_attr = torch.cat([g.edge_attr for g in singles])
    single_edges = [(int(a) + nodes[b], int(c) + nodes[b]) for b, g in enumerate(singles) for a, c in g.edge_index.t().tolist()]
    torch.testing.assert_close(e_attr[[order[e] for e in single_edges]], single_attr, rtol=0, atol=1e-6)
