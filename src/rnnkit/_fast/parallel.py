"""Two independent pieces of work on the two halves of a machine: the directions of a bidirectional
layer, or the two halves of a unidirectional layer's batch (:mod:`rnnkit.functional.halves`).

The forward and the reverse direction of a layer share nothing but their
input, and the rows of a batch are independent sequences, so either can run
at the same time. When both run the compiled whole-sequence loops
(:mod:`rnnkit._fast.sequence`, which release the GIL and call BLAS from
compiled code), :func:`run_pair` runs the second in a worker thread while
the first runs in the caller's, with BLAS set to one thread while the pair
runs, instead of one after the other with BLAS splitting every small
per-step product over the cores (100,32,128,256, two bidirectional layers,
forward and backward: 314 ms instead of 577).

OpenBLAS's thread count is the process's, not the calling thread's (its
``openblas_set_num_threads_local`` sets the process-wide count and returns
the old one), so a pair sets it once before both start and puts the old
count back once after both end; a BLAS call from another thread of the
program during that time runs single-threaded. One pair runs at a time: a
pair asked for while another runs (from inside it, or from another thread)
runs its two calls one after the other. Pairs only run when BLAS itself
would use two threads or more (or inside :func:`pairs_only`, entered when it
would): a program that asked BLAS for one thread (``OPENBLAS_NUM_THREADS=1``,
or an MPI rank per core) gets one. The results
are those of the same calls made one after the other with one BLAS thread:
which thread count BLAS uses may change the last bit of a product, never the
outcome of a run from one execution to the next.

A BLAS call on two threads leaves OpenBLAS's worker thread spinning for
about 0.1 s after it (``OPENBLAS_THREAD_TIMEOUT``), and a pair started in
that time shares a core with it: a split loop alone took 44 ms, right after
a large product on two BLAS threads 80; a charlm training step whose output
layer's products ran on two BLAS threads, 363 ms instead of 253. Inside
:func:`pairs_only` BLAS stays at one thread throughout, and the large
products of the rest of the step are split in two here (:func:`matmul`), so
no BLAS worker runs beside a pair.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

from rnnkit._fast import PAIRS, blas, pairs_only_now

CORES = os.cpu_count() or 1  # asked once: each call reads a system file (6 µs, more on a busy machine)
SPLIT_PRODUCT = 2 ** 21  # M·N·K from which :func:`matmul` splits a product in two (a row half ≥ 1 ms of work)
_pool = {}
_running = threading.Lock()


def worth_it() -> bool:
    """Run pairs of compiled loops concurrently: there are cores for two, BLAS's thread count can be set,
    and BLAS is set to use more than one thread now."""
    get_threads = blas.get_threads()
    return CORES >= 2 and blas.set_threads() is not None and get_threads is not None and (
        pairs_only_now() or get_threads() >= 2)


@contextmanager
def pairs_only():
    """While inside, when :func:`worth_it`: BLAS runs one thread, pairs still run, and :func:`matmul` splits
    large products over the two cores; a training loop of layers that split (:mod:`rnnkit.functional.halves`)
    runs in it. Re-entrant; the BLAS thread count is put back on leaving the outermost."""
    if PAIRS["depth"] == 0 and not worth_it():
        yield
        return
    previous = blas.set_threads()(1) if PAIRS["depth"] == 0 else None
    PAIRS["depth"] += 1
    try:
        yield
    finally:
        PAIRS["depth"] -= 1
        if previous is not None:
            blas.set_threads()(previous)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (M, K) @ b (K, N): inside :func:`pairs_only` and at M·N·K ≥ SPLIT_PRODUCT, the two halves of a's
    rows at the same time (one BLAS thread each); else ``np.matmul``. The same result to float rounding."""
    M, N = a.shape[0], b.shape[1]
    if not pairs_only_now() or M < 2 or M * N * a.shape[1] < SPLIT_PRODUCT:
        return a @ b
    out, half = np.empty((M, N), np.result_type(a, b)), M // 2
    run_pair(lambda: np.matmul(a[:half], b, out=out[:half]), lambda: np.matmul(a[half:], b, out=out[half:]))
    return out


def run_pair(first, second):
    """(first(), second()): at the same time with one BLAS thread when :func:`worth_it` and no other pair
    runs, else one after the other."""
    return _concurrently(first, second) if _claim() else (first(), second())


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
