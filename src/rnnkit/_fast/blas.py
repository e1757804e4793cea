"""NumPy's own BLAS, as a ``cblas_sgemm`` and ``cblas_sgemv`` that compiled code can call.

The whole-sequence kernels (:mod:`rnnkit._fast.sequence`) run the loop over
time inside numba, so each step's recurrent product must be called from
compiled code, not through ``np.matmul``. This module finds the BLAS library
that NumPy itself loaded (threadpoolctl lists it; without threadpoolctl the
folders NumPy's wheels ship it in are searched), takes its single-precision
``cblas_sgemm`` and ``cblas_sgemv`` (OpenBLAS's ILP64 builds name them
``scipy_cblas_sgemm64_`` or ``cblas_sgemm64_`` and so on, with 64-bit integer
arguments) and checks them on small products against NumPy before anyone uses
them. Nothing found, or a wrong answer: :func:`sgemm_sgemv` returns None and
the layer over time keeps its step-by-step NumPy loop. The same library, the
same threads, the same results as ``np.matmul``.
"""
from __future__ import annotations

import ctypes
import os
import re
from pathlib import Path

import numpy as np

# symbol prefix and suffix, integer type of the size arguments
NAMES = (("scipy_cblas_", "64_", ctypes.c_int64), ("cblas_", "64_", ctypes.c_int64),
         ("scipy_cblas_", "", ctypes.c_int), ("cblas_", "", ctypes.c_int))
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
SMALL_KERNEL_CORES = {"skylakex", "cooperlake", "sapphirerapids"}  # OpenBLAS targets with sgemm small kernels
SMALL_PRODUCTS = 100 ** 3                                              # their limit on M·N·K
_found = {}


def sgemm_sgemv():
    """``(cblas_sgemm, cblas_sgemv)`` of NumPy's BLAS as ctypes functions (pointers as integers), or None:

    * ``sgemm(order, transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)``
    * ``sgemv(order, trans, M, N, alpha, A, lda, x, incx, beta, y, incy)``, for a batch of one row,
      where NumPy too calls gemv (it is faster there, and single-threaded as NumPy's is).
    """
    if "pair" not in _found:
        _found["pair"] = _first_working(_library_paths())
    return _found["pair"]


def addresses():
    """``(sgemm address, sgemv address, bits of their size arguments, small)`` for compiled code
    (:mod:`rnnkit._fast.cblas`), or None when :func:`sgemm_sgemv` found nothing. ``small`` is
    :func:`small_product_limit` when BLAS runs one thread now, else 0: the small-matrix kernels run in
    the calling thread, and with two threads one packed product that BLAS shares among them is faster
    (measured: 100,32,512,512, 2 threads, a layer's training step 460 ms in tiles against 286)."""
    pair = sgemm_sgemv()
    if pair is None:
        return None
    if "addresses" not in _found:  # one entry, set whole: the two threads of a pair may ask at once
        _found["addresses"] = (tuple(ctypes.cast(f, ctypes.c_void_p).value for f in pair) + (_found["bits"],),
                               small_product_limit())
    found, small = _found["addresses"]
    threads = get_threads()
    return found + (small if threads is not None and threads() == 1 else 0,)


def small_product_limit() -> int:
    """The largest M·N·K of an sgemm without transposes that NumPy's OpenBLAS computes with its small-matrix
    kernels, or 0 when it has none.

    OpenBLAS (≥ 0.3.16) computes small products straight from the operands, without packing them into
    its blocked layout first, on its AVX-512 targets (SkylakeX and the two that build on its kernels),
    when M·N·K ≤ 100³. At the sizes of an RNN step that is faster than one packed product: 8 × 512 × 128
    at 114 GFLOP/s against 80 for 32 × 512 × 128 in one call, 16 × 1024 × 256 in tiles at 110 against 47
    (one thread, this kernel); on the other targets tiles would each pay for their own packing."""
    corename, config = (_openblas(n, [], ctypes.c_char_p) for n in ("openblas_get_corename", "openblas_get_config"))
    if corename is None or config is None:
        return 0
    found = re.search(r"OpenBLAS (\d+)\.(\d+)\.(\d+)", config().decode())
    version = tuple(int(v) for v in found.groups()) if found else (0, 0, 0)
    return SMALL_PRODUCTS if corename().decode().lower() in SMALL_KERNEL_CORES and version >= (0, 3, 16) else 0


def set_threads():
    """OpenBLAS's ``openblas_set_num_threads_local(n) -> previous`` (OpenBLAS ≥ 0.3.27) from the library
    :func:`sgemm_sgemv` found, or None. Despite its name it sets the process's thread count (measured:
    two threads each setting 1 and restoring left the process at 1), and returns the previous count."""
    return _openblas("openblas_set_num_threads_local", [ctypes.c_int])


def get_threads():
    """OpenBLAS's ``openblas_get_num_threads() -> n``, the thread count BLAS calls use now, or None."""
    return _openblas("openblas_get_num_threads", [])


def _openblas(name: str, argtypes: list, restype=ctypes.c_int):
    """The OpenBLAS function ``name`` of the library :func:`sgemm_sgemv` found, under its plain name or its
    ILP64 builds' (``scipy_`` before, ``64_`` after: NumPy's wheels use both spellings), or None."""
    if name not in _found:
        lib = _found.get("lib") if sgemm_sgemv() else None
        spellings = (name, f"scipy_{name}64_", f"{name}64_")
        fn = next((getattr(lib, n) for n in spellings if hasattr(lib, n)), None) if lib is not None else None
        if fn is not None:
            fn.argtypes, fn.restype = argtypes, restype
        _found[name] = fn  # set once, whole (see addresses)
    return _found[name]


def _library_paths() -> list[str]:
    try:
        from threadpoolctl import threadpool_info
        paths = [lib["filepath"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
    except Exception:  # threadpoolctl missing or unable to inspect this process: search NumPy's folders
        paths = []
    numpy_dir = Path(np.__file__).parent
    for folder in (numpy_dir.parent / "numpy.libs", numpy_dir / ".dylibs", numpy_dir / ".libs"):
        if folder.is_dir():
            paths += sorted(str(p) for p in folder.iterdir() if "blas" in p.name.lower())
    return list(dict.fromkeys(paths))


def _first_working(paths):
    for path in paths:
        try:
            lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LOCAL) if hasattr(os, "RTLD_NOLOAD") \
                else ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix, integer in NAMES:
            gemm, gemv = (getattr(lib, f"{prefix}{op}{suffix}", None) for op in ("sgemm", "sgemv"))
            if gemm is None or gemv is None:
                continue
            p, f = ctypes.c_void_p, ctypes.c_float
            gemm.argtypes = [ctypes.c_int] * 3 + [integer] * 3 + [f, p, integer, p, integer, f, p, integer]
            gemv.argtypes = [ctypes.c_int] * 2 + [integer] * 2 + [f, p, integer, p, integer, f, p, integer]
            gemm.restype = gemv.restype = None
            if _agrees_with_numpy(gemm, gemv):
                _found["lib"], _found["bits"] = lib, 8 * ctypes.sizeof(integer)
                return gemm, gemv
    return None


def _agrees_with_numpy(gemm, gemv) -> bool:
    """C = A B + C on a 3×5 · 5×4 product and y = Bᵀ x + y, against NumPy."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 5), np.float32), rng.standard_normal((5, 4), np.float32)
    c, y = np.ones((3, 4), np.float32), np.ones(4, np.float32)
    gemm(ROW_MAJOR, NO_TRANS, NO_TRANS, 3, 4, 5, 1.0, a.ctypes.data, 5, b.ctypes.data, 4, 1.0, c.ctypes.data, 4)
    gemv(ROW_MAJOR, TRANS, 5, 4, 1.0, b.ctypes.data, 4, a[0].ctypes.data, 1, 1.0, y.ctypes.data, 1)
    return bool(np.allclose(c, a @ b + 1, atol=1e-5) and np.allclose(y, a[0] @ b + 1, atol=1e-5))
