"""Two independent pieces of work on the two halves of a machine: the directions of a bidirectional layer.

The forward and the reverse direction of a layer share nothing but their
input, so they can run at the same time. When both run the compiled
whole-sequence loops (:mod:`rnnkit._fast.sequence`, which release the GIL
and call BLAS from compiled code), :func:`run_pair` runs the second in a
worker thread while the first runs in the caller's, with BLAS set to one
thread while the pair runs, instead of one after the other with BLAS
splitting every small per-step product over the cores (100,32,128,256, two
bidirectional layers, forward and backward: 314 ms instead of 577).

OpenBLAS's thread count is the process's, not the calling thread's (its
``openblas_set_num_threads_local`` sets the process-wide count and returns
the old one), so the pair sets it once before both start and puts the old
count back once after both end; a BLAS call from another thread of the
program during that time runs single-threaded. The results are those of the
same calls made one after the other with one BLAS thread: which thread count
BLAS uses may change the last bit of a product, never the outcome of a run
from one execution to the next.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from rnnkit._fast import blas

_pool = {}


def worth_it() -> bool:
    """Run pairs of compiled loops concurrently: there are cores for two and BLAS's thread count can
    be set."""
    return (os.cpu_count() or 1) >= 2 and blas.set_threads() is not None


def run_pair(first, second):
    """(first(), second()), concurrently, with one BLAS thread while they run (see :func:`worth_it`)."""
    if "pool" not in _pool:
        _pool["pool"] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rnnkit")
    set_threads = blas.set_threads()
    previous = set_threads(1)
    try:
        later = _pool["pool"].submit(second)
        try:
            done = first()
        finally:
            other = later.result()  # wait even when first() failed: second() uses the same buffers' owner
    finally:
        set_threads(previous)
    return done, other
