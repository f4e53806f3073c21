"""Grouping without ground truth: the stages on hand-built inputs, predict.py on a folder of maps,
predict + `evaluate.py coco` == `evaluate.py grouping`, bad folders."""
import json

import numpy as np
import pytest
import torch

import evaluate
import predict
import train
from core.checkpoint import load_checkpoint
from core.cli import run_cli
from datasets.ae_maps import AEMaps, map_image_ids, read_ae_maps
from datasets.synthetic.ae_maps import SynthConfig, synthesize_maps
from datasets.graph.candidate_graph import build_graph
from datasets.coco import persons_by_image, quiet_coco
from datasets.graph.config import GraphConfig
from datasets.graph.features import finalize_features
from datasets.graph.labels import label_graph
from datasets.skeleton import COCO17
from tasks.grouping import GroupingConfig, decode
from tasks.grouping.data import feature_settings, heatmap_background
from tasks.grouping.prediction import predict_image
from tasks.grouping.probabilities import PairScorer, checkpoint_scorer, compile_checkpoint
from tasks.plots import wrong_joints


def _two_people_maps():
    """Two people of 17 keypoints, far apart, tags 0 and 5: clean Gaussian peaks."""
    K, H, W = 17, 64, 64
    ys, xs = np.mgrid[0:H, 0:W]
    hm = np.zeros((K, H, W), np.float32)
    tags = np.zeros((K, 32, 32, 1), np.float32)
    persons = np.zeros((2, K, 3))
    for p, (x0, tag) in enumerate(((10, 0.0), (45, 5.0))):
        for k in range(K):
            x, y = x0 + (k % 3) * 3, 5 + k * 3
            hm[k] = np.maximum(hm[k], np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 1.5 ** 2)))
            tags[k, y // 2 - 1:y // 2 + 2, x // 2 - 1:x // 2 + 2, 0] = tag
            persons[p, k] = (x * 4 + 2, y * 4 + 2, 2)  # image = heatmap * 4 + 2
    return AEMaps(hm, tags, np.array([4.0, 4.0]), np.array([2.0, 2.0])), persons


def test_candidate_graph_has_no_ground_truth_and_labels_are_a_separate_step():
    maps, persons = _two_people_maps()
    g = build_graph(maps, COCO17, GraphConfig())
    assert g.num_nodes == 34 and "person" not in g and "y" not in g
    torch.testing.assert_close(g.pos * g.factor + g.offset, torch.tensor(persons[:, :, :2].reshape(34, 2)[
        np.lexsort((np.arange(34), np.tile(np.arange(17), 2)))], dtype=torch.float32), atol=0.2, rtol=0)
    label_graph(g, persons, np.full(2, 5000.0), GraphConfig())
    assert sorted(g.person.tolist()) == [0] * 17 + [1] * 17
    assert g.y.sum() > 0 and bool(((g.person[g.pair_index[0]] == g.person[g.pair_index[1]]).float() == g.y).all())


def test_all_decoders_take_the_same_inputs():
    maps, persons = _two_people_maps()
    cfg = GroupingConfig()
    g = label_graph(build_graph(maps, COCO17, cfg.graph), persons, np.full(2, 5000.0), cfg.graph)
    probs = g.y.numpy()  # the true pair labels as probabilities
    found = {name: decode(name, g, probs, cfg) for name in ("gnn", "ae", "oracle")}
    for name, people in found.items():
        assert len(people) == 2, name
        got = sorted(np.round(kps[:, :2]).tolist() for kps, _ in people)
        assert np.allclose(got, sorted(persons[:, :, :2].tolist()), atol=1), name
    del g.person
    with pytest.raises(ValueError, match="oracle: needs ground truth"):
        decode("oracle", g, probs, cfg)


def test_predict_image_ae_needs_no_pairs_and_no_truth():
    maps, persons = _two_people_maps()
    pred = predict_image(maps, 7, "ae", GroupingConfig())
    assert [r["image_id"] for r in pred.results] == [7, 7] and "pair_index" not in pred.graph
    assert all(len(r["keypoints"]) == 51 and r["category_id"] == 1 for r in pred.results)


def test_heatmap_background_extent_and_wrong_joints():
    maps, _ = _two_people_maps()
    hm, extent = heatmap_background(maps)
    assert hm.shape == (64, 64) and extent == [0.0, 256.0, 256.0, 0.0]  # (-0.5 * 4 + 2, 63.5 * 4 + 2)
    a, b = np.zeros((17, 3)), np.zeros((17, 3))
    a[:, 0], b[:, 0] = np.arange(17) * 10.0, np.arange(17) * 10.0 + 300
    a[:, 1] = b[:, 1] = np.arange(17) * 20.0
    a[:, 2] = b[:, 2] = 2
    pred = a.copy()
    pred[3, :2] = b[3, :2]  # joint 3 taken from person b
    assert np.nonzero(wrong_joints(pred, 0, [a, b]))[0].tolist() == [3]
    assert not wrong_joints(pred, -1, [a, b]).any()


@pytest.fixture(scope="module")
def run_with_maps(tmp_path_factory):
    """A small trained classifier, and its annotations' maps written as a folder of files."""
    root = tmp_path_factory.mktemp("pred")
    out = root / "run"
    assert run_cli(train.main, ["grouping", "--num-scenes", "8", "--epochs", "2", "--hidden", "16",
                                "--model", "edgeconv-attr", "--pair-attr", "--out", str(out), "--no-progress"]) == 0
    gt = quiet_coco(json.loads((out / "annotations.json").read_text()))
    people = persons_by_image(gt, 17)
    maps_dir = root / "maps"
    maps_dir.mkdir()
    rng = np.random.default_rng(5)
    for i, img in sorted(gt.imgs.items()):
        synthesize_maps(img["width"], img["height"], people[i][2], 17, SynthConfig(), rng).save(maps_dir / f"{i}.npz")
    return out, maps_dir, root


def test_predict_then_coco_equals_evaluate_grouping(run_with_maps, capsys):
    out, maps_dir, root = run_with_maps
    ann = str(out / "annotations.json")
    for decoder in ("gnn", "ae"):
        assert run_cli(evaluate.main, ["grouping", "--checkpoint", str(out / "best.pt"), "--annotations", ann,
                                       "--maps", str(maps_dir), "--decoder", decoder,
                                       "--out", str(root / f"ev_{decoder}")]) == 0
        ckpt = ["--checkpoint", str(out / "best.pt")] if decoder == "gnn" else []  # ae: no checkpoint at all
        assert run_cli(predict.main, ["grouping", "--maps", str(maps_dir), "--decoder", decoder, *ckpt,
                                      "--out", str(root / f"pr_{decoder}"), "--viz", "2"]) == 0
        predicted = json.loads((root / f"pr_{decoder}" / "results.json").read_text())
        assert predicted == json.loads((root / f"ev_{decoder}" / "results.json").read_text())
        assert len(list((root / f"pr_{decoder}").glob("grouping_*.png"))) == 2
        assert run_cli(evaluate.main, ["coco", "--gt", ann, "--results", str(root / f"pr_{decoder}" / "results.json"),
                                       "--out", str(root / f"co_{decoder}")]) == 0
        coco = json.loads((root / f"co_{decoder}" / "eval.json").read_text())
        grouping = json.loads((root / f"ev_{decoder}" / "eval.json").read_text())
        for key in ("AP", "AP50", "AP75", "AR"):
            assert coco[key] == grouping[key], (decoder, key)
    assert "8 images" in capsys.readouterr().out


def test_compiled_classifier_predicts_the_eager_persons(run_with_maps, tmp_path, monkeypatch, capsys):
    """`--compile on` compiles the classifier once into the cache; `--compile auto` then finds it
    (here after 2 graphs scored eagerly; by default after 5,000, since loading it costs seconds);
    the persons are those of the eager classifier (scores within 1e-4)."""
    out, maps_dir, root = run_with_maps
    monkeypatch.setenv("POSEGRAPH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(PairScorer, "auto_after", 2)
    runs = {}
    for mode in ("off", "on", "auto"):
        assert run_cli(predict.main, ["grouping", "--maps", str(maps_dir), "--checkpoint", str(out / "best.pt"),
                                      "--compile", mode, "--out", str(tmp_path / mode)]) == 0
        runs[mode] = json.loads((tmp_path / mode / "results.json").read_text())
    assert len(list((tmp_path / "cache" / "aot").glob("*.pt2"))) == 1
    for mode in ("on", "auto"):
        assert len(runs[mode]) == len(runs["off"]) > 0
        for a, b in zip(runs[mode], runs["off"]):
            assert a["image_id"] == b["image_id"] and a["keypoints"] == b["keypoints"]
            assert a["score"] == pytest.approx(b["score"], abs=1e-4)


def _featured_graph(ckpt, maps_dir):
    """The first map file's candidate graph with the features of the checkpoint's classifier."""
    cfg = GroupingConfig.from_dict(ckpt["config"])
    maps = read_ae_maps(maps_dir, map_image_ids(maps_dir)[0], 17)
    return finalize_features(build_graph(maps, COCO17, cfg.graph), 17, stats=ckpt["normalization"]["tag_stats"],
                             **feature_settings(cfg))


def test_auto_loads_the_compiled_classifier_only_after_auto_after_graphs(run_with_maps, tmp_path, monkeypatch):
    out, maps_dir, _ = run_with_maps
    monkeypatch.setenv("POSEGRAPH_CACHE", str(tmp_path / "cache"))
    ckpt = load_checkpoint(out / "best.pt", "grouping")
    graph = _featured_graph(ckpt, maps_dir)
    compile_checkpoint(out / "best.pt", [graph], "cpu")  # the cache has it
    scorer = checkpoint_scorer(ckpt, out / "best.pt", "cpu", "auto")
    monkeypatch.setattr(scorer, "auto_after", 3)
    for _ in range(3):
        scorer(graph)
        assert scorer.compiled is None  # still eager
    probs = scorer(graph)
    assert scorer.compiled is not None  # the 4th graph: loaded from the cache
    np.testing.assert_allclose(probs, checkpoint_scorer(ckpt, out / "best.pt", "cpu", "off")(graph), atol=1e-5)


def test_bad_map_folders_give_one_line_errors(run_with_maps, tmp_path, capsys):
    out, maps_dir, _ = run_with_maps
    ckpt = ["--checkpoint", str(out / "best.pt")]
    (tmp_path / "empty").mkdir()
    (tmp_path / "named").mkdir()
    (tmp_path / "named" / "photo.npz").write_bytes(b"x")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "3.npz").write_text("not maps")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    rng = np.random.default_rng(0)
    synthesize_maps(64, 64, [], 17, SynthConfig(), rng).save(mixed / "1.npz")
    synthesize_maps(64, 64, [], 17, SynthConfig(tag_dim=2), rng).save(mixed / "2.npz")
    lifting_ckpt = tmp_path / "lift"
    assert run_cli(train.main, ["lifting", "--epochs", "1", "--downsample", "64", "--hidden", "8",
                                "--out", str(lifting_ckpt), "--no-progress"]) == 0
    capsys.readouterr()
    for argv, message in (
            (["--maps", str(tmp_path / "empty"), "--decoder", "ae"], "empty: no <image_id>.npz map files"),
            (["--maps", str(tmp_path / "nowhere"), "--decoder", "ae"], "nowhere: not a folder of <image_id>.npz"),
            (["--maps", str(tmp_path / "named"), "--decoder", "ae"], "photo.npz: the file name is not an image id"),
            (["--maps", str(tmp_path / "junk"), "--decoder", "ae"], "3.npz: not a readable .npz file"),
            (["--maps", str(mixed), "--decoder", "ae"], "2.npz: tags have 2 dimension(s), expected 1"),
            (["--maps", str(mixed), *ckpt], "2.npz: tags have 2 dimension(s), expected 1"),
            (["--maps", str(maps_dir), "--dataset", "crowdpose"], "--decoder gnn: needs --checkpoint for crowdpose maps"),
            (["--maps", str(maps_dir), "--checkpoint", str(lifting_ckpt / "best.pt")],
             "best.pt: is a lifting checkpoint, expected grouping"),
            (["--maps", str(maps_dir), *ckpt, "--dataset", "crowdpose"], "--dataset crowdpose:"),
            (["--maps", str(maps_dir), "--decoder", "ae", "--dataset", "crowdpose"],
             "1.npz: 17 heatmaps, expected 14 keypoint types")):
        rc = run_cli(predict.main, ["grouping", *argv, "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert rc == 2 and message in err and err.count("\n") == 1, (argv, err)


def test_coco_results_round_every_person_of_an_image():
    from tasks.grouping.results import coco_results

    a = np.zeros((17, 3))
    a[0] = (10.12345, 20.98765, 0.876543)
    b = np.full((17, 3), 1.00049)
    got = coco_results(7, [(a, 0.1234567), (b, 2.0)])
    assert [r["score"] for r in got] == [0.12346, 2.0] and [r["image_id"] for r in got] == [7, 7]
    assert got[0]["keypoints"][:3] == [10.123, 20.988, 0.877] and got[0]["keypoints"][3:] == [0.0] * 48
    assert got[1]["keypoints"] == [1.0] * 51 and all(isinstance(v, float) for v in got[1]["keypoints"])
    assert coco_results(7, []) == []


def test_features_do_not_depend_on_a_models_tag_scale():
    """Per-map tag normalisation: tags scaled and shifted (another model's tag unit) give the
    same vertex features and edge / pair attributes, so the same pair probabilities."""
    from datasets.graph.features import finalize_features

    maps, _ = _two_people_maps()
    other = AEMaps(maps.heatmaps, maps.tags * 7.0 + 3.0, maps.factor, maps.offset)
    a, b = (finalize_features(build_graph(m, COCO17, GraphConfig()), 17, "per-map") for m in (maps, other))
    for key in ("x", "edge_attr", "pair_attr"):
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-5)


def test_score_feature_per_map_leaves_out_a_models_heatmap_calibration():
    from datasets.graph.features import finalize_features

    maps, _ = _two_people_maps()
    lower = AEMaps(maps.heatmaps * 0.5, maps.tags, maps.factor, maps.offset)  # peaks half as high
    raw, per_map = (finalize_features(build_graph(maps, COCO17, GraphConfig()), 17, "per-map", score_norm=s)
                    for s in ("raw", "per-map"))
    low = finalize_features(build_graph(lower, COCO17, GraphConfig(threshold=0.05)), 17, "per-map", score_norm="per-map")
    col = 2 + 17  # position (2), type one-hot (17), then the score
    assert float(per_map.x[:, col].max()) == 1.0
    torch.testing.assert_close(per_map.x[:, col], raw.x[:, col] / raw.x[:, col].max())
    torch.testing.assert_close(low.x, per_map.x, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="graph.score_norm max: expected one of raw, per-map"):
        GraphConfig(score_norm="max")


def test_a_checkpoint_without_tag_dim_is_a_one_line_error(run_with_maps, tmp_path, capsys):
    out, maps_dir, _ = run_with_maps
    ckpt = torch.load(out / "best.pt", weights_only=False)
    del ckpt["tag_dim"]
    from core.checkpoint import save_checkpoint
    save_checkpoint(tmp_path / "old.pt", ckpt)
    capsys.readouterr()
    for main, argv in ((predict.main, ["grouping", "--maps", str(maps_dir)]),
                       (evaluate.main, ["grouping", "--annotations", str(out / "annotations.json")])):
        rc = run_cli(main, argv + ["--checkpoint", str(tmp_path / "old.pt"), "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert rc == 2 and "old.pt: checkpoint has no 'tag_dim' (written by an older version; retrain)" in err, err
        assert err.count("\n") == 1


def test_map_files_named_with_zero_padding_and_two_files_of_one_id(tmp_path):
    """COCO names files with zero padding: `000000000002.npz` is image 2; `2.npz` beside `02.npz`
    is an error naming both, never two images merged."""
    import shutil
    from core.errors import InputError
    from datasets.ae_maps import map_files
    folder = tmp_path / "maps"
    folder.mkdir()
    maps, _ = _two_people_maps()
    padded = folder / "000000000002.npz"
    maps.save(padded)
    maps.save(folder / "10.npz")
    assert map_files(folder) == {2: padded, 10: folder / "10.npz"} and map_image_ids(folder) == [2, 10]
    np.testing.assert_array_equal(read_ae_maps(folder, 2, 17).heatmaps, maps.heatmaps)
    shutil.copy(padded, folder / "02.npz")
    for call in (lambda: map_image_ids(folder), lambda: read_ae_maps(folder, 2, 17)):
        with pytest.raises(InputError, match="000000000002.npz and 02.npz: two map files of image 2|"
                                             "02.npz and 000000000002.npz: two map files of image 2"):
            call()
