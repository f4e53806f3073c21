"""Property-based fuzzing of the readers and graph builders: random and corrupted inputs may only
end in success or in the project's own one-line `InputError`."""
import io
import json
import shutil
import zipfile

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasets.ae_maps import AEMaps, read_ae_maps
from datasets.coco import load_coco_gt, load_results, quiet_coco
from core.errors import InputError
from datasets.h36m import load_h36m
from datasets.graph.candidate_graph import build_graph
from datasets.graph.config import GraphConfig
from datasets.graph.features import finalize_features
from datasets.graph.labels import label_graph
from datasets.skeleton import COCO17
from core.checkpoint import load_checkpoint, save_checkpoint

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10 ** 6) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["images", "annotations", "categories", "id", "image_id", "keypoints",
                         "num_keypoints", "area", "bbox", "iscrowd", "width", "height", "score",
                         "category_id", "x"]), children, max_size=6),
    max_leaves=30)


def _one_line(e: InputError) -> None:
    assert str(e).strip() and "\n" not in str(e).strip()


def _coco_like(draw_ann):
    """A valid one-image COCO file whose first annotation has some fields replaced."""
    ann = {"id": 1, "image_id": 1, "category_id": 1, "keypoints": [10, 10, 2] * 17,
           "num_keypoints": 17, "area": 100.0, "bbox": [0, 0, 20, 20], "iscrowd": 0}
    ann.update(draw_ann)
    return {"images": [{"id": 1, "width": 64, "height": 64}], "annotations": [ann],
            "categories": [{"id": 1, "name": "person", "keypoints": [], "skeleton": []}]}


@FUZZ
@given(doc=json_values)
def test_coco_reader_takes_any_json(tmp_path, doc):
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(doc))
    try:
        load_coco_gt(path, "coco")
    except InputError as e:
        _one_line(e)


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["keypoints", "area", "bbox", "image_id", "iscrowd",
                                               "num_keypoints", "category_id"]), json_values, max_size=3))
def test_coco_reader_takes_corrupted_annotations(tmp_path, fields):
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(_coco_like(fields)))
    try:
        gt = load_coco_gt(path, "coco")
    except InputError as e:
        _one_line(e)
    else:
        assert len(gt.anns) == 1


@FUZZ
@given(doc=json_values, data=st.binary(max_size=64))
def test_results_reader_takes_any_json_or_bytes(tmp_path, doc, data):
    gt = quiet_coco(_coco_like({}))
    for content in (json.dumps(doc).encode(), data):
        path = tmp_path / "res.json"
        path.write_bytes(content)
        try:
            load_results(path, gt, "coco")
        except InputError as e:
            _one_line(e)


def _npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _filled(shape, kind, fill):
    with np.errstate(invalid="ignore"):
        return np.full(shape, fill).astype(kind)


arrays = st.builds(
    _filled,
    st.lists(st.integers(0, 6), min_size=0, max_size=4).map(tuple),
    st.sampled_from(["float32", "float64", "int32", "bool", "U1"]),
    st.sampled_from([0.0, 1.0, 0.5, -3.0, np.nan, np.inf]))


@FUZZ
@given(hm=arrays, tags=arrays, extra=st.sampled_from(["scale_factor", "center_scale", "none", "bad"]),
       cut=st.integers(0, 400))
def test_ae_map_reader_and_graph_builder_take_corrupted_files(tmp_path, hm, tags, extra, cut):
    meta = {"scale_factor": {"scale_factor": np.array(2.0)},
            "center_scale": {"center": np.array([8.0, 8.0]), "scale": np.array([0.1, 0.1])},
            "none": {}, "bad": {"scale_factor": np.array([1.0, 2.0, 3.0])}}[extra]
    raw = _npz_bytes(heatmaps=hm, tags=tags, **meta)
    for content in (raw, raw[:cut]):
        (tmp_path / "5.npz").write_bytes(content)
        try:
            maps = read_ae_maps(tmp_path, 5, 17)
        except InputError as e:
            _one_line(e)
            continue
        g = build_graph(maps, COCO17, GraphConfig())
        finalize_features(g, 17, "per-map")
        assert g.x.shape[0] == g.num_nodes and torch.isfinite(g.x).all()


@FUZZ
@given(H=st.integers(2, 24), W=st.integers(2, 24), h=st.integers(1, 24), w=st.integers(1, 24),
       D=st.integers(1, 3), seed=st.integers(0, 2 ** 16), plateau=st.booleans())
def test_graph_builder_on_random_maps(H, W, h, w, D, seed, plateau):
    rng = np.random.default_rng(seed)
    hm = rng.random((17, H, W)).astype(np.float32)
    if plateau:
        hm = np.round(hm * 2) / 2  # flat regions and ties
    tags = rng.normal(size=(17, h, w, D)).astype(np.float32)
    maps = AEMaps(hm, tags, np.array([3.0, 3.0]), np.zeros(2))
    persons = rng.random((3, 17, 3)) * np.array([3 * W, 3 * H, 2])
    g = label_graph(build_graph(maps, COCO17, GraphConfig()), persons, np.full(3, 500.0), GraphConfig())
    finalize_features(g, 17, "per-map")
    M = g.num_nodes
    assert g.pos.shape == (M, 2) and g.tag.shape == (M, D)
    assert (g.pos[:, 0] >= 0).all() and (g.pos[:, 0] <= W - 1).all() and (g.pos[:, 1] <= H - 1).all()
    if g.pair_index.numel():
        assert g.pair_index.max() < M and (g.pair_index[0] < g.pair_index[1]).all()
    assert g.y.shape == (g.pair_index.size(1),) and set(g.y.unique().tolist()) <= {0.0, 1.0}
    assert torch.isfinite(g.x).all() and torch.isfinite(g.edge_attr).all()


@pytest.fixture(scope="module")
def h36m_file(tiny_h36m):
    return tiny_h36m


@FUZZ
@given(cut=st.integers(0, 10 ** 6), flips=st.lists(st.integers(0, 10 ** 6), max_size=4))
def test_h36m_reader_takes_truncated_and_corrupted_files(tmp_path, h36m_file, cut, flips):
    folder = tmp_path / "h36m"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(h36m_file, folder)
    target = folder / "data_2d_h36m_gt.npz"
    raw = bytearray(target.read_bytes())
    for f in flips:
        raw[f % len(raw)] ^= 0xFF
    target.write_bytes(bytes(raw[:cut % (len(raw) + 1)]))
    try:
        poses = load_h36m(folder, "gt", 16, ["S9"])
    except InputError as e:
        _one_line(e)
    else:
        assert np.isfinite(poses.x2d).all()


@FUZZ
@given(cut=st.integers(0, 4000), flip=st.integers(0, 4000))
def test_checkpoint_reader_takes_truncated_and_corrupted_files(tmp_path, cut, flip):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"task": "lifting", "model": {"class": "X"}, "config": {},
                           "state_dict": {"w": torch.ones(50)}})
    raw = bytearray(path.read_bytes())
    raw[flip % len(raw)] ^= 0x5A
    path.write_bytes(bytes(raw[:cut % (len(raw) + 1)]))
    try:
        load_checkpoint(path, "lifting")
    except InputError as e:
        _one_line(e)


def test_zip_that_is_not_npz(tmp_path):
    with zipfile.ZipFile(tmp_path / "5.npz", "w") as z:
        z.writestr("heatmaps.npy", b"garbage")
        z.writestr("tags.npy", b"garbage")
    with pytest.raises(InputError, match=r"^5.npz: 'heatmaps' is not a readable array$"):
        read_ae_maps(tmp_path, 5, 17)
