"""Numba kernels that run the LSTM's whole loop over time, float32.

Legend: T time steps, B batch, H hidden units; time-major buffers of the
layer over time (:mod:`rnnkit.functional.recurrent`): xw (T, B, 4H), the
states h, c (T+1, B, H) with state_t at [t + 1], tanh_c (T, B, H), mask
(T, B) (True at real steps; an empty array when nothing is padded).

These are :func:`rnnkit.functional.recurrent.recurrent_forward`'s and
``recurrent_backward``'s step loops for the LSTM cell, the same arithmetic in
the same order: each step's product with W_hh is NumPy's own BLAS
(``sgemm``, or ``sgemv`` for a batch of one, from :mod:`rnnkit._fast.blas`), the element-wise work the fused
kernels of :mod:`rnnkit._fast.kernels`. What changes is where the loop runs:
compiled, without a Python call per step (5–10 µs each, as much as the whole
step costs at small sizes), and the forward adds h_{t−1} W_hhᵀ straight into
the gates (BLAS's β = 1) instead of through a temporary array.
"""
from __future__ import annotations

import numpy as np

from rnnkit._fast.kernels import jit, lstm_activate, lstm_backward

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
ONE, ZERO = np.float32(1.0), np.float32(0.0)


@jit
def product(sgemm, sgemv, M, N, K, a, b, beta, c):
    """c (M, N) = a (M, K) b (K, N) + β c, all C-contiguous; gemv for one row, as NumPy does."""
    if M == 1:
        sgemv(ROW_MAJOR, TRANS, K, N, ONE, b.ctypes.data, N, a.ctypes.data, 1, beta, c.ctypes.data, 1)
    else:
        sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, M, N, K, ONE, a.ctypes.data, K, b.ctypes.data, N, beta,
              c.ctypes.data, N)


@jit
def lstm_sequence_forward(sgemm, sgemv, xw, h, c, tanh_c, w_t, b_hh, mask, first_padded):
    """The forward loop: xw becomes the activated gates; fills h[1:], c[1:] and tanh_c.
    w_t (H, 4H) is W_hhᵀ, C-contiguous; padded sequences keep their state."""
    T, B, G = xw.shape
    H = G // 4
    for t in range(T):
        # a = xw_t + h_{t−1} W_hhᵀ, accumulated in place (β = 1)
        product(sgemm, sgemv, B, G, H, h[t], w_t, ONE, xw[t])
        lstm_activate(xw[t], b_hh, c[t], c[t + 1], tanh_c[t], h[t + 1])
        if t >= first_padded:
            for b in range(B):
                if not mask[t, b]:  # this sequence has ended: its state passes through
                    h[t + 1, b] = h[t, b]
                    c[t + 1, b] = c[t, b]


@jit
def lstm_sequence_backward(sgemm, sgemv, dout, dh_next, dc_next, c, gates, tanh_c, w_hh, dxw, mask, first_padded):
    """The backward loop: writes dxw (T, B, 4H); dh_next, dc_next (B, H) come in as ∂L/∂h_T, ∂L/∂c_T
    and are returned as ∂L/∂h_0, ∂L/∂c_0 (in the arrays returned). w_hh (4H, H) C-contiguous."""
    T, B, G = dxw.shape
    H = G // 4
    dh, dc = np.empty_like(dh_next), np.empty_like(dc_next)          # what step t gets from above
    dh_prev, dc_prev = np.empty_like(dh_next), np.empty_like(dc_next)  # what step t hands to t − 1
    for t in range(T - 1, -1, -1):
        padded = t >= first_padded
        for b in range(B):
            real = not padded or mask[t, b]
            for j in range(H):
                dh[b, j] = dh_next[b, j] + dout[t, b, j] if real else ZERO
                dc[b, j] = dc_next[b, j] if real else ZERO
        lstm_backward(dh, dc, c[t], gates[t], tanh_c[t], dxw[t], dc_prev)
        # a = ... + h_{t−1} W_hhᵀ, so dh_{t−1} = da W_hh
        product(sgemm, sgemv, B, H, G, dxw[t], w_hh, ZERO, dh_prev)
        if padded:
            for b in range(B):
                if not mask[t, b]:  # no step happened here: the gradient passes through
                    dh_prev[b] = dh_next[b]
                    dc_prev[b] = dc_next[b]
        dh_next, dh_prev = dh_prev, dh_next
        dc_next, dc_prev = dc_prev, dc_next
    return dh_next, dc_next
