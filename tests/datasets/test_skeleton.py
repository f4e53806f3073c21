import json

import pytest
import torch

from datasets.cameras import CAMERAS_FILE
from datasets.skeleton import COCO17, CROWDPOSE14, H36M16, H36M17, H36M17_TO_16, Skeleton
from tests.conftest import shared_file


def test_h36m_skeletons_match_the_shared_facts():
    facts = json.loads(shared_file("data", "h36m", "skeletons.json").read_text())
    for sk, key in ((H36M17, "h36m17"), (H36M16, "h36m16")):
        assert list(sk.joint_names) == facts[key]["names"]
        assert list(sk.parents) == facts[key]["parents"]
        assert list(sk.left) == facts[key]["left"] and list(sk.right) == facts[key]["right"]
        assert list(sk.joints_from_32) == facts[key]["joints_from_32"]
    assert [list(g) for g in H36M16.joint_groups] == facts["h36m16"]["joint_groups"]
    assert [H36M17.joint_names[j] for j in H36M17_TO_16] == list(H36M16.joint_names)


def test_carried_cameras_equal_the_shared_calibration():
    shared = json.loads(shared_file("data", "h36m", "cameras.json").read_text())
    ours = json.loads(CAMERAS_FILE.read_text())
    assert ours["subjects"] == shared["subjects"]


@pytest.mark.parametrize("sk,J,bones", [(H36M17, 17, 16), (H36M16, 16, 15), (COCO17, 17, 19),
                                        (CROWDPOSE14, 14, 14)])
def test_edge_index(sk, J, bones):
    ei = sk.edge_index()
    assert sk.num_joints == J and ei.shape == (2, 2 * bones)
    # Both directions of every bone, no self-loops.
    pairs = set(map(tuple, ei.t().tolist()))
    assert all((b, a) in pairs for a, b in pairs) and all(a != b for a, b in pairs)
    loops = sk.edge_index(self_loops=True)
    assert torch.equal(loops[:, :J], torch.arange(J).repeat(2, 1))
    A = sk.adjacency()
    assert torch.equal(A, A.t()) and A.trace() == J and A.sum() == J + 2 * bones


def test_oks_sigmas_and_flip():
    assert COCO17.sigmas[0] == pytest.approx(0.026) and len(CROWDPOSE14.sigmas) == 14
    perm = COCO17.flip_permutation
    assert [perm[perm[j]] for j in range(17)] == list(range(17))
    assert COCO17.joint_names[perm[5]] == "right_shoulder"


def test_bad_skeleton_definitions_fail():
    with pytest.raises(ValueError, match="bad edge"):
        Skeleton("x", ("a", "b"), ((0, 2),))
    with pytest.raises(ValueError, match="cover every joint"):
        Skeleton("x", ("a", "b", "c"), ((0, 1),), joint_groups=((0, 1),))
