"""Long short-term memory cell (Hochreiter & Schmidhuber, 1997).

Legend: B batch, D input features, H hidden units; gates are stacked in
PyTorch's order **i, f, g, o** along the 4H axis of W_ih (4H, D),
W_hh (4H, H), b_ih, b_hh (4H,).

Forward (notes: f_t = σ(W_f[h_{t−1}, x_t] + b_f), c̃_t = tanh(W_C[...]), ...):

    [a_i, a_f, a_g, a_o] = x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh
    i_t = σ(a_i)   f_t = σ(a_f)   g_t = c̃_t = tanh(a_g)   o_t = σ(a_o)
    c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t
    h_t = o_t ⊙ tanh(c_t)

(Andrew Ng's notation: Γ_u = i_t, Γ_f = f_t, Γ_o = o_t, a^<t> = h_t.)
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.functional.activations import sigmoid
from rnnkit.functional.cell import Cell


class LSTMCache(NamedTuple):
    h_prev: np.ndarray  # (B, H)
    c_prev: np.ndarray  # (B, H)
    gates: np.ndarray   # (B, 4H) activated i, f, g, o
    tanh_c: np.ndarray  # (B, H)


def lstm_step_forward(xw, state, w_hh, b_hh):
    """One step. xw (B, 4H) = x_t W_ihᵀ + b_ih; state = (h_{t−1}, c_{t−1}) -> ((h_t, c_t), cache)."""
    h_prev, c_prev = state
    H = h_prev.shape[1]
    gates = xw + h_prev @ w_hh.T
    gates += b_hh
    sigmoid(gates[:, :2 * H], out=gates[:, :2 * H])          # i, f
    np.tanh(gates[:, 2 * H:3 * H], out=gates[:, 2 * H:3 * H])  # g
    sigmoid(gates[:, 3 * H:], out=gates[:, 3 * H:])            # o
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    return (o * tanh_c, c), LSTMCache(h_prev, c_prev, gates, tanh_c)


def lstm_step_backward(dstate, cache, w_hh):
    """Backward of one step: (dh_t, dc_t) -> (dxw, dhw, (dh_{t−1}, dc_{t−1})).

    dxw and dhw are the same array: both projections enter the gates by a sum.
    """
    dh, dc_next = dstate
    h_prev, c_prev, gates, tanh_c = cache
    H = h_prev.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    # in the forward pass h = o * tanh(c), so dc gathers dh through tanh(c)
    dc = dc_next + dh * o * (1 - tanh_c * tanh_c)
    da = np.empty_like(gates)
    da[:, :H] = dc * g * i * (1 - i)              # c = f*c_prev + i*g, then through σ
    da[:, H:2 * H] = dc * c_prev * f * (1 - f)
    da[:, 2 * H:3 * H] = dc * i * (1 - g * g)     # through tanh
    da[:, 3 * H:] = dh * tanh_c * o * (1 - o)
    return da, da, (da @ w_hh, dc * f)


LSTM_CELL = Cell("lstm", 4, 2, lstm_step_forward, lstm_step_backward)
