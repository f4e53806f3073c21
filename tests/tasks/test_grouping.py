import json

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score

import evaluate
import train
from datasets.synthetic.ae_maps import SynthConfig, synthesize_maps
from datasets.coco import persons_by_image, quiet_coco
from datasets.graph.candidate_graph import build_graph, candidate_pairs
from datasets.graph.config import GraphConfig
from datasets.graph.features import finalize_features
from datasets.graph.labels import label_graph
from datasets.skeleton import COCO17
from datasets.synthetic.scenes import synthetic_scenes
from gnn.conv import EdgeConvAttr
from gnn.models import EdgeClassifier
from tasks import grouping
from core.cli import run_cli
from tasks.coco_eval import oks_ap
from core.atomic_io import read_jsonl


@pytest.fixture(scope="module")
def clean_scenes():
    """Synthetic scenes with noise-free maps: no jitter, misses or false positives; tags far
    apart; images where two people have same-type keypoints closer than 5 heatmap pixels
    (whose peaks merge, so no decoder can recover both) left out. -> (gt COCO, graphs)."""
    d = synthetic_scenes(16, seed=4, max_people=4)
    people = persons_by_image(quiet_coco(d), 17)
    keep = set()
    for image_id, (kps, _, _) in people.items():
        vis = kps[..., 2] > 0
        d2 = np.linalg.norm(kps[:, None, :, :2] - kps[None, :, :, :2], axis=-1)  # (P, P, K)
        close = (d2 < 5 * 4) & vis[:, None] & vis[None] & ~np.eye(len(kps), dtype=bool)[..., None]
        if not close.any():
            keep.add(image_id)
    assert len(keep) >= 8
    d = {**d, "images": [i for i in d["images"] if i["id"] in keep],
         "annotations": [a for a in d["annotations"] if a["image_id"] in keep]}
    gt = quiet_coco(d)
    people = persons_by_image(gt, 17)
    cfg = SynthConfig.clean(tag_spread=20.0)
    rng = np.random.default_rng(0)
    graphs = []
    for image_id, img in sorted(gt.imgs.items()):
        kps, areas, anns = people[image_id]
        maps = synthesize_maps(img["width"], img["height"], anns, 17, cfg, rng)
        g = label_graph(build_graph(maps, COCO17, GraphConfig(radius=None), image_id), kps, areas,
                        GraphConfig(radius=None))
        graphs.append(finalize_features(g, 17, "per-map"))
    return gt, graphs


def _ap(gt, graphs, decode):
    results = []
    for g in graphs:
        results += grouping.coco_results(int(g.image_id), decode(g))
    return oks_ap(gt, results)[0]


def test_oracle_round_trip_scores_one(clean_scenes):
    gt, graphs = clean_scenes
    stats = _ap(gt, graphs, lambda g: grouping.decode_oracle(g, 17))
    assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)


def test_gnn_decoder_with_true_edge_labels_scores_one(clean_scenes):
    gt, graphs = clean_scenes
    # All candidate pairs (knn over every candidate), labelled with the truth.
    complete = GraphConfig(edges="knn", knn=1000, radius=None)
    full = []
    for g in graphs:
        pairs = candidate_pairs(g.pos, g.jtype, COCO17, complete, 128, mode="knn")
        same = (g.person[pairs[0]] == g.person[pairs[1]]) & (g.person[pairs[0]] >= 0)
        full.append((g, pairs, same.float().numpy()))
    results = []
    for g, pairs, y in full:
        h = g.clone()
        h.pair_index = pairs
        results += grouping.coco_results(int(g.image_id), grouping.decode_gnn(h, y, 17, 0.5, 1))
    assert oks_ap(gt, results)[0]["AP"] == pytest.approx(1.0)
    # Wrong labels merge everybody into one person per image: far from 1.
    bad = _ap(gt, graphs, lambda g: grouping.decode_gnn(g, np.ones(g.y.numel()), 17, 0.5, 1))
    assert bad["AP"] < 0.5


def test_ae_decoder_with_separated_tags_scores_one(clean_scenes):
    gt, graphs = clean_scenes
    stats = _ap(gt, graphs, lambda g: grouping.decode_ae(g, 17, tag_threshold=1.0, min_keypoints=1))
    assert stats["AP"] == pytest.approx(1.0)


def test_decoders_keep_one_keypoint_per_type():
    g = label_graph(build_graph(synthesize_maps(100, 100, [], 17, SynthConfig(false_positives=3.0),
                                                np.random.default_rng(1)), COCO17, GraphConfig()),
                    np.zeros((0, 17, 3)), np.zeros(0), GraphConfig())
    assert g.num_nodes > 5 and g.y.sum() == 0
    for persons in (grouping.decode_gnn(g, np.ones(g.pair_index.size(1)), 17, 0.5, 1),
                    grouping.decode_ae(g, 17, 1e9, 1)):
        total = sum(int((kps[:, 2] > 0).sum()) for kps, _ in persons)
        assert total == g.num_nodes  # every candidate placed once
        for kps, score in persons:
            assert 0 < score <= 1
    assert grouping.decode_oracle(g, 17) == []


def test_edge_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    labels = rng.random(200) < 0.3
    probs = np.clip(labels * 0.4 + rng.random(200) * 0.6, 0, 1)
    m = grouping.edge_metrics(probs, labels)
    assert m["edge_accuracy"] == pytest.approx(accuracy_score(labels, probs >= 0.5))
    assert m["edge_f1"] == pytest.approx(f1_score(labels, probs >= 0.5))
    assert 0.5 < m["edge_roc_auc"] <= 1 and 0.3 < m["edge_ap"] <= 1


def test_edge_conv_attr_equals_the_concatenation_form():
    torch.manual_seed(0)
    conv = EdgeConvAttr(3, 2, 4, hidden_channels=5).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        conv.norm.running_mean.normal_()
        conv.norm.running_var.uniform_(0.5, 2.0)
    # Reference: the message MLP on the concatenation [x_i, x_j - x_i, e], max over neighbours.
    W = conv.first_layer_weight()

    def h(xi, xj, e):
        z = torch.cat([xi, xj - xi, e]) @ W.t() + conv.lin_i.bias
        return conv.lin_out(torch.relu(conv.norm(z[None]))[0])
    x, attr = torch.randn(3, 3), torch.randn(3, 2)
    edge_index = torch.tensor([[1, 2, 0], [0, 0, 1]])
    out = conv(x, edge_index, attr)
    torch.testing.assert_close(out[0], torch.maximum(h(x[0], x[1], attr[0]), h(x[0], x[2], attr[1])))
    torch.testing.assert_close(out[1], h(x[1], x[0], attr[2]))
    torch.testing.assert_close(out[2], torch.zeros(4))  # no incoming edge


@pytest.mark.parametrize("attr_in_conv,pair_attr", [(False, False), (True, False), (True, True)])
def test_edge_classifier_pair_layer_and_fused_copy(attr_in_conv, pair_attr):
    torch.manual_seed(0)
    model = EdgeClassifier(5, 2, hidden_channels=8, edge_attr_in_conv=attr_in_conv, pair_attr=pair_attr)
    x, attr = torch.randn(6, 5), torch.randn(6, 2)
    pairs = torch.tensor([[0, 1, 2], [3, 4, 5]])
    ei = torch.cat([pairs, pairs.flip(0)], 1)
    pattr = torch.randn(3, 2) if pair_attr else None
    model.train()
    for _ in range(3):  # running statistics that differ from the identity
        model(x * 3 + 1, ei, attr, pairs, pattr)
    model.eval()
    a = model(x, ei, attr, pairs, pattr)
    # The first pair layer equals a Linear on the concatenation [h_i, h_j] (or [h_i, h_j, e_ij]).
    h = model.encoder(x)
    for conv in model.convs:
        h = (conv(h, ei, attr) if attr_in_conv else conv(h, ei)).relu()
    W = torch.cat([model.pair_i.weight, model.pair_j.weight], 1)
    cat = torch.cat([h[pairs[0]], h[pairs[1]]], 1)
    if pair_attr:
        W, cat = torch.cat([W, model.pair_e.weight], 1), torch.cat([cat, pattr], 1)
    z = cat @ W.t() + model.pair_i.bias
    torch.testing.assert_close(a, model.classifier(model.pair_norm(z).relu()).view(-1))
    # The inference copy with folded BatchNorms gives the same logits and has no BatchNorm left.
    fused = model.fused()
    torch.testing.assert_close(fused(x, ei, attr, pairs, pattr), a, rtol=1e-5, atol=1e-5)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in fused.modules())
    assert fused.pair_ij is not None and all(c.lin_ij is not None for c in fused.convs if attr_in_conv)
    assert model.training is False and any(
        isinstance(m, torch.nn.BatchNorm1d) for m in model.modules())  # the original is untouched
    model(x, ei, attr, pairs, pattr).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_train_and_evaluate_grouping_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli(train.main, ["grouping", "--num-scenes", "10", "--epochs", "2", "--hidden", "16",
                                "--out", str(out), "--no-progress"]) == 0
    records = read_jsonl(out / "metrics.jsonl")
    assert [r["epoch"] for r in records] == [1, 2]
    for key in ("loss", "edge_accuracy", "edge_precision", "edge_recall", "edge_f1", "edge_roc_auc", "edge_ap"):
        assert key in records[0]
    assert (out / "best.pt").exists() and (out / "loss_curve.png").exists()
    from core.checkpoint import load_checkpoint
    for name in ("best.pt", "last.pt"):  # the person floor, chosen after training, is in the checkpoint
        ckpt = load_checkpoint(out / name, "grouping")
        choice = ckpt["person_floor_choice"]
        assert ckpt["config"]["person_floor"] == choice["floor"] >= 0 and choice["images"] == 10
        assert choice["persons_after"] <= choice["persons_before"]
        assert choice["AP_after"] >= choice["AP_before"] - 0.005 and choice["AR_after"] >= choice["AR_before"] - 0.005
    for decoder in ("gnn", "ae", "oracle"):
        ev = tmp_path / decoder
        assert run_cli(evaluate.main, ["grouping", "--checkpoint", str(out / "best.pt"),
                                       "--annotations", str(out / "annotations.json"), "--decoder",
                                       decoder, "--out", str(ev), "--viz", "1"]) == 0
        result = json.loads((ev / "eval.json").read_text())
        for key in ("AP", "AP50", "AP75", "APm", "APl", "AR", "decode_images_per_s"):
            assert key in result
        assert ("edge_accuracy" in result) == (decoder == "gnn")
        res = json.loads((ev / "results.json").read_text())
        assert isinstance(res, list) and len(res) == result["results_written"] == result["persons"] + result["fragments"]
        if decoder != "gnn":  # a 2-epoch GNN may still score every pair below 0.5
            assert res and set(res[0]) == {"image_id", "category_id", "keypoints", "score"}
            assert len(res[0]["keypoints"]) == 51
        assert list(ev.glob("grouping_*.png"))
        if decoder == "oracle":
            assert result["AP"] > 0.5
    # --person-floor 0 and --attach-threshold none at evaluation: every group written, as before.
    assert run_cli(evaluate.main, ["grouping", "--checkpoint", str(out / "best.pt"), "--annotations",
                                   str(out / "annotations.json"), "--out", str(tmp_path / "all"), "--person-floor", "0",
                                   "--attach-threshold", "none", "--batch", "1"]) == 0
    everything = json.loads((tmp_path / "all" / "eval.json").read_text())
    floored = json.loads((tmp_path / "gnn" / "eval.json").read_text())
    assert everything["results_written"] >= floored["results_written"]
    # --merge-threshold 1: no pair merges, every candidate its own group (more of them than merged).
    assert run_cli(evaluate.main, ["grouping", "--checkpoint", str(out / "best.pt"), "--annotations",
                                   str(out / "annotations.json"), "--out", str(tmp_path / "apart"), "--person-floor",
                                   "0", "--attach-threshold", "none", "--merge-threshold", "1"]) == 0
    apart = json.loads((tmp_path / "apart" / "eval.json").read_text())
    assert apart["results_written"] > everything["results_written"] and apart["persons"] == 0
    capsys.readouterr()
    (tmp_path / "maps").mkdir()
    rc = run_cli(evaluate.main, ["grouping", "--checkpoint", str(out / "best.pt"), "--annotations",
                                 str(out / "annotations.json"), "--maps", str(tmp_path / "maps")])
    err = capsys.readouterr().err
    assert rc == 2 and "1.npz: no maps for image 1" in err and err.count("\n") == 1


def test_evaluate_cli_scores_as_the_plain_eval_model(tmp_path):
    """evaluate.py runs the classifier fused (and compiled when the cache has it); on every graph it
    gives the edge metrics of the checkpoint's model run plainly in eval mode."""
    out = tmp_path / "run"
    assert run_cli(train.main, ["grouping", "--num-scenes", "10", "--epochs", "2", "--hidden", "16",
                                "--model", "edgeconv-attr", "--pair-attr", "--out", str(out), "--no-progress"]) == 0
    assert run_cli(evaluate.main, ["grouping", "--checkpoint", str(out / "best.pt"), "--annotations",
                                   str(out / "annotations.json"), "--out", str(tmp_path / "ev")]) == 0
    result = json.loads((tmp_path / "ev" / "eval.json").read_text())
    ckpt = torch.load(out / "best.pt", weights_only=False)
    from tasks.grouping.evaluation import eval_config  # the plain synthesiser, not the training draws
    cfg = eval_config(grouping.GroupingConfig.from_dict(ckpt["config"]), None, "cpu")
    data = grouping.prepare_grouping_data(cfg, out / "annotations.json", cfg.seed + 1)
    graphs = grouping.finalize_all(data.graphs, cfg, ckpt["normalization"]["tag_stats"])
    assert len({g.num_nodes for g in graphs}) > 3  # graphs of many sizes
    model = grouping.model_from_spec(ckpt["model"])
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    with torch.no_grad():
        probs = np.concatenate([torch.sigmoid(grouping.edge_logits(model, g)).numpy() for g in graphs])
    plain = grouping.edge_metrics(probs, torch.cat([g.y for g in graphs]).numpy())
    assert result["edge_ap"] == pytest.approx(plain["edge_ap"], abs=1e-6)
    assert result["edge_accuracy"] == pytest.approx(plain["edge_accuracy"], abs=1e-6)


def test_grouping_resume_equals_straight_run(tmp_path):
    base = ["grouping", "--num-scenes", "6", "--hidden", "8", "--no-progress", "--seed", "2"]
    assert run_cli(train.main, base + ["--epochs", "2", "--out", str(tmp_path / "a")]) == 0
    assert run_cli(train.main, base + ["--epochs", "3", "--out", str(tmp_path / "a"),
                                       "--resume", str(tmp_path / "a" / "last.pt")]) == 0
    assert run_cli(train.main, base + ["--epochs", "3", "--out", str(tmp_path / "b")]) == 0
    resumed, straight = read_jsonl(tmp_path / "a" / "metrics.jsonl"), read_jsonl(tmp_path / "b" / "metrics.jsonl")
    assert [r["epoch"] for r in resumed] == [1, 2, 3]
    for r, s in zip(resumed, straight):
        assert r["loss"] == s["loss"] and r["edge_ap"] == s["edge_ap"]


def test_synthesized_copies_are_new_noise_of_the_training_images(tmp_path):
    cfg = grouping.GroupingConfig(num_scenes=6, synth_copies=3, seed=1)
    ann = grouping.write_builtin_annotations(cfg, tmp_path)
    data = grouping.prepare_grouping_data(cfg, ann, synth_seed=1)
    copies = grouping.synthesized_copies(cfg, data, ann, synth_seed=1)
    assert [int(g.image_id) for g in copies] == data.train_ids * 2
    first = {int(g.image_id): g for g in data.graphs}
    for g in copies:  # same people, new noise: other candidates, other tag values
        assert not torch.equal(g.pos, first[int(g.image_id)].pos)
        assert g.y.sum() > 0
    again = grouping.synthesized_copies(cfg, data, ann, synth_seed=1)
    assert all(torch.equal(a.pos, b.pos) and torch.equal(a.tag, b.tag) for a, b in zip(copies, again))
    with pytest.raises(ValueError, match="^synth_copies 2: needs synthesised maps, not maps"):
        grouping.GroupingConfig(maps=str(tmp_path), synth_copies=2)


def test_images_without_people_or_candidates_are_handled(tmp_path):
    d = synthetic_scenes(3, seed=5)
    empty_id = max(img["id"] for img in d["images"]) + 1
    d["images"].append(dict(d["images"][0], id=empty_id))  # an image nobody is in
    ann = tmp_path / "gt.json"
    ann.write_text(json.dumps(d))
    out = tmp_path / "run"
    # The default synthesiser puts false-positive blobs on the empty image: candidates, no people.
    assert run_cli(train.main, ["grouping", "--annotations", str(ann), "--val-fraction", "0",
                                "--epochs", "1", "--hidden", "8", "--out", str(out), "--no-progress"]) == 0
    for decoder in grouping.DECODERS:
        ev = tmp_path / decoder
        assert run_cli(evaluate.main, ["grouping", "--checkpoint", str(out / "last.pt"), "--annotations",
                                       str(ann), "--decoder", decoder, "--out", str(ev)]) == 0
        assert json.loads((ev / "eval.json").read_text())["images"] == 4
    # No candidates at all: an empty graph, and every decoder returns no person.
    maps = synthesize_maps(64, 64, [], 17, SynthConfig(false_positives=0.0), np.random.default_rng(0))
    g = finalize_features(label_graph(build_graph(maps, COCO17, GraphConfig()), np.zeros((0, 17, 3)), np.zeros(0),
                                      GraphConfig()), 17, "per-map")
    assert g.num_nodes == 0 and g.pair_index.shape == (2, 0) and g.y.numel() == 0
    model = EdgeClassifier(g.x.size(1), g.edge_attr.size(1), hidden_channels=8)
    probs = grouping.edge_probabilities(model, [g], "cpu")[0]
    assert probs.shape == (0,)
    assert grouping.decode_gnn(g, probs, 17) == grouping.decode_ae(g, 17) == grouping.decode_oracle(g, 17) == []


def test_cosine_learning_rate_schedule(tmp_path):
    import math
    assert run_cli(train.main, ["grouping", "--num-scenes", "6", "--hidden", "8", "--no-progress",
                                "--epochs", "3", "--lr", "0.01", "--lr-schedule", "cosine",
                                "--out", str(tmp_path / "c")]) == 0
    lrs = [r["lr"] for r in read_jsonl(tmp_path / "c" / "metrics.jsonl")]
    assert lrs == pytest.approx([0.01 * (1 + math.cos(math.pi * e / 3)) / 2 for e in range(3)])
    with pytest.raises(ValueError, match="^lr_schedule step: expected one of constant, cosine"):
        grouping.GroupingConfig(lr_schedule="step")


def test_graph_options_on_the_command_line_and_older_checkpoints(tmp_path, capsys):
    rc = run_cli(train.main, ["grouping", "--type-nearest", "0", "--out", str(tmp_path / "a")])
    assert rc == 2 and "--type-nearest 0: must be >= 1" in capsys.readouterr().err
    rc = run_cli(train.main, ["grouping", "--radius", "-1", "--out", str(tmp_path / "b")])
    assert rc == 2 and "--radius -1: must be > 0" in capsys.readouterr().err
    a = train.build_parser().parse_args(["grouping", "--type-nearest", "none", "--radius", "0.3",
                                         "--min-keypoints", "3"])
    cfg = train.grouping_config_from_args(a)
    assert cfg.graph.type_nearest is None and cfg.graph.radius == 0.3 and cfg.min_keypoints == 3
    default = train.grouping_config_from_args(train.build_parser().parse_args(["grouping"])).graph
    assert (default.pairs, default.type_nearest) == ("skeleton3", 2)
    reference = train.grouping_config_from_args(train.build_parser().parse_args(["grouping", "--preset", "reference"]))
    assert (reference.graph.pairs, reference.graph.type_nearest, reference.merge_threshold) == ("skeleton2", 3, 0.5)
    flags = ["grouping", "--preset", "reference", "--pairs", "skeleton3", "--type-nearest", "2", "--merge-threshold", "0.1"]
    given = train.grouping_config_from_args(train.build_parser().parse_args(flags))
    assert (given.graph.pairs, given.graph.type_nearest, given.merge_threshold) == ("skeleton3", 2, 0.1)  # flags win
    assert train.grouping_config_from_args(train.build_parser().parse_args(["grouping"])).merge_threshold == 0.02
    rc = run_cli(train.main, ["grouping", "--merge-threshold", "2", "--out", str(tmp_path / "c")])
    assert rc == 2 and "--merge-threshold 2" in capsys.readouterr().err


def test_synthesiser_knobs_on_the_command_line(tmp_path, capsys):
    """`--synth KNOB=VALUE`: parsed as the knob's type, kept in the checkpoint, used by evaluate.py
    (which may change knobs on top of the checkpoint's); bad knobs are one-line errors."""
    out = tmp_path / "run"
    assert run_cli(train.main, ["grouping", "--num-scenes", "6", "--epochs", "1", "--hidden", "8", "--no-progress",
                                "--synth", "tag_dim=2", "--synth", "heatmap_size=96,80", "--synth", "tag_noise=0.05",
                                "--out", str(out)]) == 0
    ckpt = torch.load(out / "best.pt", weights_only=False)
    synth = grouping.GroupingConfig.from_dict(ckpt["config"]).synth
    assert synth == SynthConfig(tag_dim=2, heatmap_size=(96, 80), tag_noise=0.05)
    assert ckpt["tag_dim"] == 2  # stored, not derived from layer widths
    args = ["grouping", "--checkpoint", str(out / "best.pt"), "--annotations", str(out / "annotations.json"),
            "--decoder", "oracle"]
    assert run_cli(evaluate.main, args + ["--out", str(tmp_path / "same")]) == 0
    same = json.loads((tmp_path / "same" / "eval.json").read_text())
    assert same["synth"]["tag_dim"] == 2 and same["synth"]["heatmap_size"] == [96, 80]
    assert run_cli(evaluate.main, args + ["--synth", "miss_prob=0.5", "--out", str(tmp_path / "miss")]) == 0
    miss = json.loads((tmp_path / "miss" / "eval.json").read_text())
    assert miss["synth"]["miss_prob"] == 0.5 and miss["synth"]["tag_dim"] == 2
    assert miss["AP"] < same["AP"] - 0.1  # half the keypoints gone: the oracle loses much of its AP
    capsys.readouterr()
    for argv, message in (
            (args + ["--synth", "tag_dim=1"], "synthesised maps: tags have 1 dimension(s), the model of best.pt reads 2"),
            (["grouping", "--synth", "tag_dim=two"], "--synth 'tag_dim=two': expected an integer"),
            (["grouping", "--synth", "sigma_range=2"], "--synth 'sigma_range=2': expected 2 numbers, comma-separated"),
            (["grouping", "--synth", "noise=1"], "--synth 'noise=1': expected KNOB=VALUE with KNOB one of heatmap_size,"),
            (["grouping", "--synth", "miss_prob=1.5"], "--synth miss_prob=1.5: must be in [0, 1]"),
            (["grouping", "--synth", "sigma_range=2,1"], "--synth sigma_range=2.0,1.0: expected LOW,HIGH with 0 < LOW"),
            (["grouping", "--synth", "tag_noise=nan"], "--synth tag_noise=nan: must be finite"),
            (["grouping", "--synth", "tag_size=1,64"], "--synth tag_size=1,64: each side must be >= 2 pixels"),
            (["grouping", "--maps", str(tmp_path), "--synth", "tag_dim=2"],
             f"--synth tag_dim=2: the maps are read from --maps {tmp_path}, not synthesised"),
            (args + ["--maps", str(tmp_path), "--synth", "jitter=1"],
             f"--synth jitter=1: the maps are read from --maps {tmp_path}, not synthesised")):
        main = evaluate.main if "--checkpoint" in argv else train.main
        rc = run_cli(main, argv + ["--out", str(tmp_path / "bad")])
        err = capsys.readouterr().err
        assert rc == 2 and message in err and err.count("\n") == 1, (argv, err)


def test_init_fine_tunes_a_trained_classifier_and_logs_validation_loss(tmp_path, capsys):
    """`--init CKPT` starts from a trained classifier (same settings only); `--optimizer sgd`;
    metrics.jsonl carries the validation loss beside the training loss."""
    base = ["grouping", "--num-scenes", "6", "--epochs", "1", "--hidden", "8", "--no-progress"]
    assert run_cli(train.main, base + ["--out", str(tmp_path / "a")]) == 0
    first = torch.load(tmp_path / "a" / "best.pt", weights_only=True)
    assert run_cli(train.main, base + ["--init", str(tmp_path / "a" / "best.pt"), "--optimizer", "sgd",
                                       "--lr", "1e-12", "--seed", "1", "--out", str(tmp_path / "b")]) == 0
    tuned = torch.load(tmp_path / "b" / "best.pt", weights_only=True)
    assert tuned["config"]["optimizer"] == "sgd" and tuned["optimizer"]["param_groups"][0]["momentum"] == 0.9
    params = [k for k in first["state_dict"] if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    for k in params:  # lr 1e-12: the weights it started from, not a fresh initialisation
        torch.testing.assert_close(tuned["state_dict"][k], first["state_dict"][k], rtol=0, atol=1e-6)
    record = read_jsonl(tmp_path / "b" / "metrics.jsonl")[0]
    assert list(record)[:4] == ["epoch", "lr", "loss", "val_loss"] and record["val_loss"] > 0
    capsys.readouterr()
    rc = run_cli(train.main, base + ["--hidden", "16", "--init", str(tmp_path / "a" / "best.pt"),
                                     "--out", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert rc == 2 and "--init " in err and "cannot start this run: width (--hidden) 8 vs 16 (the checkpoint's vs this run's)" in err
    from tasks.grouping.model import describe_mismatch  # a CrowdPose run from a COCO checkpoint
    crowd = grouping.GroupingConfig(dataset="crowdpose", model=grouping.GroupingModelConfig(hidden=8))
    assert describe_mismatch(first, grouping.model_spec(crowd, 1), crowd, 1) == \
        "keypoints of coco vs crowdpose (the checkpoint's vs this run's)"
    rc = run_cli(train.main, base + ["--synth", "tag_dim=2", "--init", str(tmp_path / "a" / "best.pt"),
                                     "--out", str(tmp_path / "f")])
    err = capsys.readouterr().err
    assert rc == 2 and "tag dimension 1 vs 2" in err and err.count("\n") == 1, err
    assert run_cli(train.main, base + ["--optimizer", "rmsprop", "--out", str(tmp_path / "d")]) == 2
    assert "--optimizer rmsprop: expected one of adam, sgd" in capsys.readouterr().err


def test_one_definition_of_a_fragment():
    from tasks.grouping.results import FRAGMENT_BELOW, count_persons, describe_counts, is_fragment
    person = np.zeros((17, 3))
    person[:FRAGMENT_BELOW, 2] = 1
    few = person.copy()
    few[FRAGMENT_BELOW - 1, 2] = 0
    assert not is_fragment(person) and is_fragment(few) and is_fragment(person.ravel().tolist()) is False
    results = [{"keypoints": k.ravel().tolist()} for k in (person, few, few)]
    assert count_persons(results) == (1, 2)
    assert describe_counts(results) == f"1 person + 2 fragments (fewer than {FRAGMENT_BELOW} keypoints)"
