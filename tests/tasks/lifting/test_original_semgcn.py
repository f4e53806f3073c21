"""Checkpoints of the original SemGCN code: state dicts built in its layout give, through the
imported model, the outputs of the original's forward computation (written here from its
definition: dense softmax adjacency, 1x1 convolutions, max pooling over joint groups)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import evaluate
from core.checkpoint import rebuild_model
from core.cli import run_cli
from datasets.pose_graph import SkeletonBatcher
from datasets.skeleton import H36M16, H36M17
from tasks import lifting
from tasks.lifting.original import from_original

GROUPS = [[2, 3], [5, 6], [1, 4], [0, 7], [8, 9], [14, 15], [11, 12], [10, 13]]  # SemGCN's 16-joint groups


def _mask(skeleton):
    A = torch.eye(skeleton.num_joints)
    for a, b in skeleton.edges:
        A[a, b] = A[b, a] = 1
    return A > 0


def _bn_params(C, g):
    return {"weight": torch.rand(C, generator=g) + 0.5, "bias": torch.randn(C, generator=g) * 0.1,
            "running_mean": torch.randn(C, generator=g) * 0.1, "running_var": torch.rand(C, generator=g) + 0.5,
            "num_batches_tracked": torch.tensor(7)}


def _original_semgcn_state(skeleton, C, blocks, non_local, g):
    nnz = int(_mask(skeleton).sum())
    sd = {}

    def conv(p, i, o):
        sd[f"{p}.W"] = torch.randn(2, i, o, generator=g) * (1.5 / i) ** 0.5
        sd[f"{p}.e"] = torch.randn(1, nnz, generator=g)
        sd[f"{p}.bias"] = torch.randn(o, generator=g) * 0.1

    def bn(p, c):
        sd.update({f"{p}.{k}": v for k, v in _bn_params(c, g).items()})

    def nl(p):
        I = C // 2
        for name, (o, i) in (("g.0", (I, C)), ("theta", (I, C)), ("phi.0", (I, C)), ("W.0", (C, I))):
            sd[f"{p}.{name}.weight"] = torch.randn(o, i, 1, generator=g) * (1 / i) ** 0.5
            sd[f"{p}.{name}.bias"] = torch.randn(o, generator=g) * 0.1
        sd[f"{p}.concat_project.0.weight"] = torch.randn(1, 2 * I, 1, 1, generator=g) * 0.3
        bn(f"{p}.W.1", C)

    conv("gconv_input.0.gconv", 2, C)
    bn("gconv_input.0.bn", C)
    if non_local:
        nl("gconv_input.1.nonlocal")
    for b in range(blocks):
        k = 2 * b if non_local else b
        for layer in (1, 2):
            conv(f"gconv_layers.{k}.gconv{layer}.gconv", C, C)
            bn(f"gconv_layers.{k}.gconv{layer}.bn", C)
        if non_local:
            nl(f"gconv_layers.{k + 1}.nonlocal")
    conv("gconv_output", C, 3)
    return sd


def _reference_semgcn(sd, x, skeleton, blocks, non_local, conv=None):
    """The original SemGCN's forward in eval mode, on (B, J, 2); `conv(prefix, h)`: another graph
    conv in the same module tree (Modulated GCN's)."""
    m = _mask(skeleton)
    J = skeleton.num_joints
    eye = torch.eye(J)

    def sem_conv(p, h):
        logits = torch.full((J, J), -9e15)
        logits[m] = sd[f"{p}.e"].reshape(-1)
        A = F.softmax(logits, dim=1)
        return (A * eye) @ (h @ sd[f"{p}.W"][0]) + (A * (1 - eye)) @ (h @ sd[f"{p}.W"][1]) + sd[f"{p}.bias"]

    conv = conv or sem_conv

    def bn(p, h):  # over the channel axis (last)
        return (h - sd[f"{p}.running_mean"]) / torch.sqrt(sd[f"{p}.running_var"] + 1e-5) * sd[f"{p}.weight"] + sd[f"{p}.bias"]

    def nl(p, h):
        order = [j for grp in GROUPS for j in grp]
        restore = [order.index(j) for j in range(J)]
        z = h[:, order].transpose(1, 2)  # (B, C, J) in group order
        gx = F.max_pool1d(F.conv1d(z, sd[f"{p}.g.0.weight"], sd[f"{p}.g.0.bias"]), 2)  # (B, I, G)
        th = F.conv1d(z, sd[f"{p}.theta.weight"], sd[f"{p}.theta.bias"])  # (B, I, J)
        ph = F.max_pool1d(F.conv1d(z, sd[f"{p}.phi.0.weight"], sd[f"{p}.phi.0.bias"]), 2)  # (B, I, G)
        G = ph.size(2)
        cat = torch.cat([th.unsqueeze(3).expand(-1, -1, -1, G), ph.unsqueeze(2).expand(-1, -1, J, -1)], dim=1)
        f = F.relu(F.conv2d(cat, sd[f"{p}.concat_project.0.weight"])).squeeze(1) / G  # (B, J, G)
        y = (f @ gx.transpose(1, 2)).transpose(1, 2)  # (B, I, J)
        wy = F.conv1d(y, sd[f"{p}.W.0.weight"], sd[f"{p}.W.0.bias"]).transpose(1, 2)  # (B, J, C)
        out = bn(f"{p}.W.1", wy) + z.transpose(1, 2)
        return out[:, restore]

    h = F.relu(bn("gconv_input.0.bn", conv("gconv_input.0.gconv", x)))
    if non_local:
        h = nl("gconv_input.1.nonlocal", h)
    for b in range(blocks):
        k = 2 * b if non_local else b
        r = h
        for layer in (1, 2):
            h = F.relu(bn(f"gconv_layers.{k}.gconv{layer}.bn", conv(f"gconv_layers.{k}.gconv{layer}.gconv", h)))
        h = r + h
        if non_local:
            h = nl(f"gconv_layers.{k + 1}.nonlocal", h)
    return conv("gconv_output", h)


def _ours(ckpt, x, skeleton):
    model = rebuild_model(ckpt, "ckpt_best.pth.tar", lifting.model_from_spec)
    return lifting.predict_all(model, SkeletonBatcher(skeleton, x), 64)


@pytest.mark.parametrize("skeleton,non_local", [(H36M16, False), (H36M16, True), (H36M17, False)])
def test_original_semgcn_gives_the_originals_outputs(skeleton, non_local):
    g = torch.Generator().manual_seed(3)
    sd = _original_semgcn_state(skeleton, 16, 2, non_local, g)
    ckpt = from_original({"state_dict": sd, "epoch": 30, "lr": 1e-3, "step": 9, "optimizer": {}, "error": 40.1},
                         "ckpt_best.pth.tar")
    assert ckpt["config"]["model"] == {"name": "semgcn-nonlocal" if non_local else "semgcn", "hidden": 16,
                                       "blocks": 2, "dropout": None}
    assert ckpt["skeleton"] == skeleton.name
    x = torch.randn(5, skeleton.num_joints, 2, generator=g)
    torch.testing.assert_close(_ours(ckpt, x, skeleton), _reference_semgcn(sd, x, skeleton, 2, non_local),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("outputs", [48, 45])  # main_linear.py: 45, the 15 joints after the root (root at zero)
def test_original_linear_model_gives_the_originals_outputs(outputs):
    g = torch.Generator().manual_seed(4)
    W = 32
    sd = {"w1.weight": torch.randn(W, 32, generator=g) * 0.2, "w1.bias": torch.randn(W, generator=g) * 0.1,
          "w2.weight": torch.randn(outputs, W, generator=g) * 0.2, "w2.bias": torch.randn(outputs, generator=g) * 0.1}
    sd.update({f"batch_norm1.{k}": v for k, v in _bn_params(W, g).items()})
    for s in range(3):
        for i in (1, 2):
            sd[f"linear_stages.{s}.w{i}.weight"] = torch.randn(W, W, generator=g) * 0.2
            sd[f"linear_stages.{s}.w{i}.bias"] = torch.randn(W, generator=g) * 0.1
            sd.update({f"linear_stages.{s}.batch_norm{i}.{k}": v for k, v in _bn_params(W, g).items()})
    ckpt = from_original({"state_dict": sd, "epoch": 2}, "ckpt_best.pth.tar")
    x = torch.randn(6, 16, 2, generator=g)

    def bn(p, h):
        return (h - sd[f"{p}.running_mean"]) / torch.sqrt(sd[f"{p}.running_var"] + 1e-5) * sd[f"{p}.weight"] + sd[f"{p}.bias"]

    y = F.relu(bn("batch_norm1", x.reshape(6, 32) @ sd["w1.weight"].T + sd["w1.bias"]))
    for s in range(3):
        z = y
        for i in (1, 2):
            z = F.relu(bn(f"linear_stages.{s}.batch_norm{i}", z @ sd[f"linear_stages.{s}.w{i}.weight"].T
                          + sd[f"linear_stages.{s}.w{i}.bias"]))
        y = y + z
    ref = (y @ sd["w2.weight"].T + sd["w2.bias"]).reshape(6, outputs // 3, 3)
    if outputs == 45:
        ref = torch.cat([torch.zeros(6, 1, 3), ref], dim=1)  # the root, fixed at zero
    torch.testing.assert_close(_ours(ckpt, x, H36M16), ref, rtol=1e-5, atol=1e-5)


def test_evaluate_reads_an_original_file_and_refuses_another_layout(tiny_h36m, tmp_path, capsys):
    g = torch.Generator().manual_seed(5)
    path = tmp_path / "ckpt_best.pth.tar"
    torch.save({"state_dict": _original_semgcn_state(H36M16, 16, 1, False, g), "epoch": 12, "lr": 1e-3,
                "step": 100, "optimizer": {"state": {}, "param_groups": []}, "error": np.float64(52.5)}, path)
    assert run_cli(evaluate.main, ["lifting", "--checkpoint", str(path), "--data", str(tiny_h36m),
                                   "--out", str(tmp_path / "e")]) == 0
    assert "Average" in capsys.readouterr().out
    torch.save({"state_dict": {"encoder.weight": torch.zeros(2, 2)}, "epoch": 1}, tmp_path / "other.pth.tar")
    rc = run_cli(evaluate.main, ["lifting", "--checkpoint", str(tmp_path / "other.pth.tar"), "--out", str(tmp_path / "f")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "other.pth.tar: not a PoseGraph checkpoint" in err


def test_lifting_checkpoints_without_a_skeleton_are_one_line_errors(tmp_path, capsys):
    from core.checkpoint import save_checkpoint
    from tasks.lifting import LiftingConfig
    base = {"task": "lifting", "model": {"class": "SemGCN", "kwargs": {}}, "state_dict": {},
            "config": LiftingConfig().to_dict()}
    for name, ckpt, message in [("none.pt", base, "checkpoint has no 'skeleton'"),
                                ("other.pt", {**base, "skeleton": "mpii"}, "its skeleton 'mpii' is not one of")]:
        save_checkpoint(tmp_path / name, ckpt)
        rc = run_cli(evaluate.main, ["lifting", "--checkpoint", str(tmp_path / name), "--out", str(tmp_path / "e")])
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1 and message in err and name in err, err


def test_dataparallel_prefixes_are_accepted(tiny_h36m, tmp_path, capsys):
    """Checkpoints saved from DataParallel models (keys 'module.'): the original's and ours."""
    g = torch.Generator().manual_seed(6)
    sd = {f"module.{k}": v for k, v in _original_semgcn_state(H36M16, 16, 1, False, g).items()}
    torch.save({"state_dict": sd, "epoch": 3, "error": 50.0}, tmp_path / "dp.pth.tar")
    ckpt = from_original(torch.load(tmp_path / "dp.pth.tar", weights_only=True), "dp.pth.tar")
    x = torch.randn(4, 16, 2, generator=g)
    plain = {k.removeprefix("module."): v for k, v in sd.items()}
    torch.testing.assert_close(_ours(ckpt, x, H36M16), _reference_semgcn(plain, x, H36M16, 1, False),
                               rtol=1e-5, atol=1e-5)
    assert run_cli(evaluate.main, ["lifting", "--checkpoint", str(tmp_path / "dp.pth.tar"), "--data", str(tiny_h36m),
                                   "--out", str(tmp_path / "e")]) == 0
    ours = dict(ckpt, state_dict={f"module.{k}": v for k, v in ckpt["state_dict"].items()})
    torch.testing.assert_close(_ours(ours, x, H36M16), _ours(ckpt, x, H36M16))


# Modulated GCN (github ZhimingZo/Modulated-GCN, Modulated_GCN_gt/main_gcn.py): SemGCN's module
# tree with modulated graph convs (W, M, adj2, bias); the fixed adjacency is not in the file.

def _fixed_adjacency(skeleton):
    """The authors' fixed adjacency, from its definition: the skeleton's symmetric 0/1 adjacency
    without self-loops, row-normalised, then the diagonal set to 1."""
    J = skeleton.num_joints
    A = torch.zeros(J, J)
    for a, b in skeleton.edges:
        A[a, b] = A[b, a] = 1
    A = A / A.sum(1, keepdim=True)
    return A * (1 - torch.eye(J)) + torch.eye(J)


def _original_modulated_state(skeleton, C, blocks, non_local, g):
    J = skeleton.num_joints
    sd = {k: v for k, v in _original_semgcn_state(skeleton, C, blocks, non_local, g).items()
          if not k.endswith((".e", ".W", ".bias")) or ".bn." in k or ".nonlocal." in k}
    convs = ["gconv_input.0.gconv", "gconv_output"] + [
        f"gconv_layers.{2 * b if non_local else b}.gconv{layer}.gconv" for b in range(blocks) for layer in (1, 2)]
    for p in convs:
        i = 2 if p.startswith("gconv_input") else C
        o = 3 if p == "gconv_output" else C
        sd[f"{p}.W"] = torch.randn(2, i, o, generator=g) * (1.5 / i) ** 0.5
        sd[f"{p}.M"] = 1 + 0.3 * torch.randn(J, o, generator=g)
        sd[f"{p}.adj2"] = 0.05 * torch.randn(J, J, generator=g)  # asymmetric: the forward symmetrises it
        sd[f"{p}.bias"] = torch.randn(o, generator=g) * 0.1
    return sd


def _reference_modulated(sd, x, skeleton, blocks, non_local):
    """Modulated GCN's forward in eval mode on (B, J, 2), written from the layer's definition:
    A = (A_fixed + adj2) symmetrised; out = (A * I) @ (M * x W0) + (A * (1 - I)) @ (M * x W1) + b."""
    J = skeleton.num_joints
    eye, A0 = torch.eye(J), _fixed_adjacency(skeleton)

    def conv(p, h):
        A = A0 + sd[f"{p}.adj2"]
        A = (A + A.T) / 2
        M = sd[f"{p}.M"]
        return (A * eye) @ (M * (h @ sd[f"{p}.W"][0])) + (A * (1 - eye)) @ (M * (h @ sd[f"{p}.W"][1])) + sd[f"{p}.bias"]

    return _reference_semgcn(sd, x, skeleton, blocks, non_local, conv=conv)


@pytest.mark.parametrize("skeleton,non_local", [(H36M16, False), (H36M16, True), (H36M17, False)])
def test_original_modulated_gcn_gives_the_originals_outputs(skeleton, non_local):
    g = torch.Generator().manual_seed(8)
    sd = _original_modulated_state(skeleton, 16, 2, non_local, g)
    ckpt = from_original({"state_dict": sd, "epoch": 6, "lr": 9.6e-4, "step": 146_000, "optimizer": {},
                          "error": 38.25}, "ckpt_Modulated_GCN_128.pth.tar")
    assert ckpt["config"]["model"] == {"name": "modulated", "hidden": 16, "blocks": 2, "dropout": None}
    assert ckpt["skeleton"] == skeleton.name and "Modulated GCN" in ckpt["imported_from"]
    x = torch.randn(5, skeleton.num_joints, 2, generator=g)
    ref = _reference_modulated(sd, x, skeleton, 2, non_local)
    # float32 rounding only (the non-local blocks' max pooling and products amplify it a little)
    tol = 1e-4 if non_local else 1e-5
    torch.testing.assert_close(_ours(ckpt, x, skeleton), ref, rtol=tol, atol=tol)
    # the fixed adjacency matters: a model without it (adj2 alone) would be far off
    assert (ref - _reference_semgcn(sd, x, skeleton, 2, non_local, conv=lambda p, h: h @ sd[f"{p}.W"][0])).abs().max() > 0.1


def test_modulated_gcn_file_works_in_evaluate_predict_and_init(tiny_h36m, tmp_path, capsys):
    """A file in the authors' layout (the dict main_gcn.py saves, optimizer included) is read by
    evaluate.py lifting, predict.py lifting and train.py lifting --init; a wrong shape is one line."""
    import predict
    import train
    g = torch.Generator().manual_seed(9)
    sd = _original_modulated_state(H36M16, 128, 4, False, g)
    path = tmp_path / "ckpt_best.pth.tar"
    torch.save({"state_dict": sd, "epoch": 6, "lr": 9.6e-4, "step": 146_000,
                "optimizer": {"state": {}, "param_groups": []}, "error": np.float64(38.25)}, path)
    assert run_cli(evaluate.main, ["lifting", "--checkpoint", str(path), "--data", str(tiny_h36m),
                                   "--out", str(tmp_path / "e")]) == 0
    assert "Average" in capsys.readouterr().out
    kp = np.random.default_rng(0).uniform(200, 800, (3, 16, 2)).astype(np.float32)
    np.save(tmp_path / "kp.npy", kp)
    assert run_cli(predict.main, ["lifting", "--checkpoint", str(path), "--keypoints", str(tmp_path / "kp.npy"),
                                  "--format", "h36m16", "--image-size", "1000", "1000",
                                  "--out", str(tmp_path / "p")]) == 0
    capsys.readouterr()
    # --init: the run starts from the file's weights (epoch 0 scores the file's MPJPE)
    out = tmp_path / "t"
    assert run_cli(train.main, ["lifting", "--data", str(tiny_h36m), "--init", str(path), "--epochs", "1",
                                "--lr", "1e-12", "--val-subjects", "S9", "--train-subjects", "S1",
                                "--out", str(out), "--compile", "off", "--augment", "none"]) == 0
    from core.checkpoint import load_checkpoint
    trained = load_checkpoint(out / "last.pt", "lifting")["state_dict"]
    torch.testing.assert_close(trained["input.conv.Q"], sd["gconv_input.0.gconv.adj2"], rtol=0, atol=1e-6)
    capsys.readouterr()
    bad = dict(sd)
    bad["gconv_output.M"] = torch.ones(16, 5)
    torch.save({"state_dict": bad, "epoch": 1}, tmp_path / "bad.pth.tar")
    rc = run_cli(evaluate.main, ["lifting", "--checkpoint", str(tmp_path / "bad.pth.tar"), "--out", str(tmp_path / "f")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "bad.pth.tar: gconv_output" in err, err
