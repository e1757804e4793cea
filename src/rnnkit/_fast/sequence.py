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
TILE_ROWS, MIN_COLS, TILE_PRODUCT = 16, 64, 2 ** 19  # tiles of M·N·K ≈ 0.5 M: fastest at RNN step sizes (measured)


@jit
def product(blas, M, N, K, a, b, beta, c):
    """c (M, N) = a (M, K) b (K, N) + β c; a and c C-contiguous, b C-contiguous or the transpose of a
    C-contiguous (N, K) array (W_hh itself, at batch 1); gemv for one row, as NumPy does; with b
    C-contiguous, in tiles (:func:`tile`) when ``blas[3]`` (the small-matrix limit) is not 0."""
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
    enough for them already; else tiles of M·N·K about TILE_PRODUCT, 16 rows by as many columns as fit
    (at least 64: a row of fewer columns reads less than a cache line's worth of W), fewer rows when K is
    large, each computed by those kernels (one packed product per step packs W anew at every step)."""
    if small == 0 or M * N * K <= small:
        return M, N
    rows = min(M, TILE_ROWS)
    cols = TILE_PRODUCT // (rows * K) // 16 * 16
    if cols < MIN_COLS:
        cols, rows = MIN_COLS, min(M, TILE_PRODUCT // (MIN_COLS * K))
    return (rows, min(N, cols)) if rows >= 4 else (M, N)


@jit
def lstm_sequence_forward(blas, xw, h, c, tanh_c, w_t, b_hh, mask, first_padded):
    """The forward loop: xw becomes the activated gates; fills h[1:], c[1:] and tanh_c.
    w_t (H, 4H) is W_hhᵀ, C-contiguous; padded sequences keep their state."""
    T, B, G = xw.shape
    H = G // 4
    for t in range(T):
        # a = xw_t + h_{t−1} W_hhᵀ, accumulated in place (β = 1)
        product(blas, B, G, H, h[t], w_t, ONE, xw[t])
        lstm_activate(xw[t], b_hh, c[t], c[t + 1], tanh_c[t], h[t + 1])
        if t >= first_padded:
            keep_padded(mask[t], h[t], h[t + 1])
            keep_padded(mask[t], c[t], c[t + 1])


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
def lstm_sequence_backward(blas, dout, dh_next, dc_next, c, gates, tanh_c, w_hh, dxw, mask, first_padded):
    """The backward loop: writes dxw (T, B, 4H); dh_next, dc_next (B, H) come in as ∂L/∂h_T, ∂L/∂c_T
    and are returned as ∂L/∂h_0, ∂L/∂c_0 (in the arrays returned). w_hh (4H, H) C-contiguous."""
    T, B, G = dxw.shape
    H = G // 4
    dh, dc = np.empty_like(dh_next), np.empty_like(dc_next)          # what step t gets from above
    dh_prev, dc_prev = np.empty_like(dh_next), np.empty_like(dc_next)  # what step t hands to t − 1
    no_dout = np.zeros_like(dh_next)
    for t in range(T - 1, -1, -1):
        real = mask[t] if t >= first_padded else mask[0, :0]
        gradient_in(real, dh_next, dout[t], dh)
        gradient_in(real, dc_next, no_dout, dc)
        lstm_backward(dh, dc, c[t], gates[t], tanh_c[t], dxw[t], dc_prev)
        # a = ... + h_{t−1} W_hhᵀ, so dh_{t−1} = da W_hh
        product(blas, B, H, G, dxw[t], w_hh, ZERO, dh_prev)
        if real.size:  # no step happened in the padded rows: their gradient passes through
            keep_padded(real, dh_next, dh_prev)
            keep_padded(real, dc_next, dc_prev)
        dh_next, dh_prev = dh_prev, dh_next
        dc_next, dc_prev = dc_prev, dc_next
    return dh_next, dc_next


@jit
def gru_sequence_forward(blas, xw, h, hn, w_t, b_hh, mask, first_padded):
    """Reset-after GRU: xw (T, B, 3H) becomes r, z, n; fills h[1:] and hn (T, B, H) = h_{t−1} W_hnᵀ + b_hn.
    w_t (H, 3H) is W_hhᵀ, C-contiguous."""
    T, B, G = xw.shape
    H = G // 3
    hw = np.empty((B, G), xw.dtype)
    for t in range(T):
        product(blas, B, G, H, h[t], w_t, ZERO, hw)    # the n block is scaled by r: kept apart
        gru_forward(xw[t], hw, b_hh, h[t], hn[t], h[t + 1])
        if t >= first_padded:
            keep_padded(mask[t], h[t], h[t + 1])


@jit
def gru_sequence_backward(blas, dout, dh_next, h_prev, gates, hn, w_hh, dxw, mask, first_padded):
    """Reset-after GRU's backward loop: writes dxw (T, B, 3H); returns ∂L/∂h_0 (dh_next is overwritten)."""
    T, B, G = dxw.shape
    H = G // 3
    dh, dh_prev, dhw = np.empty_like(dh_next), np.empty_like(dh_next), np.empty((B, G), dxw.dtype)
    for t in range(T - 1, -1, -1):
        real = mask[t] if t >= first_padded else mask[0, :0]
        gradient_in(real, dh_next, dout[t], dh)
        gru_backward(dh, h_prev[t], gates[t], hn[t], dxw[t], dhw, dh_prev)   # dh_prev = z ⊙ dh, the direct path
        product(blas, B, H, G, dhw, w_hh, ONE, dh_prev)             # + ∂L/∂hw W_hh
        if real.size:
            keep_padded(real, dh_next, dh_prev)
        dh_next, dh_prev = dh_prev, dh_next
    return dh_next


@jit
def rnn_sequence_forward(blas, xw, h, w_t, b_hh, relu, mask, first_padded):
    """RNN: fills h[1:] with f(xw_t + h_{t−1} W_hhᵀ + b_hh); w_t (H, H) is W_hhᵀ, C-contiguous."""
    T, B, H = xw.shape
    for t in range(T):
        product(blas, B, H, H, h[t], w_t, ZERO, h[t + 1])
        rnn_forward(h[t + 1], xw[t], b_hh, relu)
        if t >= first_padded:
            keep_padded(mask[t], h[t], h[t + 1])


@jit
def rnn_sequence_backward(blas, dout, dh_next, h, w_hh, relu, dxw, mask, first_padded):
    """RNN's backward loop: h (T, B, H) the outputs f(a_t); writes dxw (T, B, H); returns ∂L/∂h_0."""
    T, B, H = dxw.shape
    dh, dh_prev = np.empty_like(dh_next), np.empty_like(dh_next)
    for t in range(T - 1, -1, -1):
        real = mask[t] if t >= first_padded else mask[0, :0]
        gradient_in(real, dh_next, dout[t], dh)
        rnn_backward(dh, h[t], dxw[t], relu)
        product(blas, B, H, H, dxw[t], w_hh, ZERO, dh_prev)
        if real.size:
            keep_padded(real, dh_next, dh_prev)
        dh_next, dh_prev = dh_prev, dh_next
    return dh_next


@jit
def first_not_finite(x, h0, c0):
    """The position among (x, h0, c0), C-contiguous, of the first that holds an inf or a NaN, else −1: the
    steps' finite test of their inputs, a few thousand comparisons (NumPy's costs ~1.5 µs an array)."""
    arrays = (x.ravel(), h0.ravel(), c0.ravel())
    for k in range(3):
        for v in arrays[k]:
            if not np.isfinite(v):
                return k
    return -1


@jit
def lstm_stack_step(blas, x, h0, c0, layers, h1, c1):
    """One time step of a stack of L LSTM layers (generation): x (B, D); h0, c0 (L, B, H) the states
    before, h1, c1 (L, B, H) written; layers a tuple of L (W_ih (4H, D_l), W_hh (4H, H), b_ih, b_hh (4H,)),
    C-contiguous (read as they are: a gemv on their rows at batch 1; the biases are added here, a few
    thousand additions: summing them in NumPy cost more per token). Returns −1, or the position among
    (x, h0, c0) of one that is not finite (:func:`first_not_finite`): then nothing is written."""
    bad = first_not_finite(x, h0, c0)
    if bad >= 0:
        return bad
    B, G = x.shape[0], layers[0][1].shape[0]
    gates, tanh_c, b = np.empty((B, G), x.dtype), np.empty((B, G // 4), x.dtype), np.empty(G, x.dtype)
    for layer in range(h0.shape[0]):
        w_ih, w_hh, b_ih, b_hh = layers[layer]
        inp = x if layer == 0 else h1[layer - 1]
        product(blas, B, G, inp.shape[1], inp, w_ih.T, ZERO, gates)
        product(blas, B, G, G // 4, h0[layer], w_hh.T, ONE, gates)
        for j in range(G):
            b[j] = b_ih[j] + b_hh[j]
        lstm_activate(gates, b, c0[layer], c1[layer], tanh_c, h1[layer])
    return -1


@jit
def lstm_stack_draw(blas, x, h0, c0, layers, w_head, b_head, h1, c1, temperature, u):
    """lstm_stack_step at batch 1, then a head's logits z = h_L W_headᵀ + b_head (W_head (V, H)
    C-contiguous) and the index drawn from softmax(z / temperature) by the inverse CDF at u ∈ [0, 1),
    :func:`rnnkit.sampling.draw`'s rule: the first index whose cumulative weight exceeds u times the total.
    Returns (index, −1), or (−1, position) of an input that is not finite, as lstm_stack_step."""
    bad = lstm_stack_step(blas, x, h0, c0, layers, h1, c1)
    if bad >= 0:
        return -1, bad
    V = w_head.shape[0]
    z = np.empty((1, V), x.dtype)
    product(blas, 1, V, w_head.shape[1], h1[h1.shape[0] - 1], w_head.T, ZERO, z)
    scaled = np.empty(V)  # float64, as the NumPy reference computes the probabilities
    for v in range(V):
        scaled[v] = np.float64(z[0, v] + b_head[v]) / temperature
    cumulative = np.cumsum(np.exp(scaled - scaled.max()))
    target = u * cumulative[V - 1]
    for v in range(V - 1):
        if cumulative[v] > target:
            return v, -1
    return V - 1, -1
