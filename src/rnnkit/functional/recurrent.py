"""The layer over time: one recurrent layer, one direction, a whole batch.

This is the one place that knows about time: it projects the inputs of all
steps at once, runs the cell's step function forward and backward through
time (BPTT), carries the initial and final states, handles right-padded
batches given per-sequence ``lengths`` and the reverse direction of a
bidirectional layer. Cells never see padding.

Legend: T time steps, B batch, D input features, H hidden units, G gates.
Arrays here are time-major, (T, B, ·).

    xw = X W_ihᵀ + b_ih                          one GEMM over all T·B rows (b_ih added
                                                 by the step where the cell allows, Cell.biases_add)
    state_t = cell(xw_t, state_{t−1})            for real steps (t < length)
    state_t = state_{t−1}, y_t = 0               for padded steps
    dW_ih = Σ_t dxw_tᵀ x_t, dX = dxw W_ih        one GEMM each
    dW_hh = Σ_t dhw_tᵀ h_{t−1}                   one GEMM (the cell's hh_grads)

Buffers: each sequence gets its arrays once, xw (T, B, G·H) (which the cell
overwrites with its activated gates), the states (T+1, B, H) with state_t
at [t+1] (so h_{t−1} of every step is one view, ready for dW_hh's single
GEMM), the cell's other cache fields, and dxw (T, B, G·H) in the backward
(written over the gates where the cell's compiled loop can).
Each step writes its results into slices of them (the cells' ``out=``), so
no per-step result is allocated, stacked or copied.

Reverse direction: each sequence is reversed within its own length, run
forward, and the outputs are put back in place, so it starts at the
sequence's last real step (as PyTorch's packed sequences do).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit._fast import loops_compiled, matmul
from rnnkit.functional.cell import Cell, step_of


class RecurrentCache(NamedTuple):
    cell: Cell
    x: np.ndarray             # (T, B, D) inputs in processing order
    w_ih: np.ndarray
    w_hh: np.ndarray
    steps: NamedTuple         # the cell's cache of the whole sequence, fields (T, B, ·)
    mask: np.ndarray | None   # (T, B, 1) True at real steps; None if nothing is padded
    order: np.ndarray | None  # (T, B) time index of the within-length reversal, or None
    workspace: dict | None    # where the buffers came from (the backward takes its own there too)
    extra: tuple = ()         # a variant cell's further parameters


def reversal_index(lengths: np.ndarray | None, T: int, B: int) -> np.ndarray:
    """(T, B) index that reverses each sequence within its length; padding stays put.

    It is its own inverse: applying it twice gives the identity.
    """
    t = np.arange(T)[:, None]
    if lengths is None:
        return np.broadcast_to(T - 1 - t, (T, B))
    return np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)


def buffer(workspace: dict | None, key: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array: workspace[key] when it has this shape and dtype, else a new one
    (kept there for next time). Reusing arrays saves the OS mapping and zeroing fresh pages
    for every training step, which costs as much as the arithmetic at small sizes."""
    if workspace is None:
        return np.empty(shape, dtype)
    a = workspace.get(key)
    if a is None or a.shape != shape or a.dtype != dtype:
        a = workspace[key] = np.empty(shape, dtype)
    a.flags.writeable = True  # a backward may have marked it spent (see _dxw_buffer)
    return a


def _copy(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    np.copyto(dst, src)
    return dst


def _transposed_copy(w: np.ndarray, wt: np.ndarray) -> np.ndarray:
    """w's values in column-major order: a (G·H, H) view whose ``.T``, the operand of every step's
    h_{t−1} W_hhᵀ, is C-contiguous. BLAS packs a row-major operand faster than a transposed one
    (measured: 15–30 % off the step's product); one copy per sequence pays for that. Not at batch 1:
    there each step is a matrix-vector product, as fast on W_hh itself, and the copy is not repaid."""
    np.copyto(wt, w.T)
    return wt.T


def _time_gather(a: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    """a[order[t, b], b] for a time-major array (the reversal), or a itself."""
    return a if order is None else a[order, np.arange(a.shape[1])]


def recurrent_forward(cell: Cell, x, state0, w_ih, w_hh, b_ih, b_hh, lengths=None, reverse=False,
                      workspace: dict | None = None, extra: tuple = ()):
    """Run one layer in one direction over a batch.

    Args:
        cell: the recurrent cell (RNN, LSTM or GRU).
        x: (T, B, D) inputs, time-major.
        state0: tuple of (B, H) initial states (h, or h and c; a projected LSTM's h is (B, P)).
        w_ih (G·H, D), w_hh (G·H, H) (or (G·H, P)), b_ih (G·H,), b_hh (G·H,): PyTorch's layout.
        lengths: (B,) int lengths of right-padded sequences, or None if none is padded.
        reverse: run from each sequence's last real step to its first.
        extra: a variant cell's further parameters, in the order of ``cell.extra``.
        workspace: a dict the caller keeps for this layer and direction, or
            None. Its arrays are reused as the buffers of the next call of
            the same shape (see :func:`buffer`), so the cache, out and the
            final states only stay valid until then.

    Returns:
        out (T, B, H) hidden states (zeros at padded steps), the final state
        tuple (taken at each sequence's last real step) and the cache. out
        and the final states are read-only: they may be views of the cache.
    """
    T, B, D = x.shape
    H, dtype = w_hh.shape[0] // cell.gates, np.result_type(x, w_ih)
    order = reversal_index(lengths, T, B) if reverse else None
    x = _time_gather(x, order)
    if not (x.flags.c_contiguous and x.dtype == dtype):  # time-major and contiguous, for the GEMMs
        x = _copy(x, buffer(workspace, "x", (T, B, D), dtype))
    xw = buffer(workspace, "xw", (T, B, w_ih.shape[0]), dtype)
    matmul(x.reshape(T * B, D), w_ih.T, out=xw.reshape(T * B, -1))
    if cell.biases_add:
        b_hh = b_ih + b_hh                      # each step adds both (Cell.biases_add): no pass over xw for b_ih
    else:
        xw += b_ih
    mask = None if lengths is None else (np.arange(T)[:, None] < lengths[None, :])[:, :, None]
    first_padded = T if lengths is None else int(lengths.min())
    states = tuple(buffer(workspace, f"state{k}", (T + 1, B, s0.shape[-1]), dtype) for k, s0 in enumerate(state0))
    for s, s0 in zip(states, state0):
        s[0] = s0                               # state_t goes to [t + 1]
    if cell.extra is None:
        steps = cell.sequence_cache(xw, states, buffer(workspace, "scratch", (T, B, H), dtype))
        w_step = w_hh if B == 1 else _transposed_copy(w_hh, buffer(workspace, "w_hh_t", w_hh.shape[::-1], dtype))
    else:
        steps, w_step = [None] * T, w_hh        # a variant cell's steps allocate their caches
    whole = cell.sequence_forward is not None and cell.sequence_forward(xw, states, steps, w_step.T, b_hh, mask,
                                                                         first_padded)
    for t in range(0 if whole else T):
        new = tuple(s[t + 1] for s in states)
        if cell.extra is None:
            cell.step_forward(xw[t], tuple(s[t] for s in states), w_step, b_hh, out=(new, step_of(steps, t)))
        else:
            computed, steps[t] = cell.step_forward(xw[t], tuple(s[t] for s in states), w_hh, b_hh, *extra, t=t)
            for n, c in zip(new, computed):
                np.copyto(n, c)
        if t >= first_padded:  # some sequences have ended: they keep their state
            for n, s in zip(new, states):
                np.copyto(n, s[t], where=~mask[t])
    out = states[0][1:] if mask is None else np.where(mask, states[0][1:], 0)
    final = tuple(s[T] for s in states)
    for a in (out, *final):  # views of the buffers the cache holds: guard them from in-place edits
        a.flags.writeable = False
    cache = RecurrentCache(cell, x, w_ih, w_hh, steps, mask, order, workspace, tuple(extra))
    return _time_gather(out, order), final, cache


def recurrent_backward(dout, dstate, cache: RecurrentCache):
    """Backpropagation through time for :func:`recurrent_forward`.

    Args:
        dout: (T, B, H) gradient of the outputs.
        dstate: tuple of (B, H) gradients of the final states.
        cache: from the forward pass.

    Returns:
        dx (T, B, D), the tuple of initial-state gradients, and
        ``{"w_ih", "w_hh", "b_ih", "b_hh"}`` gradients. With a workspace,
        dx is one of its buffers (valid until the next backward).
    """
    cell, x, w_ih, w_hh, steps, mask, order, workspace, extra = cache
    T, B, D = x.shape
    dout = _time_gather(dout, order)
    dxw = _dxw_buffer(cell, steps, workspace, (T, B, w_hh.shape[0]), x.dtype)
    # dh_next (and dc_next): what flows back from step t+1, and the arrays step t writes its own into
    dnext = tuple(np.array(d, dtype=x.dtype) for d in dstate)
    first_padded = T if mask is None else int(mask.all(axis=(1, 2)).sum())  # masks are t < length
    whole = None if cell.sequence_backward is None else cell.sequence_backward(dout, dnext, steps, w_hh, dxw, mask,
                                                                               first_padded)
    dnext = dnext if whole is None else whole
    dprev = tuple(np.empty_like(d) for d in dnext)
    sums = None if cell.extra is None else _zero_grads(cell, w_hh, extra)
    for t in reversed(range(T) if whole is None else ()):
        if mask is not None and not mask[t].all():
            m = mask[t]                                            # only real steps computed a state
            dnew = tuple(np.where(m, d, 0) for d in (dnext[0] + dout[t],) + dnext[1:])
            _step_backward(cell, dnew, steps, t, w_hh, extra, sums, (dxw[t], dprev))
            for p, d in zip(dprev, dnext):                         # padded: state passed through
                np.copyto(p, d, where=~m)
        else:
            np.add(dnext[0], dout[t], out=dnext[0])
            _step_backward(cell, dnext, steps, t, w_hh, extra, sums, (dxw[t], dprev))
        dnext, dprev = dprev, dnext
    dxw_flat = dxw.reshape(T * B, -1)
    grads = {"w_ih": matmul(dxw_flat.T, x.reshape(T * B, D)), "b_ih": dxw_flat.sum(axis=0)}
    if sums is None:
        grads["w_hh"], grads["b_hh"] = cell.hh_grads(dxw, steps, grads["b_ih"])
    else:
        grads.update(sums)
    dx = buffer(workspace, "dx", (T, B, D), x.dtype)
    matmul(dxw_flat, w_ih, out=dx.reshape(T * B, D))
    if dxw is getattr(steps, "gates", None):
        dxw.flags.writeable = False  # spent: the gates are gone (see _dxw_buffer)
    return _time_gather(dx, order), dnext, grads


def _dxw_buffer(cell: Cell, steps, workspace: dict | None, shape: tuple, dtype) -> np.ndarray:
    """Where the backward writes dxw: over the cached gates when the cell's compiled loop runs and
    can (``Cell.dxw_over_gates``), else the workspace's "dxw" buffer. Gates written over are marked
    read-only after the backward, so a second backward of the same forward is refused, not wrong."""
    if not (cell.dxw_over_gates and loops_compiled(steps.gates)):
        return buffer(workspace, "dxw", shape, dtype)
    if not steps.gates.flags.writeable:
        raise RuntimeError("backward: this forward pass was differentiated already (the LSTM's backward writes "
                           "its gradients over the cached gates); run forward again before another backward")
    return steps.gates


def _zero_grads(cell: Cell, w_hh, extra: tuple) -> dict:
    """Zeroed sums for a variant cell's steps to add their gradients into."""
    sums = {"w_hh": np.zeros_like(w_hh), "b_hh": np.zeros(w_hh.shape[0], w_hh.dtype)}
    sums.update((name, np.zeros_like(e)) for name, e in zip(cell.extra, extra))
    return sums


def _step_backward(cell: Cell, dstate, steps, t: int, w_hh, extra: tuple, sums: dict | None, out) -> None:
    """Step t's backward into ``out`` = (dxw_t, dstate_prev): a plain cell writes there itself, a variant
    cell's results are copied there (and its parameter gradients added into ``sums``)."""
    if sums is None:
        cell.step_backward(dstate, step_of(steps, t), w_hh, out=out)
        return
    dxw, dprev = cell.step_backward(dstate, steps[t], w_hh, *extra, grads=sums, t=t)
    np.copyto(out[0], dxw)
    for o, d in zip(out[1], dprev):
        np.copyto(o, d)
