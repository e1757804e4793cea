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

Backward, with dh = ∂L/∂h_t and dc_next = ∂L/∂c_t from step t+1:

    dc = dc_next + dh ⊙ o ⊙ (1 − tanh²(c_t))
    da_i = dc ⊙ g ⊙ σ'   da_f = dc ⊙ c_{t−1} ⊙ σ'   da_g = dc ⊙ i ⊙ tanh'   da_o = dh ⊙ tanh(c_t) ⊙ σ'
    dc_{t−1} = dc ⊙ f     dh_{t−1} = da W_hh

Speed: a step is a matrix product plus an element-wise part
(``lstm_pointwise_*``, which the optional compiled kernels of
:mod:`rnnkit._fast` replace for float32). The (B, 4H) gate array is viewed
as (B, 4, H), so one vectorised operation covers all four gates: σ(a) = ½ tanh(½a) + ½ and tanh(a) =
1·tanh(1·a) + 0 are the same map with per-gate (scale, shift), and
σ' = y(1 − y), tanh' = (1 + y)(1 − y) are both (y − lo)(1 − y). Every
operation writes into a preallocated array (``out=``), so the layer over
time can hand each step slices of its per-sequence buffers.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit._fast import kernel, sequence_kernel
from rnnkit.functional.activations import squash, squash_grad
from rnnkit.functional.cell import Cell, loop_mask

# per gate i, f, g, o: y = scale·tanh(scale·a) + shift (σ or tanh); y's lower bound for the derivative
SCALE, SHIFT, LOWER = (0.5, 0.5, 1.0, 0.5), (0.5, 0.5, 0.0, 0.5), (0.0, 0.0, -1.0, 0.0)


class LSTMCache(NamedTuple):
    """One step's arrays (or a whole sequence's, with a leading T axis)."""

    h_prev: np.ndarray  # (B, H)
    c_prev: np.ndarray  # (B, H)
    gates: np.ndarray   # (B, 4H) activated i, f, g, o
    tanh_c: np.ndarray  # (B, H)


def split_gates(gates: np.ndarray) -> np.ndarray:
    """(..., B, 4H) -> a (..., B, 4, H) view; [..., k, :] is gate k of i, f, g, o."""
    return gates.reshape(*gates.shape[:-1], 4, gates.shape[-1] // 4)


def lstm_step_forward(xw, state, w_hh, b_hh, out=None):
    """One step. xw (B, 4H) = x_t W_ihᵀ + b_ih; state = (h_{t−1}, c_{t−1}) -> ((h_t, c_t), cache).

    ``out``: optional ((h, c), LSTMCache) of arrays to write the result into,
    shaped like it; its h_prev and c_prev must be the state, and its gates
    may be xw itself (then overwritten).
    """
    h_prev, c_prev = state
    if out is None:
        out = ((np.empty_like(h_prev), np.empty_like(c_prev)),
               LSTMCache(h_prev, c_prev, np.empty_like(xw), np.empty_like(h_prev)))
    (h, c), cache = out
    if not np.may_share_memory(cache.gates, xw):
        np.copyto(cache.gates, xw)
    pointwise = kernel("lstm_forward", cache.gates) or lstm_pointwise_forward
    pointwise(cache.gates, h_prev @ w_hh.T, b_hh, c_prev, c, cache.tanh_c, h)
    return (h, c), cache


def lstm_pointwise_forward(gates, hw, b_hh, c_prev, c, tanh_c, h):
    """The element-wise part of a step, in place: gates holds xw and becomes i, f, g, o;
    writes c, tanh(c) and h. (The reference for the compiled ``rnnkit._fast`` kernel.)"""
    gates += hw
    gates += b_hh
    y = split_gates(gates)
    squash(y, SCALE, SHIFT)                  # i, f, o = σ(a); g = tanh(a_g)
    i, f, g, o = y[..., 0, :], y[..., 1, :], y[..., 2, :], y[..., 3, :]
    np.multiply(f, c_prev, out=c)
    np.multiply(i, g, out=tanh_c)            # tanh_c holds i ⊙ g for a moment
    c += tanh_c
    np.tanh(c, out=tanh_c)
    np.multiply(o, tanh_c, out=h)


def lstm_step_backward(dstate, cache, w_hh, out=None):
    """Backward of one step: (dh_t, dc_t) -> (dxw, (dh_{t−1}, dc_{t−1})).

    dxw = ∂L/∂a is also ∂L/∂(h_{t−1} W_hhᵀ + b_hh): both enter by a sum.
    ``out``: optional (dxw, (dh_prev, dc_prev)) arrays to write into.
    """
    dh, dc_next = dstate
    if out is None:
        out = (np.empty_like(cache.gates), (np.empty_like(dh), np.empty_like(dh)))
    da, (dh_prev, dc_prev) = out
    pointwise = kernel("lstm_backward", da) or lstm_pointwise_backward
    pointwise(dh, dc_next, cache.c_prev, cache.gates, cache.tanh_c, da, dc_prev)
    np.matmul(da, w_hh, out=dh_prev)         # a = ... + h_{t−1} W_hhᵀ
    return da, (dh_prev, dc_prev)


def lstm_pointwise_backward(dh, dc_next, c_prev, gates, tanh_c, da, dc):
    """The element-wise part of a step's backward: writes da and dc_{t−1} (into dc, which holds
    dc until the last line). (The reference for the compiled ``rnnkit._fast`` kernel.)"""
    y, dy = split_gates(gates), split_gates(da)
    i, f, g, o = y[..., 0, :], y[..., 1, :], y[..., 2, :], y[..., 3, :]
    # in the forward pass h = o ⊙ tanh(c), so dc gathers dh through tanh(c)
    np.multiply(tanh_c, tanh_c, out=dc)
    np.subtract(1, dc, out=dc)
    dc *= o
    dc *= dh
    dc += dc_next
    # c = f ⊙ c_prev + i ⊙ g and h = o ⊙ tanh(c): the gradient of each activated gate
    np.multiply(dc, g, out=dy[..., 0, :])
    np.multiply(dc, c_prev, out=dy[..., 1, :])
    np.multiply(dc, i, out=dy[..., 2, :])
    np.multiply(dh, tanh_c, out=dy[..., 3, :])
    dy *= squash_grad(y, LOWER)              # through σ and tanh
    dc *= f


def lstm_sequence_cache(xw: np.ndarray, states: tuple, scratch: np.ndarray) -> LSTMCache:
    """The whole-sequence cache over the layer's buffers: xw (T, B, 4H) becomes the gates,
    states = (h, c) each (T+1, B, H) with the initial state at [0], scratch (T, B, H) tanh(c)."""
    h, c = states
    return LSTMCache(h[:-1], c[:-1], xw, scratch)


def lstm_sequence_forward(xw, states, cache: LSTMCache, w_hh_t, b_hh, mask, first_padded) -> bool:
    """The whole forward loop in one compiled call (:mod:`rnnkit._fast.sequence`) when there is one
    for these arrays; False: the layer runs :func:`lstm_step_forward` step by step."""
    run = sequence_kernel("lstm_sequence_forward", xw)
    if run is None:
        return False
    run(xw, states[0], states[1], cache.tanh_c, w_hh_t, b_hh, *loop_mask(mask, first_padded))
    return True


def lstm_sequence_backward(dout, dstate, cache: LSTMCache, w_hh, dxw, mask, first_padded):
    """The whole backward loop in one compiled call, or None: the layer runs :func:`lstm_step_backward`."""
    run = sequence_kernel("lstm_sequence_backward", dxw)
    if run is None:
        return None
    dh, dc = dstate
    return run(dout, dh, dc, cache.c_prev, cache.gates, cache.tanh_c, np.ascontiguousarray(w_hh), dxw,
               *loop_mask(mask, first_padded))


def lstm_stack_step(x, state, layers, out) -> int | None:
    """One time step of a stack of L plain LSTM layers in one compiled call (:mod:`rnnkit._fast.sequence`),
    for generation, when there is one for these arrays: x (B, D); state = (h, c), each (L, B, H); layers
    a tuple of L (W_ih, W_hh, b_ih, b_hh); out = (h, c), each (L, B, H), written.

    Returns None (no such call: step layer by layer), −1 (done), or the position among (x, h, c) of an
    array that holds an inf or a NaN (found before anything is computed: the caller names it)."""
    run = sequence_kernel("lstm_stack_step", out[0])
    if run is None:
        return None
    return run(np.ascontiguousarray(x), *(np.ascontiguousarray(s) for s in state), layers, *out)


def lstm_stack_draw(x, state, layers, head, out, temperature: float, u: float) -> tuple[int, int] | None:
    """:func:`lstm_stack_step` at batch 1, a head's logits z = h_L Wᵀ + b (head = (W (V, H), b (V,))) and
    the index drawn from softmax(z / temperature) by the inverse CDF at u (as :func:`rnnkit.sampling.draw`),
    in one compiled call; None when there is none for these arrays, else (index, −1), or (−1, position)
    of an input that is not finite, as lstm_stack_step."""
    run = sequence_kernel("lstm_stack_draw", out[0])
    if run is None:
        return None
    return run(np.ascontiguousarray(x), *(np.ascontiguousarray(s) for s in state), layers, *head, *out,
               float(temperature), float(u))


LSTM_CELL = Cell("lstm", 4, 2, lstm_step_forward, lstm_step_backward, lstm_sequence_cache,
                 sequence_forward=lstm_sequence_forward, sequence_backward=lstm_sequence_backward,
                 dxw_over_gates=True, biases_add=True)
