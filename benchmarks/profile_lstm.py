"""Where an LSTM training step's time goes: each GEMM and each loop of one layer, timed alone.

Usage (from the repository root)::

    python benchmarks/profile_lstm.py                       # T,B,D,H = 100,32,512,512, 2 threads
    python benchmarks/profile_lstm.py 100 32 64 128 --threads 1

One layer, one direction, float32, the parts of ``recurrent_forward`` and
``recurrent_backward`` with the arrays they use:

* the input projection xw = X W_ihᵀ and, after the loop, dW_ih = dxwᵀ X,
  dX = dxw W_ih and dW_hh = dxwᵀ H_prev: one large GEMM each;
* the loops over time (the compiled ones of ``rnnkit._fast.sequence`` when
  numba is installed), and inside them the T recurrent products alone
  (h_{t−1} W_hhᵀ forward, da_t W_hh backward, each made as the loops make it:
  ``sequence.product``, in tiles on one BLAS thread where BLAS has
  small-matrix kernels) and the element-wise kernels alone;
* the whole layer's forward + backward, and PyTorch's when it is installed.

Each figure is the median of ``--reps`` calls after a warm-up, in the same
environment ``compare.py`` uses (OpenBLAS overrides removed, kernel printed).
GFLOP/s and the share of the GEMM peak show how far each product is from
what the BLAS reaches on large square matrices.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402  (benchmarks/machine.py)


def median_time(fn, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[reps // 2]


def parts(T, B, D, H, reps):
    """{name: (seconds, flops or 0)} of one LSTM layer's training step."""
    import numpy as np

    import numba

    import rnnkit as rk
    from rnnkit._fast import blas, kernels, sequence

    @numba.njit(nogil=True)
    def products(addresses, M, N, K, a, b, c):
        for _ in range(T):
            sequence.product(addresses, M, N, K, a, b, sequence.ZERO, c)
    addresses = blas.addresses()
    layer = rk.LSTM(D, H, seed=0)
    w_ih, w_hh, b_ih, b_hh = (layer.params[f"{k}_l0"] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T * B, D), np.float32)
    h = rng.standard_normal((T * B, H), np.float32)
    dxw = rng.standard_normal((T * B, 4 * H), np.float32) * 0.1
    w_t = np.ascontiguousarray(w_hh.T)
    gates, out_4h = np.empty((B, 4 * H), np.float32), np.empty((B, 4 * H), np.float32)
    out_h = np.empty((B, H), np.float32)
    c, tanh_c = np.zeros((B, H), np.float32), np.empty((B, H), np.float32)
    big, step = 2.0 * T * B * 4 * H, 2.0 * B * 4 * H * H

    def steps(fn):
        return lambda: [fn() for _ in range(T)]
    xb = rng.standard_normal((B, T, D), np.float32)
    dout = np.ones((B, T, H), np.float32)

    def train():
        layer.forward(xb)
        layer.backward(dout)

    def forward_only():
        layer.forward(xb)
    return {
        "input projection X W_ihᵀ": (median_time(lambda: x @ w_ih.T, reps), big * D),
        "forward: T products h W_hhᵀ": (median_time(lambda: products(addresses, B, 4 * H, H, h[:B], w_t, out_4h),
                                                     reps), T * step),
        "forward: T element-wise kernels": (median_time(steps(lambda: kernels.lstm_activate(
            gates, b_hh, c, c, tanh_c, out_h)), reps), 0),
        "backward: T products da W_hh": (median_time(lambda: products(addresses, B, H, 4 * H, dxw[:B], w_hh, out_h),
                                                     reps), T * step),
        "backward: T element-wise kernels": (median_time(steps(lambda: kernels.lstm_backward(
            out_h, c, c, gates, tanh_c, out_4h, tanh_c)), reps), 0),
        "dW_ih = dxwᵀ X": (median_time(lambda: dxw.T @ x, reps), big * D),
        "dX = dxw W_ih": (median_time(lambda: dxw @ w_ih, reps), big * D),
        "dW_hh = dxwᵀ H_prev": (median_time(lambda: dxw.T @ h, reps), big * H),
        "layer forward (all of it)": (median_time(forward_only, reps), big * (D + H)),
        "layer forward + backward (all of it)": (median_time(train, reps), 3 * big * (D + H)),
        "_torch": torch_time(layer, xb, reps),
    }


def torch_time(layer, xb, reps):
    from importlib.util import find_spec
    if find_spec("torch") is None:
        return None
    import workloads as w
    return median_time(w.torch_train(w.torch_layer("lstm", layer), xb), reps)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("shape", nargs="*", type=int, default=[100, 32, 512, 512], help="T B D H")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=9)
    args = p.parse_args(argv)
    machine.enter_timing_environment(__file__, argv, args.threads)  # time what users get (see machine.py)
    peak = machine.gemm_peak()["gflops"]
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    print(machine.header(machine.describe(args.threads, torch)))
    T, B, D, H = args.shape
    res = parts(T, B, D, H, args.reps)
    torch_s = res.pop("_torch")
    total = res["layer forward + backward (all of it)"][0]
    print(f"LSTM T,B,D,H = {T},{B},{D},{H}; GEMM peak {peak:.0f} GFLOP/s")
    print(f"{'part':40s} {'ms':>9s} {'% step':>7s} {'GFLOP/s':>8s} {'% peak':>7s}")
    for name, (sec, flops) in res.items():
        rate = f"{flops / sec / 1e9:8.0f} {100 * flops / sec / 1e9 / peak:6.0f}%" if flops else ""
        print(f"{name:40s} {sec * 1e3:9.2f} {100 * sec / total:6.0f}% {rate}")
    if torch_s:
        print(f"{'torch.nn.LSTM forward + backward':40s} {torch_s * 1e3:9.2f} {100 * torch_s / total:6.0f}%")


if __name__ == "__main__":
    main()
