"""NumPy's BLAS against oneDNN's ``dnnl_sgemm`` on the products of one LSTM layer's training step.

Usage (from the repository root; oneDNN from ``pip install onednn-cpu-gomp``, or ``--dnnl PATH``)::

    python benchmarks/sgemm_libraries.py                     # T,B,D,H = 100,32,512,512
    python benchmarks/sgemm_libraries.py 100 64 128 256 --threads 1 2

Which library computes a float32 product decides how close to the machine's
limit a layer gets: at the large grid points of ``compare.py`` rnnkit's LSTM
runs at 86–89 % of NumPy's GEMM peak, and the rest of its time is products.
This times, for one half of the batch (b = B/2 rows, as
:mod:`rnnkit.functional.batch_parts` runs it on each of two cores) and for the whole
batch, the four large products (xw = X W_ihᵀ, dX = dxw W_ih,
dW_ih = dxwᵀ X, dW_hh = dxwᵀ H_prev) and one step's recurrent products
(h W_hhᵀ, da W_hh), each the median of ``--reps`` calls, with NumPy's BLAS
(``np.matmul``) and with oneDNN's sgemm (row-major, through ctypes), at each
thread count given (OpenBLAS through threadpoolctl, oneDNN's OpenMP through
``omp_set_num_threads`` of the libgomp it loads). Both results are checked
against each other first. The environment is compare.py's (OpenBLAS
overrides removed, kernel printed).
"""
from __future__ import annotations

import argparse
import ctypes
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # benchmarks/machine.py
from profile_lstm import median_time  # benchmarks/profile_lstm.py

_I64, _F = ctypes.c_int64, ctypes.c_float


def find_dnnl(path: str | None) -> Path | None:
    """libdnnl.so.3: ``path``, else the one ``pip install onednn-cpu-gomp`` put under the environment's lib/."""
    if path:
        return Path(path)
    found = sorted(Path(sys.prefix, "lib").glob("libdnnl.so.3*"))
    return found[0] if found else None


def dnnl_matmul(library: Path):
    """(matmul(a, b, out), set_threads(n)) calling oneDNN's row-major ``dnnl_sgemm``: a and b C-contiguous
    or the transpose of a C-contiguous array, out C-contiguous."""
    lib = ctypes.CDLL(str(library))
    sgemm = lib.dnnl_sgemm
    sgemm.restype = ctypes.c_int
    sgemm.argtypes = [ctypes.c_char, ctypes.c_char, _I64, _I64, _I64, _F, ctypes.c_void_p, _I64, ctypes.c_void_p,
                      _I64, _F, ctypes.c_void_p, _I64]
    omp_set_num_threads = ctypes.CDLL("libgomp.so.1").omp_set_num_threads

    def operand(a):
        return (b"N", a.shape[1]) if a.flags.c_contiguous else (b"T", a.shape[0])

    def matmul(a, b, out):
        (ta, lda), (tb, ldb) = operand(a), operand(b)
        status = sgemm(ta, tb, a.shape[0], b.shape[1], a.shape[1], 1.0, a.ctypes.data, lda, b.ctypes.data, ldb, 0.0,
                       out.ctypes.data, out.shape[1])
        if status != 0:
            raise RuntimeError(f"dnnl_sgemm returned status {status}")
        return out
    return matmul, omp_set_num_threads


def products(T: int, rows: int, D: int, H: int, rng) -> dict:
    """{name: (a, b)} of a layer over ``rows`` sequences: a (M, K) and b (K, N), laid out as the layer has them."""
    import numpy as np

    def f32(*shape):
        return rng.standard_normal(shape).astype(np.float32)
    x, dxw, h_prev, w_ih, w_hh = f32(T * rows, D), f32(T * rows, 4 * H), f32(T * rows, H), f32(4 * H, D), f32(4 * H, H)
    w_hh_t = np.ascontiguousarray(w_hh.T)
    return {"xw = X W_ihᵀ": (x, w_ih.T), "dX = dxw W_ih": (dxw, w_ih), "dW_ih = dxwᵀ X": (dxw.T, x),
            "dW_hh = dxwᵀ H_prev": (dxw.T, h_prev), "step h W_hhᵀ": (h_prev[:rows], w_hh_t),
            "step da W_hh": (dxw[:rows], w_hh)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("shape", nargs="*", type=int, default=[100, 32, 512, 512], help="T B D H")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--reps", type=int, default=9)
    p.add_argument("--dnnl", help="path of libdnnl.so.3 (default: the onednn-cpu-gomp package's)")
    args = p.parse_args(argv)
    machine.enter_timing_environment(__file__, argv, max(args.threads))
    import numpy as np
    from threadpoolctl import threadpool_limits

    library = find_dnnl(args.dnnl)
    if library is None:
        sys.exit("oneDNN not found: pip install onednn-cpu-gomp, or give --dnnl PATH")
    dnnl, omp_threads = dnnl_matmul(library)

    def numpy_matmul(a, b, out):
        return np.matmul(a, b, out=out)
    print(machine.header(machine.describe(max(args.threads))) + f" | oneDNN: {library}")
    T, B, D, H = args.shape
    rng = np.random.default_rng(0)
    print(f"{'rows':>5s} {'threads':>7s} {'product':22s} {'M,N,K':>17s} {'NumPy GFLOP/s':>14s} {'oneDNN':>7s} {'ratio':>6s}")
    for rows in (B // 2, B):
        for name, (a, b) in products(T, rows, D, H, rng).items():
            out = np.empty((a.shape[0], b.shape[1]), np.float32)
            np.testing.assert_allclose(dnnl(a, b, out), a @ b, rtol=1e-3, atol=1e-3)
            flops = 2 * a.shape[0] * a.shape[1] * b.shape[1]
            reps = args.reps * max(1, int(1e8 // flops))  # the step products are 100-1000x smaller: time more calls
            for threads in args.threads:
                omp_threads(threads)
                with threadpool_limits(threads, user_api="blas"):
                    t_numpy, t_dnnl = (median_time(partial(f, a, b, out), reps) for f in (numpy_matmul, dnnl))
                shape = f"{a.shape[0]},{b.shape[1]},{a.shape[1]}"
                print(f"{rows:5d} {threads:7d} {name:22s} {shape:>17s} {flops / t_numpy / 1e9:14.0f} "
                      f"{flops / t_dnnl / 1e9:7.0f} {t_numpy / t_dnnl:6.2f}")


if __name__ == "__main__":
    main()
