"""Vanilla (Elman) RNN cell.

Legend: B batch, D input features, H hidden units.

Forward (notes: a^<t> = g(W_aa a^<t−1> + W_ax x^<t> + b_a), s_t = f(Uᵀx_t + Wᵀs_{t−1})):

    h_t = f(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh),   f ∈ {tanh, relu}

PyTorch: ``torch.nn.RNN(nonlinearity=...)``; W_ih (H, D), W_hh (H, H).
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from rnnkit.functional.activations import relu, relu_grad, tanh_grad
from rnnkit.functional.cell import Cell

NONLINEARITIES = {"tanh": (np.tanh, tanh_grad), "relu": (relu, relu_grad)}


class RNNCache(NamedTuple):
    h_prev: np.ndarray  # (B, H)
    h: np.ndarray       # (B, H) = f(a_t)


def rnn_step_forward(xw, state, w_hh, b_hh, nonlinearity="tanh"):
    """One step. xw (B, H) = x_t W_ihᵀ + b_ih; state = (h_{t−1},) -> ((h_t,), cache)."""
    (h_prev,) = state
    f, _ = NONLINEARITIES[nonlinearity]
    h = f(xw + h_prev @ w_hh.T + b_hh)
    return (h,), RNNCache(h_prev, h)


def rnn_step_backward(dstate, cache, w_hh, nonlinearity="tanh"):
    """Backward of one step: (dh_t,) -> (dxw, dhw, (dh_{t−1},))."""
    (dh,) = dstate
    _, f_grad = NONLINEARITIES[nonlinearity]
    da = dh * f_grad(cache.h)  # backprop through f; da is also ∂L/∂xw and ∂L/∂hw
    return da, da, (da @ w_hh,)


def rnn_cell(nonlinearity: str = "tanh") -> Cell:
    """The RNN cell with ``nonlinearity`` "tanh" or "relu"."""
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity: expected 'tanh' or 'relu', given {nonlinearity!r}")
    return Cell(f"rnn_{nonlinearity}", 1, 1,
                partial(rnn_step_forward, nonlinearity=nonlinearity),
                partial(rnn_step_backward, nonlinearity=nonlinearity))
