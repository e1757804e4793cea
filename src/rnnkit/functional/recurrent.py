"""The layer over time: one recurrent layer, one direction, a whole batch.

This is the one place that knows about time: it projects the inputs of all
steps at once, runs the cell's step function forward and backward through
time (BPTT), carries the initial and final states, handles right-padded
batches given per-sequence ``lengths`` and the reverse direction of a
bidirectional layer. Cells never see padding.

Legend: T time steps, B batch, D input features, H hidden units, G gates.
Arrays here are time-major, (T, B, ·).

    xw = X W_ihᵀ + b_ih                          one GEMM over all T·B rows
    state_t = cell(xw_t, state_{t−1})            for real steps (t < length)
    state_t = state_{t−1}, y_t = 0               for padded steps
    dW_ih = Σ_t dxw_tᵀ x_t, dX = dxw W_ih        one GEMM each
    dW_hh = Σ_t dhw_tᵀ h_{t−1}                   one GEMM (the cell's hh_weight_grad)

Reverse direction: each sequence is reversed within its own length, run
forward, and the outputs are put back in place, so it starts at the
sequence's last real step (as PyTorch's packed sequences do).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.functional.cell import Cell


class RecurrentCache(NamedTuple):
    cell: Cell
    x: np.ndarray             # (T, B, D) inputs in processing order
    w_ih: np.ndarray
    w_hh: np.ndarray
    steps: list               # T cell caches
    mask: np.ndarray | None   # (T, B, 1) True at real steps; None if nothing is padded
    order: np.ndarray | None  # (T, B) time index of the within-length reversal, or None


def reversal_index(lengths: np.ndarray | None, T: int, B: int) -> np.ndarray:
    """(T, B) index that reverses each sequence within its length; padding stays put.

    It is its own inverse: applying it twice gives the identity.
    """
    t = np.arange(T)[:, None]
    if lengths is None:
        return np.broadcast_to(T - 1 - t, (T, B))
    return np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)


def _time_gather(a: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    """a[order[t, b], b] for a time-major array (the reversal), or a itself."""
    return a if order is None else a[order, np.arange(a.shape[1])]


def recurrent_forward(cell: Cell, x, state0, w_ih, w_hh, b_ih, b_hh, lengths=None, reverse=False):
    """Run one layer in one direction over a batch.

    Args:
        cell: the recurrent cell (RNN, LSTM or GRU).
        x: (T, B, D) inputs, time-major.
        state0: tuple of (B, H) initial states (h, or h and c).
        w_ih (G·H, D), w_hh (G·H, H), b_ih (G·H,), b_hh (G·H,): PyTorch's layout.
        lengths: (B,) int lengths of right-padded sequences, or None if none is padded.
        reverse: run from each sequence's last real step to its first.

    Returns:
        out (T, B, H) hidden states (zeros at padded steps), the final state
        tuple (taken at each sequence's last real step) and the cache.
    """
    T, B, D = x.shape
    order = reversal_index(lengths, T, B) if reverse else None
    x = _time_gather(x, order)
    xw = (x.reshape(T * B, D) @ w_ih.T + b_ih).reshape(T, B, -1)
    mask = None if lengths is None else (np.arange(T)[:, None] < lengths[None, :])[:, :, None]
    first_padded = T if lengths is None else int(lengths.min())
    out = np.empty((T, B, w_hh.shape[1]), dtype=xw.dtype)
    steps, state = [], tuple(state0)
    for t in range(T):
        new, cache = cell.step_forward(xw[t], state, w_hh, b_hh)
        if t >= first_padded:  # some sequences have ended: they keep their state
            new = tuple(np.where(mask[t], n, s) for n, s in zip(new, state))
            out[t] = np.where(mask[t], new[0], 0)
        else:
            out[t] = new[0]
        steps.append(cache)
        state = new
    return _time_gather(out, order), state, RecurrentCache(cell, x, w_ih, w_hh, steps, mask, order)


def recurrent_backward(dout, dstate, cache: RecurrentCache):
    """Backpropagation through time for :func:`recurrent_forward`.

    Args:
        dout: (T, B, H) gradient of the outputs.
        dstate: tuple of (B, H) gradients of the final states.
        cache: from the forward pass.

    Returns:
        dx (T, B, D), the tuple of initial-state gradients, and
        ``{"w_ih", "w_hh", "b_ih", "b_hh"}`` gradients.
    """
    cell, x, w_ih, w_hh, steps, mask, order = cache
    T, B, D = x.shape
    dout = _time_gather(dout, order)
    GH = w_hh.shape[0]
    dxw = np.empty((T, B, GH), dtype=x.dtype)
    dhw = np.empty_like(dxw)
    dnext = tuple(dstate)  # dh_next (and dc_next): what flows back from step t+1
    for t in reversed(range(T)):
        dnew = (dout[t] + dnext[0],) + dnext[1:]
        if mask is not None and not mask[t].all():
            m = mask[t]
            dnew = tuple(np.where(m, d, 0) for d in dnew)        # only real steps computed a state
            dxw[t], dhw[t], dprev = cell.step_backward(dnew, steps[t], w_hh)
            dnext = tuple(p + np.where(m, 0, d) for p, d in zip(dprev, dnext))  # padded: state passed through
        else:
            dxw[t], dhw[t], dnext = cell.step_backward(dnew, steps[t], w_hh)
    dxw_flat = dxw.reshape(T * B, GH)
    grads = {
        "w_ih": dxw_flat.T @ x.reshape(T * B, D),
        "w_hh": cell.hh_weight_grad(dhw, steps),
        "b_ih": dxw_flat.sum(axis=0),
        "b_hh": dhw.reshape(T * B, GH).sum(axis=0),
    }
    dx = (dxw_flat @ w_ih).reshape(T, B, D)
    return _time_gather(dx, order), dnext, grads
