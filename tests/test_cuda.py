"""CUDA correctness: every model gives the CPU's outputs and gradients on the GPU, and both
tasks train and evaluate with `--device cuda` to the numbers the CPU gets from the same
checkpoint. Skipped where no CUDA device is visible: CI has none, and the suite hides GPUs
unless run as `pytest --cuda tests/test_cuda.py` (see tests/conftest.py)."""
import copy
import json

import pytest
import torch

import evaluate
import train
from datasets.skeleton import H36M16
from gnn.models import EdgeClassifier, GraFormer, LinearLifter, SemGCN
from core.errors import InputError
from tasks.grouping.probabilities import PairScorer
from core.cli import run_cli
from tests.conftest import batch_of

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA device visible (CI has none; on a GPU machine: pytest --cuda tests/test_cuda.py)")


def _grads(model):
    return {n: p.grad.detach().cpu() for n, p in model.named_parameters() if p.grad is not None}


def _same_on_cuda(model, inputs, atol=1e-4):
    """Forward and backward of `model` on CPU and on CUDA (a copy): outputs and gradients agree."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    for m in model.modules():  # dropout draws differ between devices: compare without it
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    gpu = copy.deepcopy(model).cuda()
    for mode in ("train", "eval"):
        model.train(mode == "train"), gpu.train(mode == "train")
        model.zero_grad(), gpu.zero_grad()
        out = model(*inputs)
        out_g = gpu(*[t.cuda() if torch.is_tensor(t) else t for t in inputs])
        torch.testing.assert_close(out_g.cpu(), out, atol=atol, rtol=1e-4)
        out.square().sum().backward()
        out_g.square().sum().backward()
        cpu_g, gpu_g = _grads(model), _grads(gpu)
        assert cpu_g.keys() == gpu_g.keys() and cpu_g
        for name in cpu_g:
            torch.testing.assert_close(gpu_g[name], cpu_g[name], atol=atol * 10, rtol=1e-3,
                                       msg=lambda m, name=name: f"{name}: {m}")


@pytest.mark.parametrize("kind", ["sem", "sem-ch", "gcn", "nonlocal", "modulated", "graformer", "linear"])
def test_lifting_models_match_cpu(kind):
    torch.manual_seed(0)
    J, ei = H36M16.num_joints, H36M16.edge_index()
    B = 16
    x = torch.randn(B, J, 2)
    if kind == "linear":
        model, inputs = LinearLifter(J), (x,)
    elif kind == "graformer":  # the fixed-topology call; no dropout, so that both devices draw nothing
        model, inputs = GraFormer(J, hidden_channels=32, num_layers=2, dropout=0.0, inner_dropout=0.0), (x, ei)
    elif kind == "modulated":
        model = SemGCN(J, ei.size(1), hidden_channels=32, num_blocks=2, conv="modulated", edges=ei.tolist())
        inputs = (x.view(-1, 2), *batch_of(H36M16, B))
    else:
        conv = "sem" if kind == "nonlocal" else kind
        groups = H36M16.joint_groups if kind == "nonlocal" else None
        model = SemGCN(J, ei.size(1), hidden_channels=32, num_blocks=2, conv=conv, joint_groups=groups)
        inputs = (x.view(-1, 2), *batch_of(H36M16, B))
    _same_on_cuda(model, inputs)


@pytest.mark.parametrize("attr_in_conv,pair_attr", [(False, False), (True, False), (True, True)])
def test_edge_classifier_matches_cpu(attr_in_conv, pair_attr, tmp_path):
    torch.manual_seed(0)
    M, E = 40, 60
    x, pairs = torch.randn(M, 12), torch.randint(0, M, (2, E))
    ei = torch.cat([pairs, pairs.flip(0)], 1)
    attr = torch.randn(2 * E, 5)
    model = EdgeClassifier(12, 5, hidden_channels=16, edge_attr_in_conv=attr_in_conv, pair_attr=pair_attr)
    inputs = (x, ei, attr, pairs, torch.randn(E, 5) if pair_attr else None)
    _same_on_cuda(model, inputs)
    model.eval()
    fused = model.fused().cuda()  # the folded inference copy on the GPU
    on_gpu = [t.cuda() if t is not None else None for t in inputs]
    torch.testing.assert_close(fused(*on_gpu).cpu(), model(*inputs), atol=1e-4, rtol=1e-4)
    # The AOTInductor copy is CPU-only until loading it on CUDA stops crashing: `on` refuses, `auto` is eager.
    with pytest.raises(InputError, match="CPU-only"):
        PairScorer(model, "cuda", "on")
    assert PairScorer(model, "cuda", "auto").compile == "off"


def test_lifting_cli_on_cuda_evaluates_as_on_cpu(tiny_h36m, tmp_path):
    out = tmp_path / "run"
    assert run_cli(train.main, ["lifting", "--data", str(tiny_h36m), "--out", str(out), "--epochs", "2",
                                "--hidden", "32", "--blocks", "1", "--device", "cuda", "--no-progress"]) == 0
    scores = {}
    for dev in ("cuda", "cpu"):
        assert run_cli(evaluate.main, ["lifting", "--checkpoint", str(out / "best.pt"), "--device", dev,
                                       "--out", str(tmp_path / dev)]) == 0
        scores[dev] = json.loads((tmp_path / dev / "eval.json").read_text())
    assert scores["cuda"]["MPJPE"] == pytest.approx(scores["cpu"]["MPJPE"], abs=1e-3)
    assert scores["cuda"]["P-MPJPE"] == pytest.approx(scores["cpu"]["P-MPJPE"], abs=1e-3)


@pytest.mark.parametrize("model", ["edgeconv", "edgeconv-attr"])
def test_grouping_cli_on_cuda_evaluates_as_on_cpu(model, tmp_path):
    """Also: scoring the validation graphs on the GPU leaves them on the CPU (PyG's Data.to
    moves in place; train.py reads their labels with numpy)."""
    out = tmp_path / "run"
    assert run_cli(train.main, ["grouping", "--num-scenes", "10", "--epochs", "3", "--hidden", "16",
                                "--model", model, "--device", "cuda", "--out", str(out), "--no-progress"]) == 0
    scores = {}
    for dev in ("cuda", "cpu"):
        assert run_cli(evaluate.main, ["grouping", "--checkpoint", str(out / "best.pt"), "--annotations",
                                       str(out / "annotations.json"), "--device", dev,
                                       "--out", str(tmp_path / dev)]) == 0
        scores[dev] = json.loads((tmp_path / dev / "eval.json").read_text())
    for key in ("AP", "AP50", "edge_accuracy", "persons"):
        assert scores["cuda"][key] == pytest.approx(scores["cpu"][key], abs=1e-3), key


@pytest.mark.parametrize("conv,groups", [("sem", None), ("sem-ch", None), ("gcn", None), ("sem", H36M16.joint_groups)])
def test_fixed_topology_path_on_cuda(conv, groups):
    torch.manual_seed(0)
    model = SemGCN(16, H36M16.edge_index().size(1), hidden_channels=32, num_blocks=2, conv=conv,
                   joint_groups=groups)
    _same_on_cuda(model, (torch.randn(6, 16, 2), H36M16.edge_index()))


def test_compiled_bf16_training_step_on_cuda():
    from tasks import lifting
    torch.manual_seed(0)
    model = SemGCN(16, H36M16.edge_index().size(1), hidden_channels=32, num_blocks=1).cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    step = lifting.TrainStep(model, opt, lifting.make_scheduler(opt, 0.96, 10), 1.0, H36M16.edge_index().cuda(),
                             compile=True, bf16=True)
    x, y = torch.randn(64, 16, 2, device="cuda"), torch.randn(64, 16, 3, device="cuda") * 0.3
    losses = [float(step(x, y)) for _ in range(5)]
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0]
