"""Gated recurrent unit (Cho et al., 2014), in both of its common forms.

Legend: B batch, D input features, H hidden units; gates are stacked in
PyTorch's order **r, z, n** along the 3H axis of W_ih (3H, D), W_hh (3H, H),
b_ih, b_hh (3H,). Writing xw = x_t W_ihᵀ + b_ih = [x_r, x_z, x_n]:

    r_t = σ(x_r + h_{t−1} W_hrᵀ + b_hr)            (notes: R_t, reset gate)
    z_t = σ(x_z + h_{t−1} W_hzᵀ + b_hz)            (notes: Z_t, update gate)
    reset_after=True  (PyTorch, cuDNN, Keras default):
        n_t = tanh(x_n + r_t ⊙ (h_{t−1} W_hnᵀ + b_hn))
    reset_after=False (the notes' textbook form, H̃_t = tanh(X_t W_xh + (R_t ⊙ H_{t−1}) W_hh + b_h)):
        n_t = tanh(x_n + (r_t ⊙ h_{t−1}) W_hnᵀ + b_hn)
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}           (notes: H_t = Z_t ⊙ H_{t−1} + (1 − Z_t) ⊙ H̃_t)
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from rnnkit.functional.activations import sigmoid
from rnnkit.functional.cell import Cell


class GRUCache(NamedTuple):
    h_prev: np.ndarray  # (B, H)
    rz: np.ndarray      # (B, 2H) activated r, z
    n: np.ndarray       # (B, H) candidate n_t
    hn: np.ndarray      # (B, H) h_{t−1} W_hnᵀ + b_hn (reset-after) or r ⊙ h_{t−1} (reset-before)


def gru_step_forward(xw, state, w_hh, b_hh, reset_after=True):
    """One step. xw (B, 3H); state = (h_{t−1},) -> ((h_t,), cache)."""
    (h_prev,) = state
    H = h_prev.shape[1]
    if reset_after:
        hw = h_prev @ w_hh.T + b_hh                                # (B, 3H)
        rz = sigmoid(xw[:, :2 * H] + hw[:, :2 * H])
        hn = hw[:, 2 * H:]
        n = np.tanh(xw[:, 2 * H:] + rz[:, :H] * hn)
    else:
        rz = sigmoid(xw[:, :2 * H] + h_prev @ w_hh[:2 * H].T + b_hh[:2 * H])
        hn = rz[:, :H] * h_prev                                    # r ⊙ h_{t−1}
        n = np.tanh(xw[:, 2 * H:] + hn @ w_hh[2 * H:].T + b_hh[2 * H:])
    z = rz[:, H:]
    h = n + z * (h_prev - n)                                       # (1−z) n + z h_{t−1}
    return (h,), GRUCache(h_prev, rz, n, hn)


def gru_step_backward(dstate, cache, w_hh, reset_after=True):
    """Backward of one step: (dh_t,) -> (dxw, dhw, (dh_{t−1},))."""
    (dh,) = dstate
    h_prev, rz, n, hn = cache
    H = h_prev.shape[1]
    r, z = rz[:, :H], rz[:, H:]
    dan = dh * (1 - z) * (1 - n * n)          # through h = (1−z) n + z h_prev, then tanh
    dz = dh * (h_prev - n)
    dxw = np.empty_like(rz, shape=(dh.shape[0], 3 * H))
    dxw[:, H:2 * H] = dz * z * (1 - z)
    dxw[:, 2 * H:] = dan
    if reset_after:
        dxw[:, :H] = dan * hn * r * (1 - r)   # n = tanh(x_n + r ⊙ hn)
        dhw = dxw.copy()
        dhw[:, 2 * H:] *= r
        dh_prev = dh * z + dhw @ w_hh
    else:
        drh = dan @ w_hh[2 * H:]              # gradient of r ⊙ h_prev
        dxw[:, :H] = drh * h_prev * r * (1 - r)
        dhw = dxw
        dh_prev = dh * z + drh * r + dxw[:, :2 * H] @ w_hh[:2 * H]
    return dxw, dhw, (dh_prev,)


def gru_hh_weight_grad_reset_before(dhw, caches):
    """dW_hh for the textbook GRU: the r, z rows multiply h_{t−1}, the n rows r_t ⊙ h_{t−1}."""
    H = caches[0].h_prev.shape[1]
    flat = dhw.reshape(-1, 3 * H)
    h_prev = np.stack([c.h_prev for c in caches]).reshape(-1, H)
    rh = np.stack([c.hn for c in caches]).reshape(-1, H)
    return np.concatenate([flat[:, :2 * H].T @ h_prev, flat[:, 2 * H:].T @ rh])


def gru_cell(reset_after: bool = True) -> Cell:
    """The GRU cell: PyTorch's form (``reset_after=True``) or the textbook form."""
    if reset_after:
        return Cell("gru", 3, 1, gru_step_forward, gru_step_backward)
    return Cell("gru_reset_before", 3, 1,
                partial(gru_step_forward, reset_after=False),
                partial(gru_step_backward, reset_after=False),
                gru_hh_weight_grad_reset_before)
