"""Independent pieces of work on the cores of a machine, one each: the directions of a bidirectional
layer, or the parts of a unidirectional layer's batch (:mod:`rnnkit.functional.batch_parts`).

The forward and the reverse direction of a layer share nothing but their
input, and the rows of a batch are independent sequences, so either can run
at the same time. When they run the compiled whole-sequence loops
(:mod:`rnnkit._fast.sequence`, which release the GIL and call BLAS from
compiled code), :func:`run_all` runs every piece but the first in a worker
thread while the first runs in the caller's, with BLAS set to one thread
while they run, instead of one after the other with BLAS splitting every
small per-step product over the cores (100,32,128,256, two bidirectional
layers, forward and backward: 314 ms instead of 577).

How many pieces run at once is :func:`width`: the number of threads BLAS
was given (``OPENBLAS_NUM_THREADS``, or by default one per core), at most
the cores this process may use (its affinity mask: a container's or
``taskset``'s share). A program that asked BLAS for one thread
(``OPENBLAS_NUM_THREADS=1``, or an MPI rank per core) gets one: no piece
runs beside another.

OpenBLAS's thread count is the process's, not the calling thread's (its
``openblas_set_num_threads_local`` sets the process-wide count and returns
the old one), so a group sets it once before its pieces start and puts the
old count back once after all end; a BLAS call from another thread of the
program during that time runs single-threaded. One group runs at a time: a
group asked for while another runs (from inside it, or from another thread)
runs its pieces one after the other. The results are those of the same
calls made one after the other with one BLAS thread: which thread count BLAS
uses may change the last bit of a product, never the outcome of a run from
one execution to the next.

A BLAS call on several threads leaves OpenBLAS's worker threads spinning for
about 0.1 s after it (``OPENBLAS_THREAD_TIMEOUT``), and a group started in
that time shares a core with them: a split loop alone took 44 ms, right after
a large product on two BLAS threads 80; a charlm training step whose output
layer's products ran on two BLAS threads, 363 ms instead of 253. Inside
:func:`pairs_only` BLAS stays at one thread throughout, and the large
products of the rest of the step are split over the cores here
(:func:`matmul`), so no BLAS worker runs beside a group.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from functools import partial

import numpy as np

from rnnkit._fast import PAIRS, blas, pairs_only_now

SPLIT_PRODUCT = 2 ** 21  # M·N·K from which :func:`matmul` splits a product (a row half ≥ 1 ms of work)
_pool = {}
_running = threading.Lock()


def _usable_cores() -> int:
    """The cores this process may run on: its affinity mask where the system has one, else all."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity mask to ask
        return os.cpu_count() or 1


CORES = _usable_cores()  # asked once, on import


def width() -> int:
    """How many pieces of work run at once now: BLAS's thread count (inside :func:`pairs_only`, the count
    it had on entering), at most CORES; 1 with one core or where BLAS's thread count cannot be set."""
    get_threads = blas.get_threads()
    if CORES < 2 or blas.set_threads() is None or get_threads is None:
        return 1
    return min(CORES, PAIRS["threads"] if pairs_only_now() else get_threads())


def worth_it() -> bool:
    """Run pieces of compiled loops concurrently: BLAS was given two cores or more (:func:`width`)."""
    return width() >= 2


def split_points(n: int, parts: int) -> list[int]:
    """The edges b_0 = 0 < … < b_parts = n of ``parts`` consecutive blocks of n rows, as even as can be."""
    return [n * j // parts for j in range(parts + 1)]


@contextmanager
def pairs_only():
    """While inside, when :func:`worth_it`: BLAS runs one thread, groups of pieces still run (as many at once
    as BLAS had threads on entering), and :func:`matmul` splits large products over the cores; a training
    loop of layers that split (:mod:`rnnkit.functional.batch_parts`) runs in it. Re-entrant; the BLAS
    thread count is put back on leaving the outermost."""
    if PAIRS["depth"] == 0 and not worth_it():
        yield
        return
    if PAIRS["depth"] == 0:
        PAIRS["threads"] = width()
        previous = blas.set_threads()(1)
    else:
        previous = None
    PAIRS["depth"] += 1
    try:
        yield
    finally:
        PAIRS["depth"] -= 1
        if previous is not None:
            blas.set_threads()(previous)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (M, K) @ b (K, N): inside :func:`pairs_only` and at M·N·K ≥ SPLIT_PRODUCT, blocks of a's rows at
    the same time (:func:`width` of them, one BLAS thread each); else ``np.matmul``. The same result to
    float rounding."""
    M, N = a.shape[0], b.shape[1]
    parts = min(width(), M) if pairs_only_now() and M * N * a.shape[1] >= SPLIT_PRODUCT else 1
    if parts < 2:
        return a @ b
    out, edges = np.empty((M, N), np.result_type(a, b)), split_points(M, parts)
    run_all(*(partial(np.matmul, a[i:j], b, out=out[i:j]) for i, j in zip(edges, edges[1:])))
    return out


def run_all(*calls) -> list:
    """[call() for call in calls]: at the same time with one BLAS thread each when :func:`worth_it` and no
    other group runs (the first in the caller's thread, the others in worker threads), else one after the
    other. Give it at most :func:`width` calls: more than the cores would share them."""
    return _concurrently(calls) if len(calls) > 1 and _claim() else [call() for call in calls]


def _claim() -> bool:
    """Whether a group may run now; if so, the caller holds the lock and :func:`_concurrently` releases it."""
    return worth_it() and _running.acquire(blocking=False)


def _concurrently(calls) -> list:
    try:
        if _pool.get("pid") != os.getpid():  # none yet, or made before a fork: its threads are not in this process
            _pool.update(pool=ThreadPoolExecutor(max_workers=max(1, CORES - 1), thread_name_prefix="rnnkit"),
                         pid=os.getpid())
        set_threads = blas.set_threads()
        previous = set_threads(1)
        try:
            later = [_pool["pool"].submit(call) for call in calls[1:]]
            try:
                first = calls[0]()
            finally:
                wait(later)  # even when the first failed: the others use the same buffers' owner
        finally:
            set_threads(previous)
        return [first] + [done.result() for done in later]
    finally:
        _running.release()
