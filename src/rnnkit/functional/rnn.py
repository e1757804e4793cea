"""Vanilla (Elman) RNN cell.

Legend: B batch, D input features, H hidden units.

Forward (notes: a^<t> = g(W_aa a^<t−1> + W_ax x^<t> + b_a), s_t = f(Uᵀx_t + Wᵀs_{t−1})):

    h_t = f(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh),   f ∈ {tanh, relu}

Backward: da = dh ⊙ f'(a) (from h_t), dh_{t−1} = da W_hh.

The element-wise part of a float32 step has a compiled twin in
:mod:`rnnkit._fast`.

PyTorch: ``torch.nn.RNN(nonlinearity=...)``; W_ih (H, D), W_hh (H, H).
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from rnnkit._fast import kernel, sequence_kernel
from rnnkit.functional.activations import relu, relu_grad, tanh_grad
from rnnkit.functional.cell import Cell, loop_mask

NONLINEARITIES = {"tanh": (np.tanh, tanh_grad), "relu": (relu, relu_grad)}


class RNNCache(NamedTuple):
    """One step's arrays (or a whole sequence's, with a leading T axis)."""

    h_prev: np.ndarray  # (B, H)
    h: np.ndarray       # (B, H) = f(a_t)


def rnn_step_forward(xw, state, w_hh, b_hh, out=None, nonlinearity="tanh"):
    """One step. xw (B, H) = x_t W_ihᵀ + b_ih; state = (h_{t−1},) -> ((h_t,), cache).

    ``out``: optional ((h,), RNNCache(h_prev, h)) arrays to write into.
    """
    (h_prev,) = state
    h = np.empty_like(h_prev) if out is None else out[0][0]
    np.matmul(h_prev, w_hh.T, out=h)
    fused = kernel("rnn_forward", h)
    if fused is not None:
        fused(h, xw, b_hh, nonlinearity == "relu")
    else:
        h += xw
        h += b_hh
        NONLINEARITIES[nonlinearity][0](h, out=h)
    return (h,), RNNCache(h_prev, h)


def rnn_step_backward(dstate, cache, w_hh, out=None, nonlinearity="tanh"):
    """Backward of one step: (dh_t,) -> (dxw, (dh_{t−1},)); ``out``: optional (dxw, (dh_prev,))."""
    (dh,) = dstate
    da, (dh_prev,) = out if out is not None else (np.empty_like(dh), (np.empty_like(dh),))
    fused = kernel("rnn_backward", da)
    if fused is not None:
        fused(dh, cache.h, da, nonlinearity == "relu")
    else:
        NONLINEARITIES[nonlinearity][1](cache.h, out=da)
        da *= dh                             # backprop through f
    np.matmul(da, w_hh, out=dh_prev)
    return da, (dh_prev,)


def rnn_sequence_cache(xw: np.ndarray, states: tuple, scratch: np.ndarray) -> RNNCache:
    """The whole-sequence cache: h_prev and h are the two overlapping views of the (T+1, B, H)
    states (xw and scratch are not needed)."""
    (h,) = states
    return RNNCache(h[:-1], h[1:])


def rnn_sequence_forward(xw, states, cache: RNNCache, w_hh_t, b_hh, mask, first_padded, nonlinearity="tanh"):
    """The whole forward loop in one compiled call (:mod:`rnnkit._fast.sequence`) when there is one for
    these arrays; False: the layer runs :func:`rnn_step_forward` step by step."""
    run = sequence_kernel("rnn_sequence_forward", xw)
    if run is None:
        return False
    run(xw, states[0], w_hh_t, b_hh, nonlinearity == "relu", *loop_mask(mask, first_padded))
    return True


def rnn_sequence_backward(dout, dstate, cache: RNNCache, w_hh, dxw, mask, first_padded, nonlinearity="tanh"):
    """The whole backward loop in one compiled call, or None (the step loop runs)."""
    run = sequence_kernel("rnn_sequence_backward", dxw)
    if run is None:
        return None
    return (run(dout, dstate[0], cache.h, np.ascontiguousarray(w_hh), nonlinearity == "relu", dxw,
                *loop_mask(mask, first_padded)),)


def rnn_cell(nonlinearity: str = "tanh") -> Cell:
    """The RNN cell with ``nonlinearity`` "tanh" or "relu"."""
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity: expected 'tanh' or 'relu', given {nonlinearity!r}")
    return Cell(f"rnn_{nonlinearity}", 1, 1,
                partial(rnn_step_forward, nonlinearity=nonlinearity),
                partial(rnn_step_backward, nonlinearity=nonlinearity),
                rnn_sequence_cache,
                sequence_forward=partial(rnn_sequence_forward, nonlinearity=nonlinearity),
                sequence_backward=partial(rnn_sequence_backward, nonlinearity=nonlinearity), biases_add=True)
