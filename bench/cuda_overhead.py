"""Probe: where a small-batch training step's time goes on a GPU (CUDA only).

Prints the launch cost of a tiny kernel, the time and CUDA kernel count of one dense SemGCN
training step at batch 64 (forward, MSE, backward, clipping, Adam), and the same step replayed
as one captured CUDA graph. Usage: python bench/cuda_overhead.py
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from datasets.skeleton import H36M16  # noqa: E402
from gnn.models.dense_semgcn import DenseSemGCN  # noqa: E402


def timed(fn, n):
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / n


def main():
    if not torch.cuda.is_available():
        sys.exit("bench/cuda_overhead.py: no CUDA device")
    dev = torch.device("cuda")
    x = torch.zeros(64, device=dev)
    timed(lambda: x.add_(1), 100)
    print(f"tiny kernel (add_): {timed(lambda: x.add_(1), 5000) * 1e6:.1f} us each")
    model = DenseSemGCN(16, H36M16.edge_index()).to(dev)
    xb, yb = torch.randn(64, 16, 2, device=dev), torch.randn(64, 16, 3, device=dev)

    def make_step(opt, set_to_none):
        def step():
            opt.zero_grad(set_to_none=set_to_none)
            loss = torch.nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            opt.step()
        return step

    step = make_step(torch.optim.Adam(model.parameters(), 1e-3), True)
    timed(step, 20)
    ms = timed(step, 200) * 1e3
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        step()
        torch.cuda.synchronize()
    kernels = sum(e.count for e in prof.key_averages() if e.device_type.name == "CUDA")
    print(f"dense SemGCN training step, batch 64: {ms:.2f} ms ({64 / ms * 1e3:,.0f} poses/s), "
          f"{kernels} CUDA kernels")
    graph_step = make_step(torch.optim.Adam(model.parameters(), 1e-3, capturable=True), False)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up on a side stream, as capture requires
        for _ in range(3):
            graph_step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        graph_step()
    ms = timed(graph.replay, 200) * 1e3
    print(f"the same step replayed as one CUDA graph: {ms:.3f} ms ({64 / ms * 1e3:,.0f} poses/s)")


if __name__ == "__main__":
    main()
