import os
import socket
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption("--cuda", action="store_true",
                     help="let the tests see CUDA devices (tests/test_cuda.py needs this); without it "
                          "the suite runs on CPU only, as CI does, also on a GPU machine")


def pytest_configure(config):
    # `--device auto` would pick a GPU, where runs are not bit-for-bit repeatable and torchrun
    # tests would put 2 NCCL ranks on one device: hide the GPUs (before CUDA is initialised;
    # inherited by the subprocesses the tests start) unless --cuda asks for them.
    if not config.getoption("--cuda"):
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    # gloo (the torchrun tests) otherwise picks its network interface by resolving the host's
    # name; where that name resolves to an address the machine cannot reach itself on, the
    # ranks wait for each other until the 30-minute default timeout. All ranks are local here.
    os.environ.setdefault("GLOO_SOCKET_IFNAME", _loopback_interface())


def _loopback_interface() -> str:
    names = [name for _, name in socket.if_nameindex()]
    return next((n for n in names if n.startswith("lo")), "lo")
SHARED = REPO.parent / "shared"


def shared_file(*parts) -> Path:
    """A file of ../shared, or skip the test with the reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared holds development data; a fresh clone has none)")
    return path


def person_column(i: int, x0: float, y0: float, v: int = 2) -> dict:
    """A COCO annotation of image 1: 17 keypoints of visibility `v` in a 60 x 340 column at (x0, y0)."""
    import numpy as np
    kps = np.zeros((17, 3))
    kps[:, 0], kps[:, 1], kps[:, 2] = x0 + (np.arange(17) % 3) * 20, y0 + np.arange(17) * 20, v
    return {"id": i, "image_id": 1, "keypoints": kps.ravel().tolist(), "bbox": [x0, y0, 60, 340],
            "area": 60.0 * 340, "num_keypoints": 17}


def batch_of(skeleton, B: int):
    """edge_index, edge_type, joint, batch of B copies of a skeleton, built by hand."""
    ei = skeleton.edge_index()
    J, E = skeleton.num_joints, ei.size(1)
    edge_index = torch.cat([ei + J * b for b in range(B)], dim=1)
    return (edge_index, torch.arange(E).repeat(B), torch.arange(J).repeat(B),
            torch.arange(B).repeat_interleave(J))


@pytest.fixture(scope="session")
def tiny_h36m(tmp_path_factory):
    """A small synthetic Human3.6M folder in the standard layout (8 frames per sequence)."""
    from datasets.synthetic.h36m import synthetic_h36m_dir
    return synthetic_h36m_dir(tmp_path_factory.mktemp("h36m"), seed=3, frames=8)


def strings_in(o) -> list:
    """Every string in a nested structure of dicts, lists and tuples (a checkpoint's metadata)."""
    if isinstance(o, dict):
        return [x for v in o.values() for x in strings_in(v)]
    if isinstance(o, (list, tuple)):
        return [x for v in o for x in strings_in(v)]
    return [o] if isinstance(o, str) else []
