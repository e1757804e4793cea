"""The layer over time on parts of a batch at once, one core each.

Legend: T time steps, B batch, D input features, H hidden units, k parts; arrays
are time-major, (T, B, ·), as in :mod:`rnnkit.functional.recurrent`.

The rows of a batch are independent sequences: they share the weights and
nothing else. So the whole layer, its input product, its loop over time and,
in the backward, its weight-gradient products, splits into k layers over
consecutive blocks of rows, [b_0, b_1), …, [b_{k−1}, B) with b_j = ⌊jB/k⌋,
that run at the same time (:func:`rnnkit._fast.parallel.run_all`: BLAS at
one thread, every part but the first in a worker thread), and only the
weight gradients are added at the end:

    out = [out_1, …, out_k],  dW = dW_1 + … + dW_k,  dx = [dx_1, …, dx_k]

k is the number of cores BLAS was given (:func:`rnnkit._fast.parallel.width`:
its thread count, at most the cores the process may use), and at most
B / MIN_ROWS. On two cores this beats one layer whose every small per-step
product BLAS splits over both threads: an LSTM layer's training step, back to
back, at 100,32,512,512 took 241 ms instead of 295 (one half alone on one
core: 229), at 100,32,64,128 16.1 instead of 29. Every product in the parts
runs on one thread, in tiles where BLAS has small-matrix kernels; a BLAS
worker thread left spinning after a product on several threads would share a
core with them (see :mod:`rnnkit._fast.parallel`, ``pairs_only``). The
parts' results are those of the whole batch up to float rounding of the
gradient sums.
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from rnnkit._fast import loops_compiled
from rnnkit.functional.cell import Cell
from rnnkit.functional.recurrent import RecurrentCache, buffer, recurrent_backward, recurrent_forward

MIN_ROWS = 8  # rows per part: fewer, and the per-step products are too small to pay for another thread


class PartsCache(NamedTuple):
    parts: tuple        # a RecurrentCache per part, in row order
    edges: tuple        # (b_0 = 0, b_1, …, b_k = B): part j holds rows [b_j, b_{j+1})
    workspace: dict | None  # the layer's: the joined out and dx are kept there

    @property
    def cell(self) -> Cell:
        return self.parts[0].cell


def parts_for(cell: Cell, x: np.ndarray, directions: int = 1) -> int:
    """How many parts to run the layer over x (T, B, D) in: k ≥ 2 for a plain cell with compiled
    whole-sequence loops and at least 2·MIN_ROWS rows when BLAS was given k ≥ 2 cores
    (``parallel.width``), at most B // MIN_ROWS; else 1 (the layer as it is). A bidirectional layer's
    directions split only from 4 cores on (they then run one after the other, each on every core); on
    fewer they run side by side instead, one core each."""
    if cell.extra is not None or cell.sequence_forward is None or x.shape[1] < 2 * MIN_ROWS:
        return 1
    if not loops_compiled(x):
        return 1
    from rnnkit._fast import parallel  # ctypes and a thread pool: loaded by the first layer that may split
    width = parallel.width()
    return 1 if directions == 2 and width < 4 else min(width, x.shape[1] // MIN_ROWS)


def parts_forward(cell: Cell, x, state0, w_ih, w_hh, b_ih, b_hh, lengths=None, reverse=False,
                  workspace: dict | None = None, parts: int = 2):
    """:func:`rnnkit.functional.recurrent.recurrent_forward` (same arguments and results) computed as
    ``parts`` layers over blocks of the batch's rows at the same time; the cache is a :class:`PartsCache`."""
    from rnnkit._fast import parallel
    edges = parallel.split_points(x.shape[1], parts)

    def part(j: int):
        rows = slice(edges[j], edges[j + 1])
        spaces = None if workspace is None else workspace.setdefault(f"part{j}", {})
        return partial(recurrent_forward, cell, x[:, rows], tuple(s[rows] for s in state0), w_ih, w_hh, b_ih,
                       b_hh, None if lengths is None else lengths[rows], reverse, spaces)
    outs, finals, caches = zip(*parallel.run_all(*(part(j) for j in range(parts))))
    final = tuple(np.concatenate(pieces) for pieces in zip(*finals))
    out = _joined(workspace, "out", outs)
    out.flags.writeable = False  # as recurrent_forward's out: a view of a buffer the next call reuses
    return out, final, PartsCache(caches, tuple(edges), workspace)


def parts_backward(dout, dstate, cache: PartsCache):
    """:func:`rnnkit.functional.recurrent.recurrent_backward` for :func:`parts_forward`: the parts' BPTT
    at the same time; dx and the initial-state gradients joined, the weight gradients added."""
    from rnnkit._fast import parallel
    rows = [slice(a, b) for a, b in zip(cache.edges, cache.edges[1:])]
    dxs, dstates, grads = zip(*parallel.run_all(
        *(partial(recurrent_backward, dout[:, r], tuple(d[r] for d in dstate), c) for r, c in zip(rows, cache.parts))))
    dstate0 = tuple(np.concatenate(pieces) for pieces in zip(*dstates))
    total = grads[0]  # fresh arrays of the first part's backward: the sum goes there
    for more in grads[1:]:
        for name, g in total.items():
            g += more[name]
    return _joined(cache.workspace, "dx", dxs), dstate0, total


def _joined(workspace: dict | None, key: str, pieces) -> np.ndarray:
    """The parts (T, b_j, ·) side by side, (T, B, ·), in the workspace's buffer ``key`` (a fresh array of
    that size each call costs the OS mapping and zeroing its pages again)."""
    T, _, width = pieces[0].shape
    joined = buffer(workspace, key, (T, sum(p.shape[1] for p in pieces), width), pieces[0].dtype)
    np.concatenate(pieces, axis=1, out=joined)
    return joined.view()


def layer_backward(dout, dstate, cache: RecurrentCache | PartsCache):
    """The backward of whichever of :func:`recurrent_forward` and :func:`parts_forward` made ``cache``."""
    return (parts_backward if isinstance(cache, PartsCache) else recurrent_backward)(dout, dstate, cache)
