import torch
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader

from datasets.pose_graph import SkeletonBatcher, pose_data
from datasets.skeleton import H36M17


def test_fast_batch_equals_pyg_batch():
    P, J = 20, 17
    torch.manual_seed(0)
    x, y = torch.randn(P, J, 2), torch.randn(P, J, 3)
    subject, action, camera = (torch.randint(0, 5, (P,)) for _ in range(3))
    batcher = SkeletonBatcher(H36M17, x, y, subject=subject, action=action, camera=camera)
    data = [pose_data(x[i], y[i], H36M17, subject=subject[i], action=action[i], camera=camera[i])
            for i in range(P)]
    idx = torch.tensor([7, 3, 19, 0, 11])
    fast = batcher.batch(idx)
    ref = Batch.from_data_list([data[i] for i in idx])
    assert sorted(fast.keys()) == sorted(ref.keys())
    for key in ref.keys():
        assert torch.equal(fast[key], ref[key]), key
    assert fast.num_graphs == 5 and torch.equal(fast.get_example(2).x, x[19])
    # The whole shuffled epoch equals PyG's DataLoader over the same order.
    order = torch.randperm(P, generator=torch.Generator().manual_seed(4))
    loader = DataLoader([data[i] for i in order], batch_size=6)
    ours = batcher.iterate(6, shuffle=True, generator=torch.Generator().manual_seed(4))
    for a, b in zip(ours, loader, strict=True):
        assert torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index)
        assert torch.equal(a.batch, b.batch) and torch.equal(a.subject, b.subject)
    assert batcher.num_batches(6) == 4 and batcher.num_batches(6, drop_last=True) == 3


def test_pose_data_fields():
    d = pose_data(torch.zeros(17, 2), torch.zeros(17, 3), H36M17, camera=2)
    assert d.num_nodes == 17 and d.edge_index.shape == (2, 32) and d.edge_type.tolist() == list(range(32))
    assert d.joint.tolist() == list(range(17)) and int(d.camera) == 2
