"""Independent pieces of work on the two halves of a machine: the directions of a bidirectional layer,
the two halves of a batch.

The forward and the reverse direction of a layer share nothing but their
input, and the rows of a batch are independent sequences: each row's
recurrence reads only its own state. So the compiled whole-sequence loops
(:mod:`rnnkit._fast.sequence`, which release the GIL and call BLAS from
compiled code) can run as two loops at the same time, one in the caller's
thread and one in a worker thread, each with one BLAS thread, instead of one
loop whose every small per-step product BLAS splits over the cores and
joins again (100,32,128,256, two bidirectional layers, forward and
backward: 314 ms instead of 577). The large products outside the loops keep
BLAS's threads.

OpenBLAS's thread count is the process's, not the calling thread's (its
``openblas_set_num_threads_local`` sets the process-wide count and returns
the old one), so a pair sets it once before both start and puts the old
count back once after both end; a BLAS call from another thread of the
program during that time runs single-threaded. One pair runs at a time: a
pair asked for while another runs (from inside it, or from another thread)
runs its two calls one after the other. Pairs only run when BLAS itself
would use two threads or more: a program that asked BLAS for one thread
(``OPENBLAS_NUM_THREADS=1``, or an MPI rank per core) gets one. The results
are those of the same calls made one after the other with one BLAS thread:
which thread count BLAS uses may change the last bit of a product, never the
outcome of a run from one execution to the next.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from rnnkit._fast import blas

MIN_ROWS = 4  # fewest batch rows per half worth a thread of their own
CORES = os.cpu_count() or 1  # asked once: each call reads a system file (6 µs, more on a busy machine)
_pool = {}
_running = threading.Lock()


def worth_it() -> bool:
    """Run pairs of compiled loops concurrently: there are cores for two, BLAS's thread count can be set,
    and BLAS is set to use more than one thread now."""
    get_threads = blas.get_threads()
    return CORES >= 2 and blas.set_threads() is not None and get_threads is not None and get_threads() >= 2


def run_pair(first, second):
    """(first(), second()): at the same time with one BLAS thread when :func:`worth_it` and no other pair
    runs, else one after the other."""
    return _concurrently(first, second) if _claim() else (first(), second())


def by_rows(run, rows: int) -> list:
    """The results of ``run(lo, hi)`` over the batch rows 0:rows: of its two halves at the same time (as
    :func:`run_pair`), or of the whole batch in one call when they cannot run concurrently or a half would
    have fewer than ``MIN_ROWS`` rows."""
    if rows < 2 * MIN_ROWS or not _claim():
        return [run(0, rows)]
    half = rows // 2
    return list(_concurrently(partial(run, 0, half), partial(run, half, rows)))


def _claim() -> bool:
    """Whether a pair may run now; if so, the caller holds the lock and :func:`_concurrently` releases it."""
    return worth_it() and _running.acquire(blocking=False)


def _concurrently(first, second):
    try:
        if _pool.get("pid") != os.getpid():  # none yet, or made before a fork: its thread is not in this process
            _pool.update(pool=ThreadPoolExecutor(max_workers=1, thread_name_prefix="rnnkit"), pid=os.getpid())
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
    finally:
        _running.release()
