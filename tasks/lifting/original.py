"""Checkpoints of the original SemGCN code (github garyzhao/SemGCN) and of the Modulated GCN code
(github ZhimingZo/Modulated-GCN, `Modulated_GCN_gt/main_gcn.py`, which took SemGCN's training
script): `main_gcn.py` and `main_linear.py` save `ckpt_best.pth.tar` / `ckpt_epoch_*.pth.tar`, a
dict of `state_dict`, `epoch`, `lr`, `step`, `optimizer`, `error`. Read as a PoseGraph lifting
checkpoint: the matching model rebuilt from the tensor shapes, the weights renamed and reshaped.

The original's layouts (module names, shapes):
- SemGCN: `gconv_input.0` (graph conv + BatchNorm), with non-local blocks `gconv_input.1.nonlocal`;
  `gconv_layers.k` residual blocks (`gconv1`, `gconv2`; with non-local blocks the blocks sit at
  even k and the non-local blocks at odd k); `gconv_output`. A graph conv holds `W` (2, C_in,
  C_out), `bias` and `e` (1, A): one logit per nonzero entry of the skeleton adjacency with
  self-loops, in row-major order of (row = the joint aggregated into, column = the neighbour).
  A non-local block holds 1x1 convolutions `g.0`, `theta`, `phi.0` (C_in -> C/2),
  `concat_project.0` (C -> 1, no bias) and `W.0` (C/2 -> C) + BatchNorm `W.1`.
- Modulated GCN: SemGCN's module tree (`gconv_input.0`, `gconv_layers.k.gconv{1,2}`, with
  `--non_local` the same non-local blocks, `gconv_output`) with modulated graph convs: `W` (2,
  C_in, C_out; [0] the joint's own term, [1] its neighbours'), `M` (J, C_out, the per-joint
  weight modulation), `adj2` (J, J, the learned affinity added to the fixed adjacency) and `bias`.
  The fixed adjacency (the skeleton's, row-normalised, diagonal 1) is a plain attribute there, not
  stored: it is rebuilt from the skeleton (`ModulatedGraphConv`'s `A`), the layer is ours with
  `W` -> `weight`, `adj2` -> `Q`.
- Linear (Martinez et al.): `w1` + `batch_norm1`, `linear_stages.k.{w1, batch_norm1, w2,
  batch_norm2}`, `w2`.
Settings the file does not record take the original's defaults: ground-truth 2D, 16 joints
(17 when the adjacency says so), SemGCN's screen normalisation; flags may override the data.
"""
from __future__ import annotations

import re
from pathlib import Path

import torch

from core.checkpoint import CHECKPOINT_FORMAT, read_checkpoint_file, validate_checkpoint
from core.errors import InputError
from datasets.skeleton import SKELETONS, Skeleton, h36m_skeleton
from tasks.lifting.config import LiftingConfig, LiftingModelConfig
from tasks.lifting.models import model_spec

BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def is_original(obj) -> bool:
    sd = obj.get("state_dict") if isinstance(obj, dict) else None
    return (isinstance(sd, dict) and "format" not in obj
            and any(str(k).removeprefix("module.").startswith(("gconv_input.", "linear_stages.", "w1.")) for k in sd))


def adjacency_order(skeleton: Skeleton) -> list[tuple[int, int]]:
    """The (row, column) entries of the skeleton adjacency with self-loops, row-major: the order of
    the original's `e` logits."""
    J = skeleton.num_joints
    nbrs = {i: {i} for i in range(J)}
    for a, b in skeleton.edges:
        nbrs[a].add(b)
        nbrs[b].add(a)
    return [(i, j) for i in range(J) for j in sorted(nbrs[i])]


def _sem_conv(sd: dict, src: str, dst: str, skeleton: Skeleton, out: dict):
    out[f"{dst}.weight"] = sd[f"{src}.W"]
    out[f"{dst}.bias"] = sd[f"{src}.bias"]
    e = sd[f"{src}.e"].reshape(-1)
    order = adjacency_order(skeleton)
    if e.numel() != len(order):
        raise InputError(f"{src}.e has {e.numel()} adjacency logits, the {skeleton.name} skeleton has {len(order)}")
    ei = skeleton.edge_index()
    edge_of = {(int(ei[1, k]), int(ei[0, k])): k for k in range(ei.size(1))}  # (row = dst, column = src)
    e_self = torch.empty(skeleton.num_joints, 1)
    e_edge = torch.empty(ei.size(1), 1)
    for value, (i, j) in zip(e, order):
        if i == j:
            e_self[i] = value
        else:
            e_edge[edge_of[(i, j)]] = value
    out[f"{dst}.e_self"], out[f"{dst}.e_edge"] = e_self, e_edge


def _bn(sd: dict, src: str, dst: str, out: dict):
    for k in BN_KEYS:
        if f"{src}.{k}" in sd:
            out[f"{dst}.{k}"] = sd[f"{src}.{k}"]


def _non_local(sd: dict, src: str, dst: str, out: dict):
    for ours, theirs in (("g", "g.0"), ("theta", "theta"), ("phi", "phi.0"), ("out", "W.0")):
        out[f"{dst}.{ours}.weight"] = sd[f"{src}.{theirs}.weight"].squeeze(-1)  # 1x1 conv -> Linear
        out[f"{dst}.{ours}.bias"] = sd[f"{src}.{theirs}.bias"]
    out[f"{dst}.concat_project"] = sd[f"{src}.concat_project.0.weight"].reshape(-1)
    _bn(sd, f"{src}.W.1", f"{dst}.bn", out)


def _modulated_conv(sd: dict, src: str, dst: str, skeleton: Skeleton, out: dict):
    J = skeleton.num_joints
    W, M, Q = sd[f"{src}.W"], sd[f"{src}.M"], sd[f"{src}.adj2"]
    if W.dim() != 3 or W.shape[0] != 2 or tuple(M.shape) != (J, W.shape[2]) or tuple(Q.shape) != (J, J):
        raise InputError(f"{src}: W {tuple(W.shape)}, M {tuple(M.shape)}, adj2 {tuple(Q.shape)} are not a modulated "
                         f"graph conv of {J} joints (W (2, C_in, C_out), M ({J}, C_out), adj2 ({J}, {J}))")
    out[f"{dst}.weight"], out[f"{dst}.M"], out[f"{dst}.Q"] = W, M, Q
    out[f"{dst}.bias"] = sd[f"{src}.bias"]


def _semgcn(sd: dict) -> tuple[LiftingModelConfig, Skeleton, dict, dict]:
    W = sd["gconv_input.0.gconv.W"]
    hidden = W.shape[2]
    modulated = "gconv_input.0.gconv.adj2" in sd
    if modulated:  # Modulated GCN: the joints from the learned affinity (J, J)
        joints = sd["gconv_input.0.gconv.adj2"].shape[0]
        if joints not in (16, 17):
            raise InputError(f"gconv_input.0.gconv.adj2 is {tuple(sd['gconv_input.0.gconv.adj2'].shape)}: "
                             f"not a 16- or 17-joint Human3.6M skeleton")
    else:
        nnz = sd["gconv_input.0.gconv.e"].numel()
        joints = (nnz + 2) // 3  # a tree of J joints: J self-loops + 2 (J - 1) bone entries
        if joints not in (16, 17) or 3 * joints - 2 != nnz:
            raise InputError(f"gconv_input.0.gconv.e has {nnz} adjacency logits: not a 16- or 17-joint Human3.6M skeleton")
    non_local = any(".nonlocal." in k for k in sd)
    layers = sorted({int(m.group(1)) for k in sd if (m := re.match(r"gconv_layers\.(\d+)\.gconv1\.", k))})
    name = "modulated" if modulated else "semgcn-nonlocal" if non_local else "semgcn"
    cfg = LiftingModelConfig(name=name, hidden=hidden, blocks=len(layers))
    skeleton = h36m_skeleton(joints)
    conv = _modulated_conv if modulated else _sem_conv
    out: dict = {}
    conv(sd, "gconv_input.0.gconv", "input.conv", skeleton, out)
    _bn(sd, "gconv_input.0.bn", "input.bn", out)
    if non_local:
        _non_local(sd, "gconv_input.1.nonlocal", "non_local.0", out)
    for b, k in enumerate(layers):
        for layer in (1, 2):
            conv(sd, f"gconv_layers.{k}.gconv{layer}.gconv", f"blocks.{b}.layer{layer}.conv", skeleton, out)
            _bn(sd, f"gconv_layers.{k}.gconv{layer}.bn", f"blocks.{b}.layer{layer}.bn", out)
        if non_local:
            _non_local(sd, f"gconv_layers.{k + 1}.nonlocal", f"non_local.{b + 1}", out)
    conv(sd, "gconv_output", "output", skeleton, out)
    # a modulated model with non-local blocks: `modulated`'s spec plus SemGCN's joint groups
    extra = {"joint_groups": [list(g) for g in skeleton.joint_groups]} if modulated and non_local else {}
    return cfg, skeleton, out, extra


def _linear(sd: dict) -> tuple[LiftingModelConfig, Skeleton, dict, dict]:
    """-> config, skeleton, our state dict, and the model arguments the config does not hold."""
    width, inputs = sd["w1.weight"].shape
    joints, outputs = inputs // 2, sd["w2.weight"].shape[0]
    # main_linear.py predicts the joints after the root (root at zero): 3 (J - 1) outputs
    if joints not in (16, 17) or outputs not in (3 * joints, 3 * (joints - 1)):
        raise InputError(f"w1/w2 have {inputs} inputs and {outputs} outputs: not 2D -> 3D of 16 or 17 joints "
                         f"(3 J outputs, or 3 (J - 1) with the root fixed)")
    stages = sorted({int(m.group(1)) for k in sd if (m := re.match(r"linear_stages\.(\d+)\.", k))})
    out = {"input.0.weight": sd["w1.weight"], "input.0.bias": sd["w1.bias"],
           "output.weight": sd["w2.weight"], "output.bias": sd["w2.bias"]}
    _bn(sd, "batch_norm1", "input.1", out)
    for b in stages:
        s = f"linear_stages.{b}"
        out[f"blocks.{b}.net.0.weight"], out[f"blocks.{b}.net.0.bias"] = sd[f"{s}.w1.weight"], sd[f"{s}.w1.bias"]
        out[f"blocks.{b}.net.4.weight"], out[f"blocks.{b}.net.4.bias"] = sd[f"{s}.w2.weight"], sd[f"{s}.w2.bias"]
        _bn(sd, f"{s}.batch_norm1", f"blocks.{b}.net.1", out)
        _bn(sd, f"{s}.batch_norm2", f"blocks.{b}.net.5", out)
    cfg = LiftingModelConfig(name="linear", hidden=width, blocks=len(stages))
    return cfg, h36m_skeleton(joints), out, {"width": width, "num_blocks": len(stages),
                                             **({"root_fixed": True} if outputs == 3 * (joints - 1) else {})}


def from_original(obj: dict, path) -> dict:
    """An original SemGCN or Modulated GCN checkpoint -> a PoseGraph lifting checkpoint (in memory)."""
    sd = {k.removeprefix("module."): v for k, v in obj["state_dict"].items()}  # DataParallel prefixes
    try:
        cfg, skeleton, state, kwargs = (_linear if "w1.weight" in sd else _semgcn)(sd)
    except KeyError as e:
        raise InputError(f"{path}: an original SemGCN / Modulated GCN checkpoint without {e} (another layout?)") from None
    except InputError as e:
        raise InputError(f"{path}: {e}") from None
    spec = model_spec(cfg, skeleton)
    spec["kwargs"].update(kwargs)
    run = LiftingConfig(model=cfg, joints=skeleton.num_joints)
    return {"format": CHECKPOINT_FORMAT, "task": "lifting", "model": spec, "state_dict": state,
            "skeleton": skeleton.name, "config": run.to_dict(), "epoch": int(obj.get("epoch", 0) or 0),
            "imported_from": f"original {'Modulated GCN' if cfg.name == 'modulated' else 'SemGCN'} checkpoint "
                             f"{Path(path).name} (error {obj.get('error')})",
            "normalization": {"input_2d": "x / w * 2 - [1, h / w] (SemGCN screen coordinates)",
                              "target_3d": "camera frame, root-relative, metres"}}


def load_lifting_checkpoint(path) -> dict:
    """A lifting checkpoint of this project or of the original SemGCN code."""
    obj = read_checkpoint_file(path)
    ckpt = from_original(obj, path) if is_original(obj) else validate_checkpoint(obj, path, "lifting")
    if ckpt["skeleton"] not in SKELETONS:
        raise InputError(f"{path}: its skeleton {ckpt['skeleton']!r} is not one of {', '.join(SKELETONS)}")
    return ckpt
