"""The AOTInductor-compiled inference copy (`gnn.aot`): the eager model's outputs on graphs of
every size, one compilation per classifier (the package cached on disk), and a key that follows
the weights and the argument layout."""
import pytest
import torch

from gnn.aot import aot_compiled, package_key
from gnn.models.edge_classifier import EdgeClassifier

DYNAMIC = ({0: "nodes"}, {1: "edges"}, {0: "edges"}, {1: "pairs"}, {0: "pairs"})


def random_graph(M: int, E_msg: int, E_pairs: int, seed: int, F: int = 21, A: int = 21):
    g = torch.Generator().manual_seed(seed)
    msg = torch.randint(0, M, (2, E_msg), generator=g)
    return (torch.randn(M, F, generator=g), torch.cat([msg, msg.flip(0)], dim=1),
            torch.randn(2 * E_msg, A, generator=g), torch.randint(0, M, (2, E_pairs), generator=g),
            torch.randn(E_pairs, A, generator=g))


def trained_like(attr_in_conv: bool, pair_attr: bool) -> EdgeClassifier:
    """A classifier whose BatchNorms hold running statistics (a few training-mode passes)."""
    torch.manual_seed(0)
    m = EdgeClassifier(21, 21, hidden_channels=16, edge_attr_in_conv=attr_in_conv, pair_attr=pair_attr)
    with torch.no_grad():
        for s in range(3):
            m(*random_graph(40, 60, 80, seed=100 + s))
    return m.eval()


def test_compiled_classifier_equals_eager_on_graphs_of_other_sizes_and_is_cached(tmp_path):
    """Compiled for one graph, the copy gives the fused model's logits on larger and smaller
    graphs down to one edge and one pair; a second request loads the package, compiles nothing."""
    fused = trained_like(True, True).fused()
    example = random_graph(30, 50, 70, seed=1)
    assert aot_compiled(fused, example, DYNAMIC, tmp_path, compile=False) is None  # nothing cached yet
    compiled = aot_compiled(fused, example, DYNAMIC, tmp_path, compile=True)
    assert compiled.path.parent == tmp_path and list(tmp_path.iterdir()) == [compiled.path]
    with torch.no_grad():
        for M, E_msg, E_pairs, seed in ((200, 900, 1500, 2), (5, 3, 4, 3), (2, 1, 1, 5)):
            args = random_graph(M, E_msg, E_pairs, seed)
            out = compiled(*args)
            assert out.shape == (E_pairs,)
            torch.testing.assert_close(out, fused(*args), rtol=1e-5, atol=1e-5)
    stamp = compiled.path.stat().st_mtime_ns
    again = aot_compiled(fused, random_graph(8, 9, 10, seed=6), DYNAMIC, tmp_path, compile=False)
    assert again is not None and again.path == compiled.path and compiled.path.stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="compiled for"):
        compiled(*example[:4], None)  # pair_attr left out: not the layout it was compiled for


def test_package_key_follows_weights_and_argument_layout():
    fused = trained_like(True, False).fused()
    example = random_graph(10, 20, 30, seed=1)
    key = package_key(fused, example, DYNAMIC)
    assert package_key(fused, random_graph(50, 7, 3, seed=2), DYNAMIC) == key  # other sizes: the same code
    assert package_key(fused, example[:4] + (None,), DYNAMIC) != key  # another argument layout
    assert package_key(fused, (example[0][:, :20],) + example[1:], DYNAMIC) != key  # another feature width
    with torch.no_grad():
        next(fused.parameters()).add_(1e-3)
    assert package_key(fused, example, DYNAMIC) != key  # other weights


def test_compiled_classifier_is_refused_on_cuda_in_one_line_and_auto_stays_eager():
    """Loading an AOTInductor package on CUDA crashed the interpreter: the check comes before any
    CUDA work, so it holds on machines without a GPU too."""
    from core.errors import InputError
    from tasks.grouping.probabilities import PairScorer, compile_checkpoint
    model = EdgeClassifier(12, 5, hidden_channels=8)
    with pytest.raises(InputError, match=r"compile on: the AOTInductor-compiled classifier is CPU-only"):
        PairScorer(model, "cuda", "on")
    assert compile_checkpoint("never-read.pt", [], "cuda") is None


def test_damaged_packages_are_removed_and_unusable_cache_folders_only_warn(tmp_path):
    """A zero-byte or truncated package: removed with a warning, then compiled again (or, without
    compiling, the eager path: None). A cache folder that is a file: a warning, no compiled copy."""
    fused = trained_like(False, False).fused()
    example = random_graph(12, 20, 25, seed=7)
    good = aot_compiled(fused, example, DYNAMIC, tmp_path, compile=True)
    intact = good.path.read_bytes()
    good.path.write_bytes(b"")
    with pytest.warns(UserWarning, match="damaged compiled package .*removed, running uncompiled"):
        assert aot_compiled(fused, example, DYNAMIC, tmp_path, compile=False) is None
    assert not good.path.exists()
    good.path.write_bytes(intact[: len(intact) // 2])
    with pytest.warns(UserWarning, match="damaged compiled package .*removed, compiling it again"):
        again = aot_compiled(fused, example, DYNAMIC, tmp_path, compile=True)
    with torch.no_grad():
        torch.testing.assert_close(again(*example), fused(*example), rtol=1e-5, atol=1e-5)
    (tmp_path / "a-file").write_text("x")
    with pytest.warns(UserWarning, match="cannot keep the compiled classifier there"):
        assert aot_compiled(fused, example, DYNAMIC, tmp_path / "a-file", compile=True) is None


def test_a_full_cache_disk_only_warns(tmp_path, monkeypatch):
    """A cache on a file system without room: a warning and the eager classifier, never a write
    that could abort the process (the package's C++ writer aborts on a full disk); a failed
    copy into the cache (ENOSPC from Python's write) is the same warning, nothing left behind."""
    import collections
    import errno
    import gnn.aot
    fused = trained_like(False, False).fused()
    example = random_graph(12, 20, 25, seed=8)
    Usage = collections.namedtuple("Usage", "total used free")
    real = gnn.aot.shutil.disk_usage
    monkeypatch.setattr(gnn.aot.shutil, "disk_usage", lambda p: Usage(1 << 30, (1 << 30) - (10 << 20), 10 << 20))
    with pytest.warns(UserWarning, match=r"cannot keep the compiled classifier there \(10 MB free, 256 MB needed\)"):
        assert aot_compiled(fused, example, DYNAMIC, tmp_path / "full", compile=True) is None
    monkeypatch.setattr(gnn.aot.shutil, "disk_usage", real)

    def no_space(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(gnn.aot, "_copy", no_space)
    with pytest.warns(UserWarning, match="cannot keep the compiled classifier there .No space left on device"):
        assert aot_compiled(fused, example, DYNAMIC, tmp_path / "c", compile=True) is None
    assert list((tmp_path / "c").iterdir()) == []
