"""The layer over time on the two halves of a batch at once, one core each.

Legend: T time steps, B batch, D input features, H hidden units; arrays are
time-major, (T, B, ·), as in :mod:`rnnkit.functional.recurrent`.

The rows of a batch are independent sequences: they share the weights and
nothing else. So the whole layer, its input product, its loop over time and,
in the backward, its weight-gradient products, splits into two layers over
the halves of the batch, rows [0, B/2) and [B/2, B), that run at the same
time (:func:`rnnkit._fast.parallel.run_pair`: BLAS at one thread, one half
in a worker thread), and only the weight gradients are added at the end:

    out = [out_a, out_b],  dW = dW_a + dW_b,  dx = [dx_a, dx_b]

On two cores this beats one layer whose every small per-step product BLAS
splits over both threads: an LSTM layer's training step, back to back, at
100,32,512,512 took 241 ms instead of 295 (one half alone on one core: 229),
at 100,32,64,128 16.1 instead of 29. Every product in the halves runs on one
thread, in tiles where BLAS has small-matrix kernels; a BLAS worker thread
left spinning after a product on two threads would share a core with them
(see :mod:`rnnkit._fast.parallel`, ``pairs_only``). The halves' results are
those of the whole batch up to float rounding of the gradient sums.
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from rnnkit._fast import loops_compiled
from rnnkit.functional.cell import Cell
from rnnkit.functional.recurrent import RecurrentCache, buffer, recurrent_backward, recurrent_forward

MIN_ROWS = 8  # rows per half: fewer, and the per-step products are too small to pay for a second thread


class HalvesCache(NamedTuple):
    first: RecurrentCache   # rows [0, split)
    second: RecurrentCache  # rows [split, B)
    split: int
    workspace: dict | None  # the layer's: the joined out and dx are kept there

    @property
    def cell(self) -> Cell:
        return self.first.cell


def halves_worth_it(cell: Cell, x: np.ndarray) -> bool:
    """Whether to run the layer over x (T, B, D) as two halves: a plain cell with compiled whole-sequence
    loops, at least 2·MIN_ROWS rows, and two cores with BLAS set to use them (``parallel.worth_it``)."""
    if cell.extra is not None or cell.sequence_forward is None or x.shape[1] < 2 * MIN_ROWS:
        return False
    if not loops_compiled(x):
        return False
    from rnnkit._fast import parallel  # ctypes and a thread pool: loaded by the first layer that may split
    return parallel.worth_it()


def halves_forward(cell: Cell, x, state0, w_ih, w_hh, b_ih, b_hh, lengths=None, reverse=False,
                   workspace: dict | None = None):
    """:func:`rnnkit.functional.recurrent.recurrent_forward` (same arguments and results) computed as two
    layers over the halves of the batch at the same time; the cache is a :class:`HalvesCache`."""
    from rnnkit._fast import parallel
    split = x.shape[1] // 2

    def half(rows: slice, key: str):
        spaces = None if workspace is None else workspace.setdefault(key, {})
        return partial(recurrent_forward, cell, x[:, rows], tuple(s[rows] for s in state0), w_ih, w_hh, b_ih,
                       b_hh, None if lengths is None else lengths[rows], reverse, spaces)
    (out_a, final_a, cache_a), (out_b, final_b, cache_b) = parallel.run_pair(
        half(slice(0, split), "first"), half(slice(split, None), "second"))
    final = tuple(np.concatenate(pair) for pair in zip(final_a, final_b))
    out = _joined(workspace, "out", out_a, out_b)
    out.flags.writeable = False  # as recurrent_forward's out: a view of a buffer the next call reuses
    return out, final, HalvesCache(cache_a, cache_b, split, workspace)


def halves_backward(dout, dstate, cache: HalvesCache):
    """:func:`rnnkit.functional.recurrent.recurrent_backward` for :func:`halves_forward`: the halves' BPTT
    at the same time; dx and the initial-state gradients joined, the weight gradients added."""
    from rnnkit._fast import parallel
    rows = (slice(0, cache.split), slice(cache.split, None))
    (dx_a, dstate_a, grads_a), (dx_b, dstate_b, grads_b) = parallel.run_pair(
        *(partial(recurrent_backward, dout[:, r], tuple(d[r] for d in dstate), c) for r, c in zip(rows, cache[:2])))
    dstate0 = tuple(np.concatenate(pair) for pair in zip(dstate_a, dstate_b))
    for name, g in grads_a.items():  # fresh arrays of the first half's backward: the sum goes there
        g += grads_b[name]
    return _joined(cache.workspace, "dx", dx_a, dx_b), dstate0, grads_a


def _joined(workspace: dict | None, key: str, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The halves (T, b, ·) and (T, B − b, ·) side by side, (T, B, ·), in the workspace's buffer ``key``
    (a fresh array of that size each call costs the OS mapping and zeroing its pages again)."""
    T, b, width = first.shape
    joined = buffer(workspace, key, (T, b + second.shape[1], width), first.dtype)
    np.concatenate((first, second), axis=1, out=joined)
    return joined.view()


def layer_backward(dout, dstate, cache: RecurrentCache | HalvesCache):
    """The backward of whichever of :func:`recurrent_forward` and :func:`halves_forward` made ``cache``."""
    return (halves_backward if isinstance(cache, HalvesCache) else recurrent_backward)(dout, dstate, cache)
