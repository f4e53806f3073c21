import numpy as np
import pytest
import torch

from datasets.ae_maps import AEMaps, read_ae_maps
from datasets.synthetic.ae_maps import SynthConfig, synthesize_maps
from core.errors import InputError
from datasets.graph.candidate_graph import (build_graph, candidate_pairs, nearest_of_each_type, skeleton_nearest,
                                      type_adjacency)
from datasets.graph.candidates import find_candidates, sample_tags
from datasets.graph.config import GraphConfig
from datasets.graph.features import finalize_features
from datasets.graph.labels import label_graph
from datasets.skeleton import COCO17, CROWDPOSE14


def gaussian_map(H, W, peaks, sigma=1.5):
    ys, xs = np.mgrid[0:H, 0:W]
    hm = np.zeros((H, W))
    for x, y, a in peaks:
        hm = np.maximum(hm, a * np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma ** 2)))
    return hm


def test_candidates_nms_threshold_topk_and_subpixel():
    hm = np.zeros((3, 40, 50), dtype=np.float32)
    hm[0] = gaussian_map(40, 50, [(10.3, 12.7, 0.9), (30.6, 20.2, 0.5), (40.0, 5.0, 0.05)])
    hm[2] = gaussian_map(40, 50, [(25.25, 30.75, 0.8)])
    pos, jtype, score = find_candidates(hm, GraphConfig(threshold=0.1, top_k=5))
    assert jtype.tolist() == [0, 0, 2]  # one candidate per peak, the faint one dropped
    expected = np.array([[10.3, 12.7], [30.6, 20.2], [25.25, 30.75]])
    np.testing.assert_allclose(pos, expected, atol=1e-3, rtol=0)  # log-parabola: exact for Gaussians
    assert score[0] > score[1] > 0.4
    pos, jtype, _ = find_candidates(torch.from_numpy(hm), GraphConfig(threshold=0.1, top_k=1))  # a tensor works too
    assert jtype.tolist() == [0, 2] and abs(pos[0, 0] - 10.3) < 1e-3  # top-1 keeps the strongest


def test_tag_sampling_at_another_resolution():
    """Tags linear in the tag map's own pixel coordinates are sampled exactly (bilinear)."""
    K, h, w = 2, 16, 24
    yy, xx = np.mgrid[0:h, 0:w]
    tags = np.stack([np.stack([0.5 * xx + 0.1 * yy, -0.2 * xx + yy], -1)] * K).astype(np.float32)
    pos = np.array([[10.0, 7.0], [33.3, 21.9], [0.0, 0.0]], dtype=np.float32)  # heatmap pixels, heatmap 48 x 32
    got = sample_tags(tags, np.array([0, 1, 1]), pos, (32, 48))
    tx, ty = pos[:, 0] * 24 / 48, pos[:, 1] * 16 / 32
    np.testing.assert_allclose(got, np.stack([0.5 * tx + 0.1 * ty, -0.2 * tx + ty], 1), rtol=1e-6, atol=1e-5)


def _scene():
    """Two people (3 labelled keypoints each) and one false-positive blob, image 200 x 100."""
    kps = np.zeros((2, 17, 3))
    kps[0, [5, 7, 9]] = [[40, 30, 2], [44, 50, 2], [46, 70, 2]]  # left shoulder, elbow, wrist
    kps[1, [5, 7, 11]] = [[140, 30, 2], [150, 50, 2], [130, 80, 2]]  # ..., left hip
    anns = [{"keypoints": k.ravel().tolist(), "area": 2500.0} for k in kps]
    maps = synthesize_maps(200, 100, anns, 17, SynthConfig.clean(heatmap_size=(50, 100), tag_size=(25, 50)),
                           np.random.default_rng(0))
    maps.heatmaps[7] = np.maximum(maps.heatmaps[7], gaussian_map(50, 100, [(48.0, 40.0, 0.7)]))
    return maps, kps, np.array([2500.0, 2500.0])


def test_edge_labels_on_a_hand_built_scene():
    maps, kps, areas = _scene()
    cfg = GraphConfig(radius=None, pairs="skeleton")
    g = label_graph(build_graph(maps, COCO17, cfg), kps, areas, cfg)
    img = g.pos * g.factor + g.offset
    assert g.num_nodes == 7
    fp = int(torch.nonzero(g.person < 0))
    assert torch.allclose(img[fp], torch.tensor([96.0, 80.0]), atol=1e-3) and int(g.jtype[fp]) == 7
    labels = {}
    for (i, j), y in zip(g.pair_index.t().tolist(), g.y.tolist()):
        labels[(int(g.person[i]), int(g.jtype[i]), int(g.person[j]), int(g.jtype[j]))] = y
    # Skeleton pairs: shoulder-elbow (5-7), elbow-wrist (7-9), shoulder-hip (5-11).
    assert labels[(0, 5, 0, 7)] == 1 and labels[(0, 7, 0, 9)] == 1
    assert labels[(1, 5, 1, 7)] == 1 and labels[(1, 5, 1, 11)] == 1
    assert labels[(0, 5, 1, 7)] == 0 and labels[(1, 5, 0, 7)] == 0 and labels[(0, 5, -1, 7)] == 0
    assert len(labels) == g.pair_index.size(1) == 6 + 3 + 2  # 5-7, 7-9, 5-11 type pairs
    assert g.edge_index.size(1) == 22 and torch.equal(g.edge_index[:, 11:], g.pair_index.flip(0))
    finalize_features(g, 17, "per-map")
    assert g.x.shape == (7, 2 + 17 + 1 + 1) and g.edge_attr.shape == (22, 4 + 17)
    # Two bones apart: shoulder-wrist (5-9) and elbow-hip (7-11) pairs join the classified set,
    # the message graph stays the skeleton's.
    two = GraphConfig(radius=None, pairs="skeleton2", type_nearest=3)
    g2 = label_graph(build_graph(maps, COCO17, two), kps, areas, two)
    assert g2.pair_index.size(1) == 11 + 2 * 1 + 3 * 1 and g2.edge_index.size(1) == 22
    both = {(int(g2.person[i]), int(g2.jtype[i]), int(g2.person[j]), int(g2.jtype[j])): y
            for (i, j), y in zip(g2.pair_index.t().tolist(), g2.y.tolist())}
    assert both[(0, 5, 0, 9)] == 1 and both[(1, 7, 1, 11)] == 1 and both[(0, 7, 1, 11)] == 0
    assert g.x[:, 2:19].sum(1).eq(1).all() and g.edge_attr[:, 4:].sum(1).eq(2).all()
    # Edge and pair attributes, edge by edge, from the vertex features: dx, dy, distance,
    # |tag difference| (normalised tag), one-hot of both types.
    for index, attr in ((g.edge_index, g.edge_attr), (g.pair_index, g.pair_attr)):
        for (a, b), e in zip(index.t().tolist(), attr):
            d = g.x[b, :2] - g.x[a, :2]
            types = torch.zeros(17)
            types[g.jtype[a]] += 1
            types[g.jtype[b]] += 1
            expect = torch.cat([d, d.norm().view(1), (g.x[b, -1:] - g.x[a, -1:]).abs(), types])
            torch.testing.assert_close(e, expect)


def test_knn_edges_and_empty_images():
    pos = torch.tensor([[0.0, 0], [1, 0], [5, 0], [6, 0], [30, 0]])
    pairs = candidate_pairs(pos, torch.zeros(5, dtype=torch.long), COCO17,
                            GraphConfig(edges="knn", knn=1, radius=None), 64)
    assert sorted(map(tuple, pairs.t().tolist())) == [(0, 1), (2, 3), (3, 4)]
    empty = AEMaps(np.zeros((17, 32, 32), np.float32), np.zeros((17, 16, 16, 1), np.float32),
                   np.ones(2), np.zeros(2))
    g = label_graph(build_graph(empty, COCO17, GraphConfig()), np.zeros((0, 17, 3)), np.zeros(0), GraphConfig())
    assert g.num_nodes == 0 and g.pair_index.shape == (2, 0) and g.y.numel() == 0
    finalize_features(g, 17, "per-map")
    assert g.x.shape == (0, 21)


def test_map_files_round_trip_and_errors(tmp_path):
    maps, _, _ = _scene()
    maps.save(tmp_path / "7.npz")
    back = read_ae_maps(tmp_path, 7, 17)
    np.testing.assert_array_equal(back.heatmaps, maps.heatmaps)
    np.testing.assert_allclose(back.to_image(np.array([10.0, 20.0])), [20.0, 40.0])
    # HigherHRNet / mmpose's center + scale: the heatmap covers scale * 200 pixels around center.
    np.savez(tmp_path / "8.npz", heatmaps=maps.heatmaps, tags=maps.tags[..., 0],
             center=np.array([100.0, 50.0]), scale=np.array([1.0, 0.5]))
    cs = read_ae_maps(tmp_path, 8, 17)
    np.testing.assert_allclose(cs.to_image(np.array([0.0, 0.0])), [0.0, 0.0])
    np.testing.assert_allclose(cs.to_image(np.array([100.0, 50.0])), [200.0, 100.0])
    assert cs.tags.shape == (17, 25, 50, 1)
    with pytest.raises(InputError, match=r"9.npz: no maps for image 9"):
        read_ae_maps(tmp_path, 9, 17)
    with pytest.raises(InputError, match=r"^7.npz: 17 heatmaps, expected 14 keypoint types$"):
        read_ae_maps(tmp_path, 7, 14)
    np.savez(tmp_path / "10.npz", heatmaps=maps.heatmaps, tags=maps.tags[:3], scale_factor=2.0)
    with pytest.raises(InputError, match=r"^10.npz: 3 tag maps, expected 17"):
        read_ae_maps(tmp_path, 10, 17)
    bad = maps.heatmaps.copy()
    bad[0, 0, 0] = np.nan
    np.savez(tmp_path / "11.npz", heatmaps=bad, tags=maps.tags, scale_factor=2.0)
    with pytest.raises(InputError, match=r"^11.npz: 'heatmaps' contains NaN or inf$"):
        read_ae_maps(tmp_path, 11, 17)
    np.savez(tmp_path / "12.npz", heatmaps=maps.heatmaps, tags=maps.tags)
    with pytest.raises(InputError, match=r"needs 'scale_factor' or 'center' and 'scale'"):
        read_ae_maps(tmp_path, 12, 17)
    np.savez(tmp_path / "13.npz", heatmaps=maps.heatmaps[0], tags=maps.tags, scale_factor=2.0)
    with pytest.raises(InputError, match=r"heatmaps have shape \(50, 100\), expected \(K, H, W\)"):
        read_ae_maps(tmp_path, 13, 17)


def test_nearest_of_each_type_equals_brute_force():
    gen = torch.Generator().manual_seed(0)
    M, K, k = 30, 5, 2
    pos, jtype = torch.rand(M, 2, generator=gen) * 50, torch.randint(0, K, (M,), generator=gen)
    dist = torch.cdist(pos, pos)
    allowed = torch.rand(M, M, generator=gen) < 0.6
    near = nearest_of_each_type(dist.masked_fill(~allowed, float("inf")), jtype, K, k)
    for i in range(M):
        for j in range(M):
            same = [c for c in range(M) if jtype[c] == jtype[j] and allowed[i, c]]
            closer = sum(dist[i, c] < dist[i, j] for c in same)
            assert near[i, j] == bool(allowed[i, j] and closer < k), (i, j)


def test_type_nearest_pairs_keep_the_limbs_of_a_large_person():
    """One person across the whole map and, in a corner, a crowd of small ones: a radius of 0.3
    map widths cuts the large person's limbs; the default (3 nearest of each adjacent type, no
    radius) keeps them and still bounds the pairs within the crowd."""
    big = np.array([[[x, y, 2] for x, y in zip(np.linspace(10, 240, 17), np.linspace(20, 230, 17))]])
    rng = np.random.default_rng(1)
    small = np.concatenate([np.stack([rng.uniform(200, 240, (6, 17)), rng.uniform(10, 50, (6, 17)),
                                      np.full((6, 17), 2.0)], -1)])
    persons = np.concatenate([big, small])
    pos = torch.tensor(persons[..., :2].reshape(-1, 2), dtype=torch.float32)
    jtype = torch.arange(17).repeat(len(persons))
    owner = torch.arange(len(persons)).repeat_interleave(17)
    bones = [(a, b) for a, b in COCO17.edges]

    def big_bones_kept(cfg):
        pairs = candidate_pairs(pos, jtype, COCO17, cfg, 256, mode="skeleton")
        kept = {tuple(sorted((jtype[a].item(), jtype[b].item()))) for a, b in pairs.t().tolist()
                if owner[a] == 0 and owner[b] == 0}
        return kept, pairs

    kept, _ = big_bones_kept(GraphConfig(radius=0.3, type_nearest=None))
    assert len(kept) < len(bones)  # some long bones (over 77 px) are cut
    kept, pairs = big_bones_kept(GraphConfig())
    assert kept == {tuple(sorted(b)) for b in bones}
    everything = candidate_pairs(pos, jtype, COCO17, GraphConfig(type_nearest=None), 256, mode="skeleton")
    assert pairs.size(1) < everything.size(1) / 1.3  # the crowd's pairs are bounded


@pytest.mark.parametrize("skeleton", [COCO17, CROWDPOSE14])
def test_type_adjacency_is_the_bone_distance(skeleton):
    """Types are adjacent at `hops` iff a breadth-first search over the bones reaches one from
    the other in 1..hops steps; COCO's nose and shoulders are 3 bones apart (nose, eye, ear)."""
    K = skeleton.num_joints
    far = np.full((K, K), 99)
    for a in range(K):
        far[a, a], frontier = 0, [a]
        while frontier:
            nxt = []
            for u in frontier:
                for x, y in skeleton.edges:
                    for v in ((y,) if x == u else (x,) if y == u else ()):
                        if far[a, v] == 99:
                            far[a, v] = far[a, u] + 1
                            nxt.append(v)
            frontier = nxt
    for hops in (1, 2, 3):
        expect = (far >= 1) & (far <= hops)
        assert np.array_equal(type_adjacency(skeleton.edges, K, hops).numpy(), expect)
    if skeleton is COCO17:
        assert far[0, 5] == 3 and not type_adjacency(skeleton.edges, K, 2)[0, 5]


def test_one_nearest_matrix_serves_both_skeleton_modes():
    gen = torch.Generator().manual_seed(2)
    pos, jtype = torch.rand(60, 2, generator=gen) * 64, torch.arange(17).repeat(4)[:60]
    dist = torch.cdist(pos, pos)
    for cfg in (GraphConfig(), GraphConfig(type_nearest=2, radius=0.4)):
        near = skeleton_nearest(dist, jtype, 17, cfg.type_nearest)
        for mode, hops in (("skeleton", 1), ("skeleton2", 2), ("skeleton3", 3)):
            own = GraphConfig(type_nearest=cfg.type_nearest, radius=cfg.radius)
            adj = type_adjacency(COCO17.edges, 17, hops)
            allowed = adj[jtype][:, jtype]
            if cfg.radius is not None:
                allowed &= dist <= cfg.radius * 64
            mine = nearest_of_each_type(dist.masked_fill(~allowed, float("inf")), jtype, 17, cfg.type_nearest)
            expect = torch.triu(allowed & (mine | mine.t()), 1).nonzero().t()
            assert torch.equal(candidate_pairs(pos, jtype, COCO17, own, 64, mode=mode, near=near), expect)


@pytest.mark.parametrize("pairs,edges", [("skeleton2", "skeleton"), ("skeleton", "skeleton2"),
                                         ("skeleton3", "skeleton"), ("skeleton", "skeleton3")])
def test_build_graph_filters_the_one_bone_pairs_out_of_the_two_bone_pairs(pairs, edges):
    """build_graph derives the narrower skeleton set from the wider one: both sets equal
    `candidate_pairs` of their own mode (same pairs, same order), on a crowded scene, with and
    without a radius."""
    rng = np.random.default_rng(3)
    hm = np.zeros((17, 64, 64), np.float32)
    ys, xs = np.mgrid[:64, :64]
    for k in range(17):
        for x, y in rng.uniform(2, 62, (6, 2)):
            hm[k] = np.maximum(hm[k], np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / 4.0))
    maps = AEMaps(hm, rng.normal(size=(17, 32, 32, 1)).astype(np.float32), np.array([2.0, 2.0]),
                  np.zeros(2))
    for cfg in (GraphConfig(pairs=pairs, edges=edges), GraphConfig(pairs=pairs, edges=edges, radius=0.3, type_nearest=2)):
        g = build_graph(maps, COCO17, cfg)
        pos, jtype = g.pos, g.jtype
        assert torch.equal(g.pair_index, candidate_pairs(pos, jtype, COCO17, cfg, 64, mode=pairs))
        msg = candidate_pairs(pos, jtype, COCO17, cfg, 64, mode=edges)
        assert torch.equal(g.edge_index, torch.cat([msg, msg.flip(0)], dim=1))
        assert 0 < min(g.pair_index.size(1), msg.size(1)) < max(g.pair_index.size(1), msg.size(1))


def _dense_candidates(heatmaps, cfg):
    """The reference: the plateau rule and the top-k on whole maps (the earlier implementation)."""
    K, H, W = heatmaps.shape
    pooled = torch.nn.functional.max_pool2d(heatmaps[None], cfg.nms_kernel, stride=1,
                                            padding=cfg.nms_kernel // 2)[0]
    peak = (heatmaps == pooled) & (heatmaps > cfg.threshold)
    padded_peak = torch.nn.functional.pad(peak, (1, 1, 1, 0))
    padded_hm = torch.nn.functional.pad(heatmaps, (1, 1, 1, 0), value=-1.0)
    for dy, dx in ((1, 0), (0, 0), (0, 1), (0, 2)):
        peak &= ~(padded_peak[:, dy:dy + H, dx:dx + W] & (padded_hm[:, dy:dy + H, dx:dx + W] == heatmaps))
    flat = torch.where(peak, heatmaps, torch.full_like(heatmaps, -1.0)).view(K, -1)
    scores, idx = flat.topk(min(cfg.top_k, H * W), dim=1)
    keep = scores > cfg.threshold
    jtype = torch.arange(K).unsqueeze(1).expand_as(idx)[keep]
    return jtype, idx[keep] % W, idx[keep] // W, scores[keep]


def _parabola_vertex(hm, t, x, y):
    """The reference sub-pixel offset (M, 2): per axis, the vertex of the parabola through the
    log of the peak and its two neighbours; 0 at the border or where the log is not curved."""
    K, H, W = hm.shape
    out = torch.zeros(len(t), 2)
    for i, (k, cx, cy) in enumerate(zip(t.tolist(), x.tolist(), y.tolist())):
        for axis, (c, n) in enumerate(((cx, W), (cy, H))):
            if 0 < c < n - 1:
                at = [hm[k, cy, c + d] if axis == 0 else hm[k, c + d, cx] for d in (-1, 0, 1)]
                lo, m, hi = (torch.log(v.clamp_min(1e-10)).item() for v in at)
                denom = lo - 2 * m + hi
                out[i, axis] = min(max(0.5 * (lo - hi) / denom, -0.5), 0.5) if denom < -1e-6 else 0.0
    return out


@pytest.mark.parametrize("seed", range(4))
def test_candidates_from_the_peak_list_equal_the_whole_map_reference(seed):
    """Random maps with plateaus (a pixel copied to its right, lower and lower-right
    neighbours), peaks at the borders, more peaks than top-k, NMS kernels 1, 3 and 5: the same candidates, positions
    and scores as the dense reference, sorted by type, then by descending score."""
    g = torch.Generator().manual_seed(seed)
    hm = torch.rand(5, 23, 31, generator=g)
    for k, y, x in zip(torch.randint(0, 5, (40,), generator=g).tolist(), torch.randint(0, 22, (40,), generator=g).tolist(),
                       torch.randint(0, 30, (40,), generator=g).tolist()):
        hm[k, y:y + 2, x:x + 2] = hm[k, y, x]
    cfg = GraphConfig(top_k=6, threshold=0.3, nms_kernel=(3, 5, 1, 3)[seed])  # 1: no NMS, the plateau rule only
    pos, jtype, scores = find_candidates(hm, cfg)
    ref_t, ref_x, ref_y, ref_s = _dense_candidates(hm, cfg)
    ref_pos = torch.stack([ref_x, ref_y], 1).float() + _parabola_vertex(hm, ref_t, ref_x, ref_y)
    got = sorted(zip(jtype.tolist(), (-scores).tolist(), range(len(jtype))))
    ref = sorted(zip(ref_t.tolist(), (-ref_s).tolist(), range(len(ref_t))))
    assert len(ref) > 5 * 3 and [g[:2] for g in got] == [r[:2] for r in ref]
    np.testing.assert_allclose(pos[[g[2] for g in got]], ref_pos[[r[2] for r in ref]].numpy(), atol=1e-5, rtol=0)
    assert jtype.tolist() == sorted(jtype.tolist())  # by type, then by descending score
    for t in range(5):
        s = scores[jtype == t]
        assert np.all(s[:-1] >= s[1:])
