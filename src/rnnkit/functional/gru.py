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

The cache keeps hn = h_{t−1} W_hnᵀ + b_hn (reset-after) or r_t ⊙ h_{t−1}
(reset-before): what r_t multiplied, or what W_hn multiplied. Every
operation writes into a preallocated array (``out=``); the element-wise part
of a reset-after step (``gru_pointwise_*``) has a compiled float32 twin in
:mod:`rnnkit._fast`.
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from rnnkit._fast import kernel, sequence_kernel
from rnnkit.functional.activations import sigmoid, sigmoid_grad, tanh_grad
from rnnkit.functional.cell import Cell, loop_mask


class GRUCache(NamedTuple):
    """One step's arrays (or a whole sequence's, with a leading T axis)."""

    h_prev: np.ndarray  # (B, H)
    gates: np.ndarray   # (B, 3H) activated r, z, n
    hn: np.ndarray      # (B, H) h_{t−1} W_hnᵀ + b_hn (reset-after) or r ⊙ h_{t−1} (reset-before)


def gru_step_forward(xw, state, w_hh, b_hh, out=None, reset_after=True):
    """One step. xw (B, 3H); state = (h_{t−1},) -> ((h_t,), cache).

    ``out``: optional ((h,), GRUCache) arrays to write into; its h_prev must
    be the state and its gates may be xw itself (then overwritten).
    """
    (h_prev,) = state
    if out is None:
        out = ((np.empty_like(h_prev),), GRUCache(h_prev, np.empty_like(xw), np.empty_like(h_prev)))
    (h,), (_, gates, hn) = out
    if not np.may_share_memory(gates, xw):
        np.copyto(gates, xw)
    if reset_after:
        pointwise = kernel("gru_forward", gates) or gru_pointwise_forward
        pointwise(gates, h_prev @ w_hh.T, b_hh, h_prev, hn, h)
    else:
        _reset_before_forward(gates, h_prev, w_hh, b_hh, hn, h)
    return (h,), out[1]


def gru_pointwise_forward(gates, hw, b_hh, h_prev, hn, h):
    """The element-wise part of a reset-after step, in place: gates holds xw and becomes r, z, n;
    writes hn and h. (The reference for the compiled ``rnnkit._fast`` kernel.)"""
    H = h.shape[-1]
    rz, n = gates[..., :2 * H], gates[..., 2 * H:]
    rz += hw[..., :2 * H]
    rz += b_hh[:2 * H]
    sigmoid(rz, out=rz)
    np.add(hw[..., 2 * H:], b_hh[2 * H:], out=hn)
    np.multiply(rz[..., :H], hn, out=h)                     # h holds r ⊙ hn for a moment
    n += h
    np.tanh(n, out=n)
    _update(h, rz[..., H:], h_prev, n)


def _reset_before_forward(gates, h_prev, w_hh, b_hh, hn, h):
    """The textbook step: the reset gate scales h_{t−1} before W_hn multiplies it."""
    H = h.shape[-1]
    rz, n = gates[..., :2 * H], gates[..., 2 * H:]
    rz += h_prev @ w_hh[:2 * H].T
    rz += b_hh[:2 * H]
    sigmoid(rz, out=rz)
    np.multiply(rz[..., :H], h_prev, out=hn)                # r ⊙ h_{t−1}
    np.matmul(hn, w_hh[2 * H:].T, out=h)
    h += b_hh[2 * H:]
    n += h
    np.tanh(n, out=n)
    _update(h, rz[..., H:], h_prev, n)


def _update(h, z, h_prev, n):
    """h = (1−z) n + z h_{t−1}, computed as n + z (h_{t−1} − n)."""
    np.subtract(h_prev, n, out=h)
    h *= z
    h += n


def gru_step_backward(dstate, cache, w_hh, out=None, reset_after=True):
    """Backward of one step: (dh_t,) -> (dxw, (dh_{t−1},)); ``out``: optional (dxw, (dh_prev,))."""
    (dh,) = dstate
    da, (dh_prev,) = out if out is not None else (np.empty_like(cache.gates), (np.empty_like(dh),))
    if reset_after:
        dhw = np.empty_like(da)                             # ∂L/∂hw: hn's block was scaled by r
        pointwise = kernel("gru_backward", da) or gru_pointwise_backward
        pointwise(dh, cache.h_prev, cache.gates, cache.hn, da, dhw, dh_prev)
        dh_prev += dhw @ w_hh
    else:
        _reset_before_backward(dh, cache, w_hh, da, dh_prev)
    return da, (dh_prev,)


def gru_pointwise_backward(dh, h_prev, gates, hn, da, dhw, dh_prev):
    """The element-wise part of a reset-after step's backward: writes da, dhw and the direct
    path dh_prev = z ⊙ dh. (The reference for the compiled ``rnnkit._fast`` kernel.)"""
    H = dh.shape[-1]
    _update_grads(dh, h_prev, gates, da, dh_prev)
    np.multiply(da[..., 2 * H:], hn, out=da[..., :H])       # n = tanh(x_n + r ⊙ hn)
    da[..., :2 * H] *= sigmoid_grad(gates[..., :2 * H])     # through σ of r and z
    np.copyto(dhw, da)
    dhw[..., 2 * H:] *= gates[..., :H]


def _reset_before_backward(dh, cache, w_hh, da, dh_prev):
    """The textbook step's backward, through n = tanh(x_n + (r ⊙ h_{t−1}) W_hnᵀ + b_hn)."""
    h_prev, gates, _ = cache
    H = dh.shape[-1]
    _update_grads(dh, h_prev, gates, da, dh_prev)
    drh = da[..., 2 * H:] @ w_hh[2 * H:]                    # gradient of r ⊙ h_{t−1}
    np.multiply(drh, h_prev, out=da[..., :H])
    da[..., :2 * H] *= sigmoid_grad(gates[..., :2 * H])
    drh *= gates[..., :H]
    dh_prev += drh
    dh_prev += da[..., :2 * H] @ w_hh[:2 * H]


def _update_grads(dh, h_prev, gates, da, dh_prev):
    """Through h = (1−z) n + z h_{t−1}: da's n block gets ∂L/∂a_n (through tanh), its z block
    ∂L/∂z (before σ'), and dh_prev the direct path z ⊙ dh."""
    H = dh.shape[-1]
    z, n = gates[..., H:2 * H], gates[..., 2 * H:]
    dz, dan = da[..., H:2 * H], da[..., 2 * H:]
    tanh_grad(n, out=dan)
    dan *= dh
    dan *= np.subtract(1, z)
    np.subtract(h_prev, n, out=dz)
    dz *= dh
    np.multiply(dh, z, out=dh_prev)


def gru_sequence_cache(xw: np.ndarray, states: tuple, scratch: np.ndarray) -> GRUCache:
    """The whole-sequence cache: xw (T, B, 3H) becomes the gates; states = (h (T+1, B, H),);
    scratch (T, B, H) holds hn."""
    (h,) = states
    return GRUCache(h[:-1], xw, scratch)


def gru_hh_grads(dxw, cache: GRUCache, db_ih, reset_after=True):
    """dW_hh, db_hh from the stacked dxw (T, B, 3H): the r, z rows as dxw ⊗ h_{t−1}; the n rows
    as (r ⊙ dan) ⊗ h_{t−1} (reset-after) or dan ⊗ (r ⊙ h_{t−1}) (reset-before)."""
    H = cache.h_prev.shape[-1]
    flat, h_prev = dxw.reshape(-1, 3 * H), cache.h_prev.reshape(-1, H)
    if reset_after:
        dn = flat[:, 2 * H:] * cache.gates.reshape(-1, 3 * H)[:, :H]
        dn_x, db_n = h_prev, dn.sum(axis=0)
    else:
        dn, dn_x, db_n = flat[:, 2 * H:], cache.hn.reshape(-1, H), db_ih[2 * H:]
    dw = np.concatenate([flat[:, :2 * H].T @ h_prev, dn.T @ dn_x])
    return dw, np.concatenate([db_ih[:2 * H], db_n])


def gru_sequence_forward(xw, states, cache: GRUCache, w_hh_t, b_hh, mask, first_padded) -> bool:
    """The reset-after GRU's whole forward loop in one compiled call (:mod:`rnnkit._fast.sequence`) when
    there is one for these arrays; False: the layer runs :func:`gru_step_forward` step by step."""
    run = sequence_kernel("gru_sequence_forward", xw)
    if run is None:
        return False
    run(xw, states[0], cache.hn, w_hh_t, b_hh, *loop_mask(mask, first_padded))
    return True


def gru_sequence_backward(dout, dstate, cache: GRUCache, w_hh, dxw, mask, first_padded):
    """The reset-after GRU's whole backward loop in one compiled call, or None (the step loop runs)."""
    run = sequence_kernel("gru_sequence_backward", dxw)
    if run is None:
        return None
    return (run(dout, dstate[0], cache.h_prev, cache.gates, cache.hn, np.ascontiguousarray(w_hh), dxw,
                *loop_mask(mask, first_padded)),)


def gru_cell(reset_after: bool = True) -> Cell:
    """The GRU cell: PyTorch's form (``reset_after=True``) or the textbook form."""
    name = "gru" if reset_after else "gru_reset_before"
    loops = (gru_sequence_forward, gru_sequence_backward) if reset_after else (None, None)
    return Cell(name, 3, 1, partial(gru_step_forward, reset_after=reset_after),
                partial(gru_step_backward, reset_after=reset_after), gru_sequence_cache,
                partial(gru_hh_grads, reset_after=reset_after), *loops)
