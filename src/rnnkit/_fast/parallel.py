"""Two independent pieces of work on the two halves of a machine.

Two pieces of the recurrent work share nothing but their inputs: the
forward and the reverse direction of a bidirectional layer, and the loops
over time of the two halves of a batch (each sequence's recurrence is its
own), so they can run at the same time. When both run the compiled
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

import threading

from rnnkit._fast import blas

_pool = {}
_inside = threading.local()  # set while a thread runs one of a pair: pairs do not nest
# splitting a batch pays when each half is big enough to keep a core busy between the two halves'
# meetings (none: they run apart for the whole sequence) and W_hh fits in a core's L2 cache, which
# each half's single-threaded products then read without repacking over memory
SPLIT_MIN_BATCH, SPLIT_MAX_WEIGHT_BYTES = 8, 1 << 20


def worth_it() -> bool:
    """Run pairs of compiled loops concurrently: there are cores for two and BLAS threads can be set
    per thread."""
    return (os.cpu_count() or 1) >= 2 and blas.set_threads_local() is not None


def split_batch(B: int, H: int, G: int) -> bool:
    """Whether a layer's loop over time runs as two half batches at once (B rows, W_hh (G·H, H) float32)."""
    return B >= 2 * SPLIT_MIN_BATCH and G * H * H * 4 <= SPLIT_MAX_WEIGHT_BYTES and worth_it()


def run_pair(first, second):
    """(first(), second()), concurrently with one BLAS thread each (see :func:`worth_it`); one after
    the other when called from inside a pair."""
    if getattr(_inside, "busy", False):
        return first(), second()
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
    previous, _inside.busy = set_local(1), True
    try:
        return fn()
    finally:
        set_local(previous)
        _inside.busy = False
