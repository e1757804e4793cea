"""oneDNN's sgemm for the layers' large float32 products on one thread (``pip install "rnnkit[onednn]"``).

A layer's training step is mostly products: the input projection X W_ihᵀ,
and in the backward dX = dxw W_ih, dW_ih = dxwᵀ X and dW_hh = dxwᵀ H_prev,
each one GEMM over all T·B rows. Where they run on one thread (the parts
of a batch and the two directions of a layer each run on one core,
:mod:`rnnkit._fast.parallel`; or BLAS was asked for one thread), oneDNN's
``dnnl_sgemm`` computes them 7–24 % faster than NumPy's OpenBLAS on this
project's machine (AMD EPYC, OpenBLAS's SkylakeX kernels;
``benchmarks/sgemm_libraries.py``). :func:`matmul` uses it there, when the
``onednn-cpu-gomp`` package is installed, and NumPy everywhere else: on
two or more BLAS threads (OpenBLAS shares one product among them well), for
float64, for small products and on the NumPy backend. oneDNN runs with one
OpenMP thread (set for the calling thread during the call and put back after:
PyTorch's wheel ships the same ``libgomp.so.1``, and a setting left behind
halved its speed), so no OpenMP thread pool is ever started: nothing spins
beside the pieces, and a forked process is safe. The results are those of
``np.matmul`` up to float rounding.
"""
from __future__ import annotations

import ctypes
import site
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from rnnkit._fast import blas, get_backend

MIN_PRODUCT = 2 ** 18  # M·N·K below which NumPy's call is as fast (the library call's fixed cost)
_found = {}


def sgemm():
    """``(dnnl_sgemm, omp_set_num_threads, omp_get_max_threads)`` as ctypes functions, or None: oneDNN not
    installed (its library is looked for in the lib/ folder where ``onednn-cpu-gomp`` puts it: the
    environment's, or the user's for a ``pip install --user``), or not agreeing with NumPy."""
    if "functions" not in _found:
        folders = (Path(sys.prefix, "lib"), Path(site.getuserbase(), "lib"))  # a venv's or a --user install's
        _found["functions"] = _load([p for folder in folders for p in sorted(folder.glob("libdnnl.so.3*"))])
    return _found["functions"]


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a (M, K) @ b (K, N), into ``out`` (M, N) when given: through oneDNN when :func:`used_for` these
    operands (and ``out`` is a C-contiguous float32 array or None), else ``np.matmul``."""
    if not (used_for(a, b) and (out is None or (out.dtype == np.float32 and out.flags.c_contiguous))):
        return np.matmul(a, b, out=out)
    dnnl_sgemm, *openmp = sgemm()
    out = np.empty((a.shape[0], b.shape[1]), np.float32) if out is None else out
    with _one_openmp_thread(*openmp):
        _call(dnnl_sgemm, a, b, out)
    return out


def used_for(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether :func:`matmul` computes a @ b through oneDNN: both float32 and 2-D, each C-contiguous or the
    transpose of a C-contiguous array, M·N·K ≥ MIN_PRODUCT, BLAS at one thread now, the backend not
    "numpy", and oneDNN found."""
    if a.dtype != np.float32 or b.dtype != np.float32 or a.ndim != 2 or b.ndim != 2:
        return False
    if a.shape[0] * a.shape[1] * b.shape[1] < MIN_PRODUCT or not (_layout(a) and _layout(b)):
        return False
    if get_backend() == "numpy" or sgemm() is None:
        return False
    threads = blas.get_threads()
    return threads is not None and threads() == 1


def _layout(a: np.ndarray) -> tuple | None:
    """(transpose flag, leading dimension) of a row-major operand, or None for any other layout."""
    if a.flags.c_contiguous:
        return b"N", max(a.shape[1], 1)
    if a.T.flags.c_contiguous:
        return b"T", max(a.shape[0], 1)
    return None


def _call(dnnl_sgemm, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    (ta, lda), (tb, ldb) = _layout(a), _layout(b)
    status = dnnl_sgemm(ta, tb, a.shape[0], b.shape[1], a.shape[1], 1.0, a.ctypes.data, lda, b.ctypes.data, ldb,
                        0.0, out.ctypes.data, max(out.shape[1], 1))
    if status != 0:
        raise RuntimeError(f"oneDNN's dnnl_sgemm failed (status {status}) on a {a.shape} @ {b.shape} product")


def _load(paths: list[Path]):
    for path in paths:
        try:
            dnnl_sgemm = ctypes.CDLL(str(path)).dnnl_sgemm
            gomp = ctypes.CDLL("libgomp.so.1")
            omp_set_num_threads, omp_get_max_threads = gomp.omp_set_num_threads, gomp.omp_get_max_threads
        except (OSError, AttributeError):
            continue
        i64, f32, p = ctypes.c_int64, ctypes.c_float, ctypes.c_void_p
        dnnl_sgemm.argtypes = [ctypes.c_char, ctypes.c_char, i64, i64, i64, f32, p, i64, p, i64, f32, p, i64]
        dnnl_sgemm.restype = ctypes.c_int
        omp_set_num_threads.argtypes, omp_set_num_threads.restype = [ctypes.c_int], None
        omp_get_max_threads.argtypes, omp_get_max_threads.restype = [], ctypes.c_int
        if _agrees_with_numpy(dnnl_sgemm, omp_set_num_threads, omp_get_max_threads):
            return dnnl_sgemm, omp_set_num_threads, omp_get_max_threads
    return None


@contextmanager
def _one_openmp_thread(omp_set_num_threads, omp_get_max_threads):
    """The calling thread's OpenMP thread count at 1 inside, put back after (other libraries share it)."""
    previous = omp_get_max_threads()
    omp_set_num_threads(1)
    try:
        yield
    finally:
        omp_set_num_threads(previous)


def _agrees_with_numpy(dnnl_sgemm, *openmp) -> bool:
    """Each of the four transpose cases on a 3×5 · 5×4 product, against NumPy."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 5), np.float32), rng.standard_normal((5, 4), np.float32)
    with _one_openmp_thread(*openmp):
        for left in (a, np.ascontiguousarray(a.T).T):
            for right in (b, np.ascontiguousarray(b.T).T):
                out = np.full((3, 4), np.nan, np.float32)  # a call that wrote nothing fails the comparison
                try:
                    _call(dnnl_sgemm, left, right, out)
                except RuntimeError:
                    return False
                if not np.allclose(out, a @ b, atol=1e-5):
                    return False
    return True
