"""The training step of the fixed-topology path: compiled and bf16 variants against eager fp32."""
import copy

import pytest
import torch

import train
from core.atomic_io import read_jsonl
from core.cli import run_cli
from datasets.skeleton import H36M16
from tasks import lifting


def _setup():
    torch.manual_seed(0)
    spec = lifting.model_spec(lifting.LiftingModelConfig(hidden=32, blocks=1), H36M16)
    model = lifting.model_from_spec(spec)
    x, y = torch.randn(96, 16, 2), torch.randn(96, 16, 3) * 0.3
    return model, x, y


def _steps(model, x, y, **kwargs):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    step = lifting.TrainStep(model, opt, lifting.make_scheduler(opt, 0.96, 10), 1.0, H36M16.edge_index(), **kwargs)
    return [float(step(x[i:i + 32], y[i:i + 32])) for i in range(0, 96, 32)], step


def test_bf16_step_tracks_fp32():
    model, x, y = _setup()
    fp32, _ = _steps(copy.deepcopy(model), x, y)
    bf16, _ = _steps(copy.deepcopy(model), x, y, bf16=True)
    assert bf16 == pytest.approx(fp32, rel=0.05) and bf16 != fp32  # bfloat16 (8-bit mantissa) products


def test_compiled_training_equals_eager(tiny_h36m, tmp_path):
    """`train.py lifting --compile` (torch.compile of forward, loss and backward) trains as the eager
    step does, to float precision; the first step's time (compilation) is logged."""
    args = ["lifting", "--data", str(tiny_h36m), "--epochs", "1", "--hidden", "16", "--blocks", "1", "--precision", "fp32",
            "--actions", "Walking", "--batch-size", "32", "--no-progress"]
    assert run_cli(train.main, args + ["--out", str(tmp_path / "eager")]) == 0
    assert run_cli(train.main, args + ["--out", str(tmp_path / "compiled"), "--compile", "on"]) == 0
    (e,), (c,) = read_jsonl(tmp_path / "eager" / "metrics.jsonl"), read_jsonl(tmp_path / "compiled" / "metrics.jsonl")
    assert c["loss"] == pytest.approx(e["loss"], rel=1e-4)
    # The conv biases before each BatchNorm get gradients that are zero up to rounding, which Adam
    # scales up to full steps: they, and the BatchNorm running means that track them, drift apart
    # between two float orders of summation, and so does the eval-mode MPJPE, by a few 1e-3.
    assert c["MPJPE"] == pytest.approx(e["MPJPE"], rel=1e-2)
    assert c["first_step_seconds"] > e["first_step_seconds"]


def test_l1_weight_adds_the_mean_absolute_error(tiny_h36m, tmp_path):
    """`--l1-weight w`: loss = MSE + w x mean |error| (Modulated GCN's recipe uses w = 0.1); the first
    step's loss equals that sum computed by hand on the model's first prediction; the weight is
    stored in the checkpoint's config; negative weights are a one-line error."""
    model, x, y = _setup()
    with torch.no_grad():
        pred = copy.deepcopy(model)(x[:32], H36M16.edge_index())
    by_hand = float(((pred - y[:32]) ** 2).mean() + 0.1 * (pred - y[:32]).abs().mean())
    losses, _ = _steps(copy.deepcopy(model), x, y, l1_weight=0.1)
    plain, _ = _steps(copy.deepcopy(model), x, y)
    assert losses[0] == pytest.approx(by_hand, rel=1e-6) and losses[0] > plain[0] + 0.01
    args = ["lifting", "--data", str(tiny_h36m), "--epochs", "1", "--hidden", "16", "--blocks", "1",
            "--actions", "Walking", "--no-progress", "--out", str(tmp_path / "r")]
    assert run_cli(train.main, args + ["--l1-weight", "0.1"]) == 0
    ckpt = torch.load(tmp_path / "r" / "last.pt", weights_only=False)
    assert ckpt["config"]["l1_weight"] == 0.1
    with pytest.raises(Exception, match="l1"):
        lifting.LiftingConfig(l1_weight=-1.0)
    # None: each model's own recipe; a run saved before the option had the plain MSE
    assert lifting.LiftingConfig().effective_l1_weight == 0.1  # modulated
    assert lifting.LiftingConfig(model=lifting.LiftingModelConfig("semgcn")).effective_l1_weight == 0.0
    old = lifting.LiftingConfig().to_dict()
    del old["l1_weight"]
    assert lifting.LiftingConfig.from_dict(old).effective_l1_weight == 0.0


def test_fused_adam_makes_the_updates_of_the_per_tensor_adam():
    """train.py's optimiser (`make_optimizer`: Adam fused into one kernel) gives the default Adam's
    weights, up to rounding, after steps with clipping and the schedule."""
    model, x, y = _setup()
    plain = copy.deepcopy(model)
    fused = copy.deepcopy(model)
    for net, opt in ((plain, torch.optim.Adam(plain.parameters(), lr=1e-3)), (fused, lifting.make_optimizer(fused, 1e-3))):
        step = lifting.TrainStep(net, opt, lifting.make_scheduler(opt, 0.96, 2), 1.0, H36M16.edge_index())
        for i in range(0, 96, 32):
            step(x[i:i + 32], y[i:i + 32])
    assert lifting.make_optimizer(model, 1e-3).defaults["fused"] is True
    # Biases that feed a BatchNorm get gradients that are zero up to rounding, which Adam scales to
    # full steps of either sign: compare every other parameter, and the outputs, which BatchNorm
    # makes independent of those biases (train mode).
    moved = 0.0
    for (name, a), b, c in zip(plain.named_parameters(), fused.parameters(), model.parameters()):
        if not name.endswith("bias"):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
            moved = max(moved, float((a - c).abs().max()))
    assert moved > 1e-4  # the steps changed the weights
    plain.train(), fused.train()
    with torch.no_grad():
        torch.testing.assert_close(plain(x, H36M16.edge_index()), fused(x, H36M16.edge_index()), rtol=1e-4, atol=1e-5)
