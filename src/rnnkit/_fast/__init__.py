"""Optional compiled kernels for the cells' element-wise work (``pip install "rnnkit[fast]"``).

The plain-NumPy code in :mod:`rnnkit.functional` is the reference. When
numba is installed, each float32 step of the LSTM, the reset-after GRU and
the RNN does its element-wise work (gate activations, state update and their
derivatives) in one fused kernel from :mod:`rnnkit._fast.kernels` instead of
a dozen NumPy passes; matrix products stay in NumPy's BLAS, float64 and
everything else stay in NumPy. The two agree to float32 rounding (tanh is
approximated to 4e-7; see the kernels' docstring).

Choosing: the environment variable ``RNNKIT_BACKEND`` ("auto", the default:
numba when importable; "numpy"; "numba": fail if it is missing) or
:func:`set_backend`. numba is imported on the first float32 step, not with
rnnkit, and compiled kernels are cached on disk.
"""
from __future__ import annotations

import os
from functools import partial

import numpy as np

BACKENDS = ("auto", "numpy", "numba")
_state = {"backend": None, "kernels": None}
PAIRS = {"depth": 0, "threads": 1}  # depth > 0 inside parallel.pairs_only(): BLAS is at one thread and rnnkit's
# pieces use the cores (``threads``: BLAS's count on entering)


def pairs_only_now() -> bool:
    """Whether the caller runs inside :func:`rnnkit._fast.parallel.pairs_only` (asked without importing it)."""
    return PAIRS["depth"] > 0


def set_backend(name: str) -> str:
    """Use ``name`` ("auto", "numpy" or "numba") from now on; returns the previous choice."""
    if name not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS}, given {name!r}")
    previous = _state["backend"] or "auto"
    _state["backend"], _state["kernels"] = name, None  # (re)load on the next step
    return previous


def get_backend() -> str:
    """The backend in use: set_backend's choice, else $RNNKIT_BACKEND, else "auto"."""
    if _state["backend"] is None:
        set_backend(os.environ.get("RNNKIT_BACKEND", "auto"))
    return _state["backend"]


def kernel(name: str, like: np.ndarray):
    """The compiled kernel ``name`` for steps on arrays like ``like`` (B, ·), or None: use NumPy."""
    if like.ndim != 2 or not _compiled(like.dtype):
        return None
    return getattr(_state["kernels"], name)


def _compiled(dtype) -> bool:
    """Whether compiled kernels serve arrays of this dtype (float32, backend not "numpy", numba there)."""
    if dtype != np.float32 or get_backend() == "numpy":
        return False
    if _state["kernels"] is None:
        _state["kernels"] = _load()
    return bool(_state["kernels"])


def sequence_kernel(name: str, like: np.ndarray):
    """The compiled whole-sequence loop ``name`` of :mod:`rnnkit._fast.sequence` for arrays like
    ``like`` (T, B, ·), with :func:`rnnkit._fast.blas.addresses` bound as its first argument (taken at
    each call: how the steps' products run depends on BLAS's thread count at the time); or None when the
    step-by-step loop must run (not float32, NumPy backend, no numba, or no usable BLAS)."""
    if not loops_compiled(like):
        return None
    from rnnkit._fast import blas, sequence
    return partial(getattr(sequence, name), blas.addresses())


def loops_compiled(like: np.ndarray) -> bool:
    """Whether whole-sequence loops over arrays like ``like`` (T, B, ·) run compiled (:func:`loops_compiled_for`
    their dtype)."""
    return like.ndim == 3 and loops_compiled_for(like.dtype)


def loops_compiled_for(dtype) -> bool:
    """Whether whole-sequence loops over arrays of ``dtype`` run compiled: float32, numba, and NumPy's BLAS
    callable from compiled code (:mod:`rnnkit._fast.blas`)."""
    if not _compiled(dtype):
        return False
    from rnnkit._fast import blas
    return blas.sgemm_sgemv() is not None


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b (into ``out``): a layer's large products, through oneDNN on one thread where
    :mod:`rnnkit._fast.onednn` uses it (loaded on the first float32 product, not with rnnkit), else NumPy."""
    if a.dtype != np.float32:
        return np.matmul(a, b, out=out)
    from rnnkit._fast import onednn
    return onednn.matmul(a, b, out)


def _load():
    """The kernels module, or False when numba is missing (an error if "numba" was asked for)."""
    try:
        from rnnkit._fast import kernels
    except ImportError as exc:
        if get_backend() == "numba":
            raise ImportError('backend "numba": install it with pip install "rnnkit[fast]"') from exc
        return False
    return kernels
