"""datasets/graph/cache.py: graphs built once, read back equal, rebuilt when anything they depend
on changes or the file is unreadable."""
import numpy as np
import pytest
import torch
from torch_geometric.data import Data

import tasks.grouping.data as grouping_data
from datasets.synthetic.ae_maps import SynthConfig, synthesize_maps
from datasets.graph.cache import cached_graphs
from tasks.grouping import GroupingConfig, prepare_grouping_data, write_builtin_annotations


def _graphs():
    return [Data(x=torch.randn(4, 3), edge_index=torch.tensor([[0, 1], [1, 2]]), image_id=torch.tensor(i))
            for i in range(3)]


def _equal(u, v) -> bool:
    return torch.equal(u, v) if isinstance(u, torch.Tensor) else u == v


def _same(a, b):
    return len(a) == len(b) and all(sorted(x.keys()) == sorted(y.keys()) and all(_equal(x[k], y[k]) for k in x.keys())
                                    for x, y in zip(a, b))


def test_built_once_read_back_equal_and_rebuilt_on_change(tmp_path):
    calls, made = [], _graphs()

    def build():
        calls.append(1)
        return made

    first = cached_graphs(str(tmp_path), {"a": 1}, build)
    again = cached_graphs(str(tmp_path), {"a": 1}, build)
    assert len(calls) == 1 and _same(first, again) and _same(again, made)
    cached_graphs(str(tmp_path), {"a": 2}, build)
    assert len(calls) == 2
    cached_graphs(None, {"a": 1}, build)  # no cache: always built
    assert len(calls) == 3
    for f in tmp_path.glob("*.pt"):
        f.write_bytes(b"truncated")
    with pytest.warns(UserWarning, match="unreadable graph cache"):
        assert _same(cached_graphs(str(tmp_path), {"a": 1}, build), made)
    assert len(calls) == 4
    assert _same(cached_graphs(str(tmp_path), {"a": 1}, build), made) and len(calls) == 4  # rewritten


def test_a_second_run_does_not_build_graphs_again(tmp_path, monkeypatch):
    cfg = GroupingConfig(num_scenes=4, graph_cache=str(tmp_path / "cache"))
    ann = write_builtin_annotations(cfg, tmp_path)
    first = prepare_grouping_data(cfg, ann, synth_seed=3)

    def no_building(*args, **kwargs):
        raise AssertionError("built again")

    monkeypatch.setattr(grouping_data, "build_graph", no_building)
    second = prepare_grouping_data(cfg, ann, synth_seed=3)
    assert _same(first.graphs, second.graphs) and "y" in second.graphs[0] and "person" in second.graphs[0]
    with pytest.raises(AssertionError, match="built again"):  # another seed: other maps, other graphs
        prepare_grouping_data(cfg, ann, synth_seed=4)


def test_map_folders_are_keyed_by_their_files(tmp_path, monkeypatch):
    cfg = GroupingConfig(num_scenes=3, graph_cache=str(tmp_path / "cache"))
    ann = write_builtin_annotations(cfg, tmp_path)
    gt = prepare_grouping_data(cfg, ann, synth_seed=0).gt
    maps = tmp_path / "maps"
    maps.mkdir()
    rng = np.random.default_rng(0)
    for i, img in gt.imgs.items():
        synthesize_maps(img["width"], img["height"], gt.imgToAnns[i], 17, SynthConfig(), rng).save(maps / f"{i}.npz")
    with_maps = GroupingConfig(num_scenes=3, maps=str(maps), synth_copies=1, graph_cache=cfg.graph_cache)
    before = prepare_grouping_data(with_maps, ann, synth_seed=0)
    built = []
    real = grouping_data.build_graph
    monkeypatch.setattr(grouping_data, "build_graph", lambda *a, **k: built.append(1) or real(*a, **k))
    assert _same(prepare_grouping_data(with_maps, ann, synth_seed=0).graphs, before.graphs) and not built
    first = sorted(gt.imgs)[0]
    synthesize_maps(512, 512, [], 17, SynthConfig(), rng).save(maps / f"{first}.npz")  # a map file changes
    prepare_grouping_data(with_maps, ann, synth_seed=0)
    assert len(built) == 3


def test_one_flipped_byte_is_detected_and_the_entry_rebuilt(tmp_path):
    calls, made = [], _graphs()

    def build():
        calls.append(1)
        return made

    cached_graphs(str(tmp_path), {"a": 1}, build)
    (entry,) = tmp_path.glob("*.pt")
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0x01
    entry.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="unreadable graph cache entry \\(checksum mismatch"):
        assert _same(cached_graphs(str(tmp_path), {"a": 1}, build), made)
    assert len(calls) == 2
    assert _same(cached_graphs(str(tmp_path), {"a": 1}, build), made) and len(calls) == 2  # rewritten whole


def test_a_map_file_rewritten_with_the_same_size_and_time_is_a_new_key(tmp_path):
    import os
    from datasets.graph.cache import folder_fingerprint
    f = tmp_path / "1.npz"
    f.write_bytes(b"a" * 100)
    st = f.stat()
    before = folder_fingerprint(tmp_path)
    f.write_bytes(b"b" * 100)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same modification time
    assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
    assert folder_fingerprint(tmp_path) != before


def test_an_unwritable_cache_folder_only_warns(tmp_path):
    (tmp_path / "file").write_text("x")
    made = _graphs()
    with pytest.warns(UserWarning, match="graphs not cached"):
        assert _same(cached_graphs(str(tmp_path / "file" / "sub"), {"a": 1}, lambda: made), made)


def test_every_graph_building_module_of_the_cache_key_exists():
    """A module moved or renamed would silently drop out of the cache key (stale graphs served)."""
    from pathlib import Path

    from datasets.graph import cache
    here = Path(cache.__file__).parents[1]
    assert all((here / name).is_file() for name in cache._BUILDERS), cache._BUILDERS
