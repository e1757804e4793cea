"""Numba kernels that run a cell's whole loop over time, float32: LSTM, reset-after GRU, RNN.

Legend: T time steps, B batch, H hidden units, G gates; time-major buffers of
the layer over time (:mod:`rnnkit.functional.recurrent`): xw (T, B, G·H), the
states h (and the LSTM's c) (T+1, B, H) with state_t at [t + 1], the cells'
other cache fields (T, B, H), mask (T, B) (True at real steps; an empty
array when nothing is padded).

These are :func:`rnnkit.functional.recurrent.recurrent_forward`'s and
``recurrent_backward``'s step loops for each cell, the same arithmetic in the
same order: each step's product with W_hh is NumPy's own BLAS (``sgemm``, or
``sgemv`` for a batch of one, called by address through :mod:`rnnkit._fast.cblas`;
``blas`` is :func:`rnnkit._fast.blas.addresses`), the element-wise
work the fused kernels of :mod:`rnnkit._fast.kernels`. What changes is where the loop runs:
compiled, without a Python call per step (5–10 µs each, as much as the whole
step costs at small sizes), and the LSTM's forward adds h_{t−1} W_hhᵀ straight
into the gates (BLAS's β = 1) instead of through a temporary array.
"""
from __future__ import annotations

import numpy as np

from rnnkit._fast.cblas import NO_TRANS, TRANS, sgemm, sgemv
from rnnkit._fast.kernels import gru_backward, gru_forward, jit, lstm_activate, lstm_backward, rnn_backward, rnn_forward

ONE, ZERO = np.float32(1.0), np.float32(0.0)
TILE_ROWS, TILE_PRODUCT = 16, 2 ** 19  # tiles of ≤ 16 rows, M·N·K ≈ 0.5 M: fastest at RNN step sizes (measured)


@jit
def product(blas, M, N, K, a, b, beta, c):
    """c (M, N) = a (M, K) b (K, N) + β c; a and c C-contiguous, b C-contiguous or the transpose of a
    C-contiguous (N, K) array (W_hh itself, at batch 1); gemv for one row, as NumPy does."""
    if b.flags.c_contiguous:
        if M == 1:
            sgemv(blas, TRANS, K, N, ONE, b, N, a, 1, beta, c, 1)
        else:
            rows, cols = tile(blas[3], M, N, K)
            for m in range(0, M, rows):
                for n in range(0, N, cols):
                    sgemm(blas, NO_TRANS, NO_TRANS, min(rows, M - m), min(cols, N - n), K, ONE, a[m:], K,
                          b[:, n:], N, beta, c[m:, n:], N)
    elif M == 1:
        sgemv(blas, NO_TRANS, N, K, ONE, b, K, a, 1, beta, c, 1)
    else:
        sgemm(blas, NO_TRANS, TRANS, M, N, K, ONE, a, K, b, K, beta, c, N)


@jit
def tile(small, M, N, K):
    """(rows, cols) of the tiles of an (M, N) = (M, K)(K, N) product: the whole product when BLAS has no
    small-matrix kernels (``small`` = 0, see :func:`rnnkit._fast.blas.small_product_limit`) or it is small
    enough for them already; else tiles of up to 16 rows and M·N·K about TILE_PRODUCT (within ``small``),
    each computed by those kernels (one packed product per step costs up to twice as much: the weights
    are packed anew at every step)."""
    if small == 0 or M * N * K <= small:
        return M, N
    rows = min(M, TILE_ROWS)
    cols = min(N, TILE_PRODUCT // (rows * K) // 16 * 16)
    return (rows, cols) if cols >= 16 else (M, N)


@jit
def lstm_sequence_forward(blas, xw, h, c, tanh_c, w_t, b_hh, mask, first_padded, lo, hi):
    """The forward loop over rows lo:hi of the batch: xw becomes the activated gates; fills h[1:], c[1:]
    and tanh_c. w_t (H, 4H) is W_hhᵀ, C-contiguous; padded sequences keep their state."""
    T, B, G = xw.shape
    H = G // 4
    for t in range(T):
        # a = xw_t + h_{t−1} W_hhᵀ, accumulated in place (β = 1)
        product(blas, hi - lo, G, H, h[t, lo:hi], w_t, ONE, xw[t, lo:hi])
        lstm_activate(xw[t, lo:hi], b_hh, c[t, lo:hi], c[t + 1, lo:hi], tanh_c[t, lo:hi], h[t + 1, lo:hi])
        if t >= first_padded:
            keep_padded(mask[t, lo:hi], h[t, lo:hi], h[t + 1, lo:hi])
            keep_padded(mask[t, lo:hi], c[t, lo:hi], c[t + 1, lo:hi])


@jit
def keep_padded(real, old, new):
    """Rows b of a padded step (real[b] False) pass their value through: new[b] = old[b]."""
    for b in range(real.size):
        if not real[b]:
            new[b] = old[b]


@jit
def gradient_in(real, dh_next, dout_t, dh):
    """dh = dh_next + dout_t where a step happened (real[b], or every row when real is empty), else 0."""
    for b in range(dh.shape[0]):
        on = real.size == 0 or real[b]
        for j in range(dh.shape[1]):
            dh[b, j] = dh_next[b, j] + dout_t[b, j] if on else ZERO


@jit
def lstm_sequence_backward(blas, dout, dh_next, dc_next, c, gates, tanh_c, w_hh, dxw, mask, first_padded, lo, hi):
    """The backward loop over rows lo:hi of the batch: writes dxw[:, lo:hi] (of (T, B, 4H)); dh_next,
    dc_next (hi − lo, H) come in as those rows' ∂L/∂h_T, ∂L/∂c_T and are returned as ∂L/∂h_0, ∂L/∂c_0
    (in the arrays returned). w_hh (4H, H) C-contiguous."""
    G = dxw.shape[2]
    T, B, H = dxw.shape[0], hi - lo, G // 4
    dh, dc = np.empty_like(dh_next), np.empty_like(dc_next)          # what step t gets from above
    dh_prev, dc_prev = np.empty_like(dh_next), np.empty_like(dc_next)  # what step t hands to t − 1
    no_dout = np.zeros_like(dh_next)
    for t in range(T - 1, -1, -1):
        real = mask[t, lo:hi] if t >= first_padded else mask[0, :0]
        gradient_in(real, dh_next, dout[t, lo:hi], dh)
        gradient_in(real, dc_next, no_dout, dc)
        lstm_backward(dh, dc, c[t, lo:hi], gates[t, lo:hi], tanh_c[t, lo:hi], dxw[t, lo:hi], dc_prev)
        # a = ... + h_{t−1} W_hhᵀ, so dh_{t−1} = da W_hh
        product(blas, B, H, G, dxw[t, lo:hi], w_hh, ZERO, dh_prev)
        if real.size:  # no step happened in the padded rows: their gradient passes through
            keep_padded(real, dh_next, dh_prev)
            keep_padded(real, dc_next, dc_prev)
        dh_next, dh_prev = dh_prev, dh_next
        dc_next, dc_prev = dc_prev, dc_next
    return dh_next, dc_next


@jit
def gru_sequence_forward(blas, xw, h, hn, w_t, b_hh, mask, first_padded, lo, hi):
    """Reset-after GRU over rows lo:hi of the batch: xw (T, B, 3H) becomes r, z, n; fills h[1:] and
    hn (T, B, H) = h_{t−1} W_hnᵀ + b_hn. w_t (H, 3H) is W_hhᵀ, C-contiguous."""
    T, G = xw.shape[0], xw.shape[2]
    H = G // 3
    hw = np.empty((hi - lo, G), xw.dtype)
    for t in range(T):
        product(blas, hi - lo, G, H, h[t, lo:hi], w_t, ZERO, hw)    # the n block is scaled by r: kept apart
        gru_forward(xw[t, lo:hi], hw, b_hh, h[t, lo:hi], hn[t, lo:hi], h[t + 1, lo:hi])
        if t >= first_padded:
            keep_padded(mask[t, lo:hi], h[t, lo:hi], h[t + 1, lo:hi])


@jit
def gru_sequence_backward(blas, dout, dh_next, h_prev, gates, hn, w_hh, dxw, mask, first_padded, lo, hi):
    """Reset-after GRU's backward loop over rows lo:hi: writes dxw[:, lo:hi] (of (T, B, 3H)); dh_next
    (hi − lo, H) is overwritten; returns those rows' ∂L/∂h_0."""
    G = dxw.shape[2]
    T, B, H = dxw.shape[0], hi - lo, G // 3
    dh, dh_prev, dhw = np.empty_like(dh_next), np.empty_like(dh_next), np.empty((B, G), dxw.dtype)
    for t in range(T - 1, -1, -1):
        real = mask[t, lo:hi] if t >= first_padded else mask[0, :0]
        gradient_in(real, dh_next, dout[t, lo:hi], dh)
        gru_backward(dh, h_prev[t, lo:hi], gates[t, lo:hi], hn[t, lo:hi], dxw[t, lo:hi], dhw, dh_prev)  # z ⊙ dh
        product(blas, B, H, G, dhw, w_hh, ONE, dh_prev)             # + ∂L/∂hw W_hh
        if real.size:
            keep_padded(real, dh_next, dh_prev)
        dh_next, dh_prev = dh_prev, dh_next
    return dh_next


@jit
def rnn_sequence_forward(blas, xw, h, w_t, b_hh, relu, mask, first_padded, lo, hi):
    """RNN over rows lo:hi of the batch: fills h[1:] with f(xw_t + h_{t−1} W_hhᵀ + b_hh); w_t (H, H) is
    W_hhᵀ, C-contiguous."""
    T, H = xw.shape[0], xw.shape[2]
    for t in range(T):
        product(blas, hi - lo, H, H, h[t, lo:hi], w_t, ZERO, h[t + 1, lo:hi])
        rnn_forward(h[t + 1, lo:hi], xw[t, lo:hi], b_hh, relu)
        if t >= first_padded:
            keep_padded(mask[t, lo:hi], h[t, lo:hi], h[t + 1, lo:hi])


@jit
def rnn_sequence_backward(blas, dout, dh_next, h, w_hh, relu, dxw, mask, first_padded, lo, hi):
    """RNN's backward loop over rows lo:hi: h (T, B, H) the outputs f(a_t); writes dxw[:, lo:hi] (of
    (T, B, H)); returns those rows' ∂L/∂h_0 (dh_next, (hi − lo, H), is overwritten)."""
    T, H = dxw.shape[0], dxw.shape[2]
    dh, dh_prev = np.empty_like(dh_next), np.empty_like(dh_next)
    for t in range(T - 1, -1, -1):
        real = mask[t, lo:hi] if t >= first_padded else mask[0, :0]
        gradient_in(real, dh_next, dout[t, lo:hi], dh)
        rnn_backward(dh, h[t, lo:hi], dxw[t, lo:hi], relu)
        product(blas, hi - lo, H, H, dxw[t, lo:hi], w_hh, ZERO, dh_prev)
        if real.size:
            keep_padded(real, dh_next, dh_prev)
        dh_next, dh_prev = dh_prev, dh_next
    return dh_next


@jit
def lstm_stack_step(blas, x, h0, c0, w_ih, w_hh, b, h1, c1, gates, tanh_c):
    """One time step of a stack of L LSTM layers (generation): x (B, D); h0, c0 (L, B, H) the states
    before, h1, c1 (L, B, H) written; w_ih, w_hh tuples of L C-contiguous (4H, D_l) and (4H, H) arrays
    (read as they are: a gemv on their rows at batch 1); b (L, 4H) = b_ih + b_hh; gates (B, 4H) and
    tanh_c (B, H) scratch."""
    B, G = gates.shape
    for layer in range(h0.shape[0]):
        inp = x if layer == 0 else h1[layer - 1]
        product(blas, B, G, inp.shape[1], inp, w_ih[layer].T, ZERO, gates)
        product(blas, B, G, G // 4, h0[layer], w_hh[layer].T, ONE, gates)
        lstm_activate(gates, b[layer], c0[layer], c1[layer], tanh_c, h1[layer])
