"""Numba kernels: one step's element-wise work of each cell, fused, for float32 (B, ·) rows.

Legend: B batch, H hidden units; rows are (G·H,) gate blocks in PyTorch's
order (i, f, g, o for the LSTM; r, z, n for the GRU). Each kernel is the
NumPy code of the cell it replaces (``rnnkit.functional.lstm`` etc., whose
docstrings carry the equations), written as loops over a row so that one
pass does what NumPy does in a dozen; the matrix products stay in BLAS.

tanh is Eigen's rational approximation (odd degree-13 numerator over even
degree-6 denominator, input clamped to ±7.9988): |error| < 4e-7, NaN in
gives NaN out, and it vectorises (no transcendental call). σ(a) = ½ tanh(½a) + ½.
Loops are kept to a few arrays each so that LLVM vectorises them.
"""
from __future__ import annotations

import numba as nb
import numpy as np

F = np.float32
HALF, ONE, ZERO = F(0.5), F(1.0), F(0.0)
CLAMP = F(7.99881172180175781)
NUM = tuple(F(v) for v in (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                           5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
                           4.89352455891786e-03))
DEN = tuple(F(v) for v in (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                           4.89352518554385e-03))
# no "nnan"/"ninf": a NaN from a diverging model must come out as NaN
jit = nb.njit(nogil=True, cache=True, boundscheck=False, error_model="numpy", fastmath={"nsz", "contract"})


@nb.njit(inline="always", fastmath={"nsz", "contract"})
def tanh(x):
    x = CLAMP if x > CLAMP else (-CLAMP if x < -CLAMP else x)
    x2 = x * x
    p = NUM[0]
    for k in range(1, 7):
        p = p * x2 + NUM[k]
    q = DEN[0]
    for k in range(1, 4):
        q = q * x2 + DEN[k]
    return x * p / q


@jit
def squash_row(z, w, b, scale, shift):
    """z = scale·tanh(scale·(z + w + b)) + shift on one row block (σ: ½, ½; tanh: 1, 0)."""
    for j in range(z.size):
        z[j] = scale * tanh(scale * (z[j] + w[j] + b[j])) + shift


@jit
def lstm_forward(gates, hw, b, c_prev, c, tanh_c, h):
    """gates (B, 4H) holds xw and becomes i, f, g, o; writes c, tanh(c), h."""
    H = c.shape[1]
    for r in range(c.shape[0]):
        z, w = gates[r], hw[r]
        squash_row(z[:2 * H], w[:2 * H], b[:2 * H], HALF, HALF)
        squash_row(z[2 * H:3 * H], w[2 * H:3 * H], b[2 * H:3 * H], ONE, ZERO)
        squash_row(z[3 * H:], w[3 * H:], b[3 * H:], HALF, HALF)
        lstm_state_row(z, c_prev[r], c[r], tanh_c[r], h[r])


@jit
def lstm_activate(gates, b, c_prev, c, tanh_c, h):
    """As :func:`lstm_forward` when gates already holds xw + h_{t−1} W_hhᵀ (b_hh still to add)."""
    H = c.shape[1]
    for r in range(c.shape[0]):
        z = gates[r]
        squash_row_bias(z[:2 * H], b[:2 * H], HALF, HALF)
        squash_row_bias(z[2 * H:3 * H], b[2 * H:3 * H], ONE, ZERO)
        squash_row_bias(z[3 * H:], b[3 * H:], HALF, HALF)
        lstm_state_row(z, c_prev[r], c[r], tanh_c[r], h[r])


@jit
def squash_row_bias(z, b, scale, shift):
    """z = scale·tanh(scale·(z + b)) + shift."""
    for j in range(z.size):
        z[j] = scale * tanh(scale * (z[j] + b[j])) + shift


@jit
def lstm_state_row(z, cp, cr, tr, hr):
    """One row of c = f ⊙ c_prev + i ⊙ g, tanh(c), h = o ⊙ tanh(c), from activated gates z (4H,)."""
    H = cr.size
    for j in range(H):
        cr[j] = z[H + j] * cp[j] + z[j] * z[2 * H + j]
    for j in range(H):
        tr[j] = tanh(cr[j])
    for j in range(H):
        hr[j] = z[3 * H + j] * tr[j]


@jit
def lstm_backward(dh, dc_next, c_prev, gates, tanh_c, da, dc_prev):
    """Writes da (B, 4H) = ∂L/∂a and dc_prev (B, H); dc_prev holds dc until each unit's f is read.
    da may be gates itself: each unit's four gates are read before their gradients are written."""
    H = dh.shape[1]
    for r in range(dh.shape[0]):
        y, d, dc, t, dhr = gates[r], da[r], dc_prev[r], tanh_c[r], dh[r]
        for j in range(H):
            dc[j] = dc_next[r, j] + dhr[j] * y[3 * H + j] * (ONE - t[j] * t[j])
        cp = c_prev[r]
        for j in range(H):
            i, f, g, o, dcj = y[j], y[H + j], y[2 * H + j], y[3 * H + j], dc[j]
            d[j] = dcj * g * i * (ONE - i)
            d[H + j] = dcj * cp[j] * f * (ONE - f)
            d[2 * H + j] = dcj * i * (ONE - g * g)
            d[3 * H + j] = dhr[j] * t[j] * o * (ONE - o)
            dc[j] = dcj * f


@jit
def gru_forward(gates, hw, b, h_prev, hn, h):
    """Reset-after GRU: gates (B, 3H) holds xw and becomes r, z, n; writes hn = h W_hnᵀ + b_hn and h."""
    H = h.shape[1]
    for r in range(h.shape[0]):
        z, w, hnr, hr, hp = gates[r], hw[r], hn[r], h[r], h_prev[r]
        squash_row(z[:2 * H], w[:2 * H], b[:2 * H], HALF, HALF)
        for j in range(H):
            hnr[j] = w[2 * H + j] + b[2 * H + j]
        for j in range(H):
            z[2 * H + j] = tanh(z[2 * H + j] + z[j] * hnr[j])
        for j in range(H):
            n = z[2 * H + j]
            hr[j] = n + z[H + j] * (hp[j] - n)


@jit
def gru_backward(dh, h_prev, gates, hn, da, dhw, dh_prev):
    """Reset-after GRU: writes da (B, 3H), dhw = ∂L/∂hw (B, 3H) and dh_prev = dh ⊙ z (the direct path)."""
    H = dh.shape[1]
    for r in range(dh.shape[0]):
        y, d, e, dhr, hp, hnr, dp = gates[r], da[r], dhw[r], dh[r], h_prev[r], hn[r], dh_prev[r]
        for j in range(H):
            rr, z, n = y[j], y[H + j], y[2 * H + j]
            dan = dhr[j] * (ONE - z) * (ONE - n * n)
            d[2 * H + j] = dan
            e[2 * H + j] = dan * rr
            d[H + j] = dhr[j] * (hp[j] - n) * z * (ONE - z)
            d[j] = dan * hnr[j] * rr * (ONE - rr)
            dp[j] = dhr[j] * z
        for j in range(2 * H):
            e[j] = d[j]


@jit
def rnn_forward(h, xw, b, relu):
    """h (B, H) holds h_prev W_hhᵀ and becomes f(that + xw + b), f = relu or tanh."""
    for r in range(h.shape[0]):
        hr, x = h[r], xw[r]
        if relu:
            for j in range(hr.size):
                a = hr[j] + x[j] + b[j]
                hr[j] = ZERO if a < ZERO else a     # NaN stays NaN, as np.maximum
        else:
            for j in range(hr.size):
                hr[j] = tanh(hr[j] + x[j] + b[j])


@jit
def rnn_backward(dh, h, da, relu):
    """da = dh ⊙ f'(a), from h = f(a)."""
    for r in range(dh.shape[0]):
        d, y, g = da[r], h[r], dh[r]
        if relu:
            for j in range(d.size):
                d[j] = g[j] if y[j] > ZERO else ZERO
        else:
            for j in range(d.size):
                d[j] = g[j] * (ONE - y[j] * y[j])
