"""Benchmark: inference speed of the exported models on the CPU, against PyTorch in the same run.

Lifting (semgcn and modulated, 16 joints, random weights: the work is the same): poses/s at batch 1 and 1024,
PyTorch eval mode (the fixed-topology path, as `predict.py lifting` runs it), the `.onnx` file in
onnxruntime, and the `.pt2` program (`torch.export.load(...).module()`). Grouping classifier (the
default configuration, random weights): ms per candidate graph of a 10-person image (about 70
nodes), fused eager, AOTInductor-compiled (`--compile on`), onnxruntime, `.pt2`. Outputs are
checked equal first.
Usage: python bench/export.py [--threads 2] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from datasets.skeleton import H36M16  # noqa: E402
from gnn.aot import aot_compiled  # noqa: E402
from tasks import grouping, lifting  # noqa: E402
from tasks.grouping.export import ClassifierForExport, export_classifier  # noqa: E402
from tasks.grouping.probabilities import DYNAMIC  # noqa: E402
from tasks.lifting.export import export_lifter  # noqa: E402


def _rate(fn, items: int, seconds: float = 2.0) -> float:
    """items/s of fn() over at least `seconds` after a warm-up call."""
    fn()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return n * items / (time.perf_counter() - start)


def lifting_rows(tmp: Path, ort, name: str) -> list[dict]:
    torch.manual_seed(0)
    model = lifting.model_from_spec(lifting.model_spec(lifting.LiftingModelConfig(name=name), H36M16)).eval()
    template = H36M16.edge_index()
    export_lifter(model, H36M16, tmp / "l.onnx", {})
    export_lifter(model, H36M16, tmp / "l.pt2", {})
    session = ort.InferenceSession(str(tmp / "l.onnx"), providers=["CPUExecutionProvider"])
    program = torch.export.load(str(tmp / "l.pt2")).module()
    rows = []
    for B in (1, 1024):
        x = torch.randn(B, 16, 2)
        with torch.no_grad():
            ref = model(x, template).numpy()
            np.testing.assert_allclose(session.run(None, {"x": x.numpy()})[0], ref, atol=1e-4)
            np.testing.assert_allclose(program(x).numpy(), ref, atol=1e-4)
            rates = {"pytorch": _rate(lambda: model(x, template), B),
                     "onnxruntime": _rate(lambda: session.run(None, {"x": x.numpy()}), B),
                     "pt2": _rate(lambda: program(x), B)}
        rows.append({"model": f"lifting ({name})", "batch": B, "unit": "poses/s", **rates})
    return rows


def grouping_row(tmp: Path, ort) -> dict:
    cfg = grouping.GroupingConfig()
    torch.manual_seed(0)
    spec = grouping.model_spec(cfg, tag_dim=1)
    model = grouping.model_from_spec(spec).eval()
    wrapped = ClassifierForExport(model).eval()
    kw = spec["kwargs"]
    g = torch.Generator().manual_seed(0)
    M, E, P = 70, 420, 900  # about a 10-person image's candidate graph
    full = {"x": torch.randn(M, kw["in_channels"], generator=g), "edge_index": torch.randint(0, M, (2, E), generator=g),
            "edge_attr": torch.randn(E, kw["edge_dim"], generator=g),
            "pair_index": torch.randint(0, M, (2, P), generator=g), "pair_attr": torch.randn(P, kw["edge_dim"], generator=g)}
    inputs = [full[n] for n in wrapped.input_names()]
    export_classifier(model, kw["in_channels"], kw["edge_dim"], tmp / "c.onnx", {})
    export_classifier(model, kw["in_channels"], kw["edge_dim"], tmp / "c.pt2", {})
    session = ort.InferenceSession(str(tmp / "c.onnx"), providers=["CPUExecutionProvider"])
    program = torch.export.load(str(tmp / "c.pt2")).module()
    fused = model.fused()
    args5 = (full["x"], full["edge_index"], full["edge_attr"] if model.edge_attr_in_conv else None,
             full["pair_index"], full["pair_attr"] if model.pair_e is not None else None)
    start = time.perf_counter()
    compiled = aot_compiled(fused, args5, DYNAMIC, tmp / "aot", compile=True)
    compile_s = time.perf_counter() - start
    feed = {n: t.numpy() for n, t in zip(wrapped.input_names(), inputs)}
    with torch.no_grad():
        ref = wrapped(*inputs).numpy()
        np.testing.assert_allclose(session.run(None, feed)[0], ref, atol=1e-5)
        np.testing.assert_allclose(torch.sigmoid(compiled(*args5)).numpy(), ref, atol=1e-5)
        ms = {name: 1e3 / _rate(fn, 1) for name, fn in
              (("pytorch", lambda: fused(*args5)), ("aot", lambda: compiled(*args5)),
               ("onnxruntime", lambda: session.run(None, feed)), ("pt2", lambda: program(*inputs)))}
    return {"model": "grouping classifier", "graph": f"{M} nodes, {E} edges, {P} pairs", "unit": "ms per graph",
            "aot_compile_seconds": compile_s, **ms}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    import onnxruntime as ort
    with tempfile.TemporaryDirectory() as d:
        rows = lifting_rows(Path(d), ort, "semgcn") + lifting_rows(Path(d), ort, "modulated") + [grouping_row(Path(d), ort)]
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}, {a.threads} threads")
    for r in rows:
        print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}))
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
