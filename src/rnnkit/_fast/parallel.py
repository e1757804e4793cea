"""Two independent pieces of work on the two halves of a machine: the directions of a bidirectional layer.

The forward and the reverse direction of a layer share nothing but their
input, so they can run at the same time. When both run the compiled
whole-sequence loops (:mod:`rnnkit._fast.sequence`, which release the GIL
and call BLAS from compiled code), :func:`run_pair` runs the second in a
worker thread while the first runs in the caller's, each with a single BLAS
thread (OpenBLAS's thread-local setting), instead of one after the other
with BLAS splitting every small per-step product over the cores. The
results are those of the same calls made one after the other with one BLAS
thread; which thread count BLAS uses may change the last bit of a product,
never the outcome of a run from one execution to the next.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from rnnkit._fast import blas

_pool = {}


def worth_it() -> bool:
    """Run pairs of compiled loops concurrently: there are cores for two and BLAS threads can be set
    per thread."""
    return (os.cpu_count() or 1) >= 2 and blas.set_threads_local() is not None


def run_pair(first, second):
    """(first(), second()), concurrently with one BLAS thread each (see :func:`worth_it`)."""
    if "pool" not in _pool:
        _pool["pool"] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rnnkit")
    later = _pool["pool"].submit(_single_blas_thread, second)
    try:
        done = _single_blas_thread(first)
    finally:
        other = later.result()
    return done, other


def _single_blas_thread(fn):
    set_local = blas.set_threads_local()
    previous = set_local(1)
    try:
        return fn()
    finally:
        set_local(previous)
