"""Whole persons (fragments attached, the person floor and its choice), batched classifier calls."""
import dataclasses

import numpy as np
import pytest
import torch

from datasets.synthetic.ae_maps import SynthConfig, synthesize_maps
from datasets.coco import persons_by_image, quiet_coco
from datasets.graph.candidate_graph import build_graph
from datasets.graph.config import GraphConfig
from datasets.graph.features import finalize_features
from datasets.graph.labels import label_graph
from datasets.skeleton import COCO17
from datasets.synthetic.scenes import synthetic_scenes
from tasks import grouping
from tasks.grouping.config import GroupingConfig
from tasks.grouping.floor_choice import choose_person_floor
from tasks.grouping.persons import attach_fragments, floor_persons
from tasks.grouping.prediction import predict_batch, predict_image


def test_a_fragment_joins_the_person_whose_missing_types_it_fills():
    # Candidates 0-5 one person (types 0-5), 6-11 another (types 0-5), 12 a fragment of type 9,
    # 13 a fragment of type 3 (a type both persons have).
    group = np.array([0] * 6 + [6] * 6 + [12, 13])
    jtype = np.array(list(range(6)) * 2 + [9, 3])
    pairs = np.array([[12, 12, 13], [4, 10, 5]])
    probs = np.array([0.3, 0.6, 0.9])
    out = attach_fragments(group, jtype, pairs, probs, 0.2)
    assert out[12] == 6  # the more probable pair wins
    assert out[13] == 13  # a second keypoint of type 3 would be wrong: stays apart
    assert np.array_equal(out[:12], group[:12])
    assert attach_fragments(group, jtype, pairs, probs, 0.7)[12] == 12  # below the threshold: apart
    # Two fragments of one type cannot both join a person.
    group2 = np.array([0] * 6 + [6, 7])
    jtype2 = np.array(list(range(6)) + [9, 9])
    out2 = attach_fragments(group2, jtype2, np.array([[6, 7], [0, 1]]), np.array([0.5, 0.4]), 0.1)
    assert out2[6] == 0 and out2[7] == 7


def test_merging_takes_pairs_down_to_the_merge_threshold_best_first():
    """Candidates 0-2 (types 0-2) and 3-4 (types 3, 0): the pairs (0, 1) 0.9, (1, 2) 0.3, (2, 3)
    0.04, (2, 4) 0.03. From 0.5 only (0, 1) joins; from 0.02 (1, 2) and (2, 3) join too, and
    (2, 4) cannot (a second type 0). The decoder reads the probabilities' order, not their size."""
    from torch_geometric.data import Data
    g = Data(pos=torch.arange(10.0).view(5, 2), jtype=torch.tensor([0, 1, 2, 3, 0]), score=torch.ones(5),
             factor=torch.ones(1, 2), offset=torch.zeros(1, 2), pair_index=torch.tensor([[0, 1, 2, 2], [1, 2, 3, 4]]))
    probs = np.array([0.9, 0.3, 0.04, 0.03])

    def groups(threshold):
        persons = grouping.decode_gnn(g, probs, 17, threshold, 1)
        return sorted(sorted(int(k) for k in np.nonzero(p[:, 2])[0]) for p, _ in persons)
    assert groups(0.5) == [[0], [0, 1], [2], [3]]  # (persons by joint type)
    assert groups(0.02) == [[0], [0, 1, 2, 3]]
    assert groups(0.0) == groups(0.02)  # (2, 4) would repeat type 0 at any threshold
    cfg = GroupingConfig(attach_threshold=None, person_floor=0.0)
    assert len(grouping.decode("gnn", g, probs, cfg)) == 2
    assert len(grouping.decode("gnn", g, probs, dataclasses.replace(cfg, merge_threshold=0.5))) == 4
    with pytest.raises(ValueError, match="merge_threshold"):
        GroupingConfig(merge_threshold=1.5)


def test_attachment_at_or_above_the_merge_threshold_finds_nothing(scenes):
    """Why decode_gnn skips it: after merging from t, attach_fragments at t or above leaves every
    label as it is; below t it does join fragments (so the check can fail)."""
    from tasks.grouping.decoders import merged_groups
    _, graphs, _ = scenes
    rng, joined = np.random.default_rng(0), 0
    for g in graphs:
        probs = rng.random(g.pair_index.size(1)) ** 3  # many low probabilities
        jtype, pairs = g.jtype.numpy(), g.pair_index.numpy()
        for t in (0.02, 0.2, 0.5):
            label = merged_groups(g, probs, t)
            for above in (t, min(1.0, 2 * t)):
                assert np.array_equal(attach_fragments(label, jtype, pairs, probs, above), label)
            joined += int((attach_fragments(label, jtype, pairs, probs, t / 10) != label).sum())
    assert joined > 0


def test_floor_keeps_persons_scored_at_least_it():
    persons = [(np.zeros((17, 3)), s) for s in (0.5, 0.01, 0.2)]
    assert [p[1] for p in floor_persons(persons, 0.2)] == [0.5, 0.2]
    assert floor_persons(persons, None) == persons and floor_persons(persons, 0.0) == persons


@pytest.fixture(scope="module")
def scenes():
    """Built-in scenes with the default (noisy, false-positive) maps and their labelled graphs."""
    d = synthetic_scenes(12, seed=8)
    gt = quiet_coco(d)
    people = persons_by_image(gt, 17)
    rng, graphs, maps = np.random.default_rng(1), [], []
    for image_id, img in sorted(gt.imgs.items()):
        kps, areas, anns = people[image_id]
        m = synthesize_maps(img["width"], img["height"], anns, 17, SynthConfig(), rng)
        g = label_graph(build_graph(m, COCO17, GraphConfig(), image_id), kps, areas, GraphConfig())
        graphs.append(finalize_features(g, 17, "per-map", **{"edge_attr": True, "pair_attr": True}))
        maps.append(m)
    return gt, graphs, maps


def test_floor_chosen_on_true_pair_labels_drops_debris_not_people(scenes):
    gt, graphs, _ = scenes
    cfg = GroupingConfig(person_floor=None)
    probs = [g.y.numpy().astype(np.float64) for g in graphs]  # a perfect classifier
    choice = choose_person_floor(graphs, probs, cfg, gt)
    assert choice["floor"] > 0 and choice["persons_after"] < 0.5 * choice["persons_before"]
    assert choice["AP_after"] >= choice["AP_before"] - 0.005 and choice["AR_after"] >= choice["AR_before"] - 0.005
    assert choice["AP_before"] > 0.6  # (the true labels group well; the oracle scores about 0.75 here)
    floored = grouping.decode_all(graphs, "gnn", dataclasses.replace(cfg, person_floor=choice["floor"]), probs)
    assert len(floored) == choice["persons_after"] and choice["floor"] <= 1 / 17  # capped: one peak keypoint
    peak = {int(g.image_id): float(g.score.max()) for g in graphs}  # the floor: a share of the image's peak
    assert all(r["score"] >= choice["floor"] * peak[r["image_id"]] - 1e-5 for r in floored)
    absolute = dataclasses.replace(cfg, floor_reference="none")
    choice = choose_person_floor(graphs, probs, absolute, gt)
    floored = grouping.decode_all(graphs, "gnn", dataclasses.replace(absolute, person_floor=choice["floor"]), probs)
    assert len(floored) == choice["persons_after"] and min(r["score"] for r in floored) >= choice["floor"] - 1e-5


def test_a_floor_relative_to_the_image_holds_for_heatmaps_that_peak_lower(scenes):
    """A model whose heatmaps peak at 0.4 of another's (same candidates, scores x 0.4) keeps the
    same persons under a floor relative to the image's strongest candidate, not under one in
    heatmap score units."""
    _, graphs, _ = scenes
    probs = [g.y.numpy().astype(np.float64) for g in graphs]
    lower = []
    for g in graphs:
        h = g.clone()
        h.score = g.score * 0.4
        lower.append(h)
    for ref, same in (("image", True), ("none", False)):
        cfg = GroupingConfig(person_floor=0.15, floor_reference=ref)
        a = grouping.decode_all(graphs, "gnn", cfg, probs)
        b = grouping.decode_all(lower, "gnn", cfg, probs)
        assert (len(a) == len(b)) == same and len(b) > 0
        assert len(a) < len(grouping.decode_all(graphs, "gnn", dataclasses.replace(cfg, person_floor=0.0), probs))


def _model():
    torch.manual_seed(0)
    return grouping.model_from_spec(grouping.model_spec(GroupingConfig(), tag_dim=1))


def test_batched_classifier_calls_equal_one_call_per_graph(scenes):
    _, graphs, _ = scenes
    scorer = grouping.PairScorer(_model(), "cpu", compile="off")
    single = [scorer(g) for g in graphs]
    for batch in (2, 5, 32):
        many = scorer.many(graphs, batch)
        assert len(many) == len(single)
        for a, b in zip(many, single):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_predict_batch_equals_image_by_image(scenes):
    _, _, maps = scenes
    cfg = GroupingConfig(person_floor=0.02)
    scorer = grouping.PairScorer(_model(), "cpu", compile="off")
    ids = list(range(100, 100 + len(maps)))
    batched = predict_batch(maps, ids, "gnn", cfg, scorer)
    for m, i, b in zip(maps, ids, batched):
        one = predict_image(m, i, "gnn", cfg, scorer)
        assert b.image_id == i and len(b.results) == len(one.results)
        for r, s in zip(b.results, one.results):
            assert r["score"] == pytest.approx(s["score"]) and np.allclose(r["keypoints"], s["keypoints"])


def test_checkpoints_without_the_new_settings_decode_as_before():
    d = GroupingConfig().to_dict()
    for key in ("attach_threshold", "merge_threshold", "person_floor", "synth_artifacts", "floor_reference", "val_copies"):
        del d[key]
    old = GroupingConfig.from_dict(d)
    assert old.attach_threshold is None and old.person_floor == 0.0 and old.synth_artifacts is False
    assert old.merge_threshold == 0.5 and GroupingConfig().merge_threshold == 0.02
    assert old.floor_reference == "none" and old.val_copies == 1  # a floor of the last version: score units
    new = GroupingConfig()
    assert new.attach_threshold == 0.05 and new.person_floor is None and new.synth_artifacts is True


def test_no_floor_when_no_person_is_found(scenes):
    """Persons decoded, none matching anybody (the ground truth moved away): every floor would
    "keep" AP and AR at 0, so none is chosen rather than the highest."""
    import copy
    gt, graphs, _ = scenes
    moved = copy.deepcopy(gt.dataset)
    for a in moved["annotations"]:
        k = np.asarray(a["keypoints"], dtype=float).reshape(-1, 3)
        k[:, 0] += 3000
        a["keypoints"], a["bbox"] = k.ravel().tolist(), [a["bbox"][0] + 3000, *a["bbox"][1:]]
    for img in moved["images"]:
        img["width"] += 4000
    probs = [g.y.numpy().astype(np.float64) for g in graphs]
    choice = choose_person_floor(graphs, probs, GroupingConfig(person_floor=None), quiet_coco(moved))
    assert choice["persons_before"] > 0 and choice["AR_before"] == 0
    assert choice["floor"] == 0.0 and choice["persons_after"] == choice["persons_before"]


def test_a_training_batch_with_one_pair_is_skipped_not_a_crash():
    from torch_geometric.data import Data
    from torch_geometric.loader import DataLoader
    from datasets.graph.features import finalize_features as features
    g = Data(pos=torch.tensor([[1.0, 1.0], [5.0, 5.0]]), jtype=torch.tensor([5, 7]), score=torch.tensor([0.9, 0.8]),
             tag=torch.tensor([[0.1], [0.2]]), num_nodes=2, map_size=torch.tensor([[64.0, 64.0]]),
             pair_index=torch.tensor([[0], [1]]), edge_index=torch.tensor([[0, 1], [1, 0]]), y=torch.tensor([1.0]))
    g = features(g, 17, "per-map")
    model = _model()
    opt = torch.optim.Adam(model.parameters())
    before = [p.detach().clone() for p in model.parameters()]
    stats = grouping.train_epoch(model, DataLoader([g], batch_size=1), opt, 1.0, "cpu")
    assert stats["loss"] == 0 and all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_training_copies_take_the_generators_in_turn(tmp_path):
    """--synth-generators project,second,fourth: copy 1 from the second generator (its maps keep
    the image's aspect at 160 px), copy 2 from the fourth (half the image, long side at most 320
    px), copy 3 from the project's (128 px): the candidates' map sizes tell them apart."""
    from core.errors import InputError
    cfg = GroupingConfig(num_scenes=4, synth_copies=4, seed=2, synth_randomize=False, synth_artifacts=False,
                         synth_generators=("project", "second", "fourth"), graph_cache=None)
    ann = grouping.write_builtin_annotations(cfg, tmp_path)
    data = grouping.prepare_grouping_data(cfg, ann, synth_seed=2)
    copies = grouping.synthesized_copies(cfg, data, ann, synth_seed=2)
    n = len(data.train_ids)
    sizes = [tuple(g.map_size.flatten().tolist()) for g in copies]
    wh = [(data.gt.imgs[i]["width"], data.gt.imgs[i]["height"]) for i in data.train_ids]
    fourth = {(float(round(w * min(0.5, 320 / max(w, h)))), float(round(h * min(0.5, 320 / max(w, h))))) for w, h in wh}
    assert set(sizes[:n]) == {(160.0, 160.0)} and set(sizes[2 * n:]) == {(128.0, 128.0)}  # second, project
    assert set(sizes[n:2 * n]) == fourth and fourth.isdisjoint({(160.0, 160.0), (128.0, 128.0)})
    assert all(g.y.sum() > 0 for g in copies)
    with pytest.raises(InputError, match="synth_generators"):
        GroupingConfig(synth_generators=("third",))  # the third generator only tests


def test_validation_copies_are_new_draws_of_the_validation_images(tmp_path):
    cfg = GroupingConfig(num_scenes=10, synth_copies=2, val_copies=3, seed=1, graph_cache=None)
    ann = grouping.write_builtin_annotations(cfg, tmp_path)
    data = grouping.prepare_grouping_data(cfg, ann, synth_seed=1)
    val = grouping.synthesized_copies(cfg, data, ann, synth_seed=1, split="val")
    train = grouping.synthesized_copies(cfg, data, ann, synth_seed=1)
    assert [int(g.image_id) for g in val] == data.val_ids * 2 and len(train) == len(data.train_ids)
    first = {int(g.image_id): g for g in data.graphs}
    for g in val[:len(data.val_ids)]:  # another draw than the image's first
        assert g.num_nodes != first[int(g.image_id)].num_nodes or not torch.equal(g.pos, first[int(g.image_id)].pos)
    assert grouping.synthesized_copies(dataclasses.replace(cfg, val_copies=1), data, ann, 1, split="val") == []


def test_a_relative_floor_is_capped_at_one_keypoint_at_the_images_peak(scenes, monkeypatch):
    """Whatever the search finds (here, with any loss allowed, the highest score), a relative
    floor never drops a person scored as one keypoint at its image's peak."""
    import tasks.grouping.floor_choice as floor_choice
    gt, graphs, _ = scenes
    probs = [g.y.numpy().astype(np.float64) for g in graphs]
    monkeypatch.setattr(floor_choice, "TOLERANCE", 2.0)
    relative = choose_person_floor(graphs, probs, GroupingConfig(person_floor=None), gt)
    absolute = choose_person_floor(graphs, probs, GroupingConfig(person_floor=None, floor_reference="none"), gt)
    assert relative["floor"] == pytest.approx(1 / 17) and absolute["floor"] > 1 / 17
