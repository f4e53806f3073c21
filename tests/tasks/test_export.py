"""predict.py export: every lifting model as ONNX (checked with onnxruntime against PyTorch, 1e-5)
and as a torch.export program, with a dynamic batch axis."""
import numpy as np
import pytest
import torch

import predict
from core.checkpoint import save_checkpoint
from core.cli import run_cli
from datasets.skeleton import H36M16, H36M17
from tasks import lifting

ort = pytest.importorskip("onnxruntime", reason="onnxruntime (a test requirement) is not installed")
pytest.importorskip("onnxscript", reason="onnxscript (torch's ONNX exporter needs it) is not installed")


def _checkpoint(tmp_path, name, skeleton):
    cfg = lifting.LiftingConfig(model=lifting.LiftingModelConfig(name=name, hidden=16, blocks=1),
                                joints=skeleton.num_joints)
    spec = lifting.model_spec(cfg.model, skeleton)
    torch.manual_seed(0)
    model = lifting.model_from_spec(spec)
    for m in model.modules():  # non-trivial BatchNorm statistics
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.2, 0.2), m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / f"{name}.pt"
    save_checkpoint(path, {"task": "lifting", "model": spec, "state_dict": model.state_dict(),
                           "config": cfg.to_dict(), "skeleton": skeleton.name})
    return path, model.eval()


@pytest.mark.parametrize("name", lifting.MODEL_NAMES)
def test_export_onnx_and_pt2_equal_pytorch(name, tmp_path):
    skeleton = H36M17 if name == "gcn" else H36M16
    ckpt, model = _checkpoint(tmp_path, name, skeleton)
    x = torch.randn(37, skeleton.num_joints, 2)  # another batch size than the export's example
    with torch.no_grad():
        ref = model(x, skeleton.edge_index()).numpy()
    assert run_cli(predict.main, ["export", "--checkpoint", str(ckpt), "--out", str(tmp_path / "m.onnx")]) == 0
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": x.numpy()})[0], ref, atol=1e-5, rtol=1e-5)
    if name in ("semgcn", "linear"):  # the .pt2 path once per model family (it is slower to test)
        assert run_cli(predict.main, ["export", "--checkpoint", str(ckpt), "--out", str(tmp_path / "m.pt2")]) == 0
        program = torch.export.load(str(tmp_path / "m.pt2"))
        np.testing.assert_allclose(program.module()(x).detach().numpy(), ref, atol=1e-5, rtol=1e-5)


def test_export_needs_a_known_suffix(tmp_path, capsys):
    ckpt, _ = _checkpoint(tmp_path, "semgcn", H36M16)
    rc = run_cli(predict.main, ["export", "--checkpoint", str(ckpt), "--out", str(tmp_path / "m.bin")])
    assert rc == 2 and "expected a .onnx or .pt2 file name" in capsys.readouterr().err


def test_export_into_a_folder_that_cannot_be_made_and_without_the_onnx_packages(tmp_path, capsys, monkeypatch):
    import importlib.util
    ckpt, _ = _checkpoint(tmp_path, "semgcn", H36M16)
    (tmp_path / "file").write_text("x")
    rc = run_cli(predict.main, ["export", "--checkpoint", str(ckpt), "--out", str(tmp_path / "file" / "m.pt2")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "m.pt2: cannot create its folder" in err
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript" else real(name, *a))
    rc = run_cli(predict.main, ["export", "--checkpoint", str(ckpt), "--out", str(tmp_path / "m.onnx")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "ONNX export needs the onnxscript package: pip install onnxscript" in err


@pytest.mark.parametrize("model_flags", [["--model", "edgeconv-attr", "--pair-attr"], ["--preset", "reference"]])
def test_grouping_classifier_exports_with_dynamic_graph_sizes(model_flags, tmp_path):
    """predict.py export of a grouping checkpoint: onnxruntime and the torch.export program give the
    fused classifier's pair probabilities on candidate graphs of other sizes than the example's."""
    import train
    from core.checkpoint import load_checkpoint
    from tasks.grouping.export import ClassifierForExport
    from tasks.grouping.model import model_from_spec
    out = tmp_path / "run"
    assert run_cli(train.main, ["grouping", "--num-scenes", "6", "--epochs", "1", "--hidden", "16",
                                "--out", str(out), "--no-progress"] + model_flags) == 0
    ckpt = load_checkpoint(out / "best.pt", "grouping")
    model = model_from_spec(ckpt["model"])
    model.load_state_dict(ckpt["state_dict"])
    wrapped = ClassifierForExport(model.eval())
    for suffix in (".onnx", ".pt2"):
        assert run_cli(predict.main, ["export", "--checkpoint", str(out / "best.pt"),
                                      "--out", str(tmp_path / f"c{suffix}")]) == 0
    session = ort.InferenceSession(str(tmp_path / "c.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == wrapped.input_names()
    program = torch.export.load(str(tmp_path / "c.pt2")).module()
    kw = ckpt["model"]["kwargs"]
    g = torch.Generator().manual_seed(1)
    for M, E, P in ((40, 120, 90), (3, 2, 1), (200, 900, 700)):
        full = {"x": torch.randn(M, kw["in_channels"], generator=g),
                "edge_index": torch.randint(0, M, (2, E), generator=g), "edge_attr": torch.randn(E, kw["edge_dim"], generator=g),
                "pair_index": torch.randint(0, M, (2, P), generator=g), "pair_attr": torch.randn(P, kw["edge_dim"], generator=g)}
        inputs = [full[n] for n in wrapped.input_names()]
        with torch.no_grad():
            ref = wrapped(*inputs).numpy()
        got = session.run(None, {n: t.numpy() for n, t in zip(wrapped.input_names(), inputs)})[0]
        np.testing.assert_allclose(got, ref, atol=1e-5, rtol=1e-4)
        np.testing.assert_allclose(program(*inputs).detach().numpy(), ref, atol=1e-5, rtol=1e-4)
    # A user's path from a map file to the ONNX inputs: the public helper gives predict.py's probabilities.
    from datasets.synthetic.ae_maps import synthesize_maps, SynthConfig
    from tasks.grouping.export import classifier_inputs_from_maps
    from tasks.grouping.prediction import predict_image
    from tasks.grouping.probabilities import checkpoint_scorer
    from tasks.grouping.config import GroupingConfig
    from core.checkpoint import checkpoint_config
    people = np.zeros((2, 17, 3))
    for p, x0 in enumerate((120, 330)):
        people[p, :, 0], people[p, :, 1], people[p, :, 2] = x0 + np.arange(17) % 3 * 12, 60 + np.arange(17) * 20, 2
    anns = [{"keypoints": k.ravel().tolist()} for k in people]
    synthesize_maps(512, 512, anns, 17, SynthConfig(), np.random.default_rng(0)).save(tmp_path / "7.npz")
    feed = classifier_inputs_from_maps(out / "best.pt", tmp_path / "7.npz")
    got = session.run(None, {n: feed[n] for n in wrapped.input_names()})[0]
    cfg = checkpoint_config(ckpt, out / "best.pt", GroupingConfig.from_dict)
    from datasets.ae_maps import read_ae_maps
    scorer = checkpoint_scorer(ckpt, out / "best.pt", "cpu", "off")
    graph = predict_image(read_ae_maps(tmp_path, 7, 17), 7, "gnn", cfg, scorer, ckpt["normalization"]["tag_stats"]).graph
    assert got.shape == (graph.pair_index.size(1),) and got.size > 10 and feed["positions"].shape == (graph.num_nodes, 2)
    np.testing.assert_allclose(got, scorer(graph), atol=1e-5, rtol=1e-4)
