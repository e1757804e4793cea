"""The LSTM's variants: projections, peepholes and layer normalisation, alone or together.

Legend: B batch, D input features, H hidden (cell) units, P projection size
(P = H without a projection); gates i, f, g, o stacked in PyTorch's order
along the 4H axis, as in :mod:`rnnkit.functional.lstm`. xw = x_t W_ihᵀ + b_ih.

    a = xw + h_{t−1} W_hhᵀ + b_hh                                   plain (W_hh (4H, P))
    a = LN(xw; γ_ih, β_ih) + LN(h_{t−1} W_hhᵀ; γ_hh, β_hh)          layer norm: each gate block
                                                                    normalised alone (Ba et al. 2016)
    i_t = σ(a_i + p_i ⊙ c_{t−1})   f_t = σ(a_f + p_f ⊙ c_{t−1})     peepholes p_i, p_f (Gers & Schmidhuber
    g_t = tanh(a_g)                                                 2000; ONNX's LSTM input P)
    c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t
    o_t = σ(a_o + p_o ⊙ c_t)                                        peephole p_o sees the new c_t
    m_t = o_t ⊙ tanh(c_t)          m_t = o_t ⊙ tanh(LN(c_t; γ_c, β_c))   (layer norm)
    h_t = m_t W_hrᵀ                                                 projection W_hr (P, H) (Sak et al. 2014,
                                                                    ``torch.nn.LSTM(proj_size=P)``)

Without an option its terms drop out (p = 0, LN = identity, W_hr = I). The
layer-normalised cell takes the biases from β_ih + β_hh: the layer over time
gives it xw without b_ih (the module passes zeros) and it ignores b_hh.

Extra parameters, in this order, by the names the cell's ``extra`` lists:
``weight_hr`` (P, H); ``peephole`` (3H,) as [p_i, p_f, p_o]; ``ln_ih_weight``,
``ln_ih_bias`` (4H,), ``ln_hh_weight``, ``ln_hh_bias`` (4H,), ``ln_c_weight``,
``ln_c_bias`` (H,). Steps follow the variant-cell protocol of
:mod:`rnnkit.functional.cell` (allocating, one step at a time; the compiled
whole-sequence loops are only for the plain cell). A projection alone keeps
the plain cell's element-wise step (``lstm_pointwise_*``, compiled for float32
with rnnkit[fast]); peepholes and layer norm have their own NumPy step.
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from rnnkit._fast import kernel
from rnnkit.functional.activations import sigmoid, sigmoid_grad, squash, tanh_grad
from rnnkit.functional.cell import Cell
from rnnkit.functional.layernorm import layernorm_backward, layernorm_forward
from rnnkit.functional.lstm import SCALE, SHIFT, lstm_pointwise_backward, lstm_pointwise_forward, split_gates

LAYER_NORM = ("ln_ih_weight", "ln_ih_bias", "ln_hh_weight", "ln_hh_bias", "ln_c_weight", "ln_c_bias")


class LSTMVariantCache(NamedTuple):
    h_prev: np.ndarray             # (B, P)
    c_prev: np.ndarray             # (B, H)
    gates: np.ndarray              # (B, 4H) activated i, f, g, o
    c: np.ndarray                  # (B, H)
    tanh_c: np.ndarray             # (B, H) tanh(c_t), or tanh(LN(c_t))
    m: np.ndarray                  # (B, H) o ⊙ tanh_c, what W_hr projects
    ln: tuple | None               # the LayerNormCaches of xw, of h W_hhᵀ and of c_t; None without layer norm


def extra_names(proj: bool, peephole: bool, layer_norm: bool) -> tuple[str, ...]:
    """The cell's extra parameters, in the order its steps take them."""
    return ("weight_hr",) * proj + ("peephole",) * peephole + LAYER_NORM * layer_norm


def lstm_variant_step_forward(xw, state, w_hh, b_hh, *extra, names: tuple, t=None):
    """One step. xw (B, 4H); state = (h_{t−1} (B, P), c_{t−1} (B, H)) -> ((h_t, c_t), cache)."""
    p = dict(zip(names, extra))
    h_prev, c_prev = state
    if "peephole" in p or "ln_ih_weight" in p:
        gates, c, tanh_c, m, ln = _gated_forward(xw, h_prev, c_prev, w_hh, b_hh, p)
    else:  # a projection alone: the plain cell's element-wise step (compiled for float32 with rnnkit[fast])
        gates, c, tanh_c, m, ln = xw.copy(), np.empty_like(c_prev), np.empty_like(c_prev), np.empty_like(c_prev), None
        (kernel("lstm_forward", gates) or lstm_pointwise_forward)(gates, h_prev @ w_hh.T, b_hh, c_prev, c, tanh_c, m)
    h = m @ p["weight_hr"].T if "weight_hr" in p else m
    return (h, c), LSTMVariantCache(h_prev, c_prev, gates, c, tanh_c, m, ln)


def _gated_forward(xw, h_prev, c_prev, w_hh, b_hh, p: dict):
    """The gates with peepholes and/or layer norm: (gates, c_t, tanh_c, m_t, layer-norm caches or None)."""
    H = c_prev.shape[-1]
    ln = None
    if "ln_ih_weight" in p:
        a_x, ln_x = layernorm_forward(xw, p["ln_ih_weight"], p["ln_ih_bias"], 4)
        a_h, ln_h = layernorm_forward(h_prev @ w_hh.T, p["ln_hh_weight"], p["ln_hh_bias"], 4)
        a = a_x + a_h
    else:
        a = xw + h_prev @ w_hh.T + b_hh
    y = split_gates(a)                                           # (B, 4, H) view of a
    if "peephole" in p:
        y[:, :2] += p["peephole"][:2 * H].reshape(2, H) * c_prev[:, None]
    squash(y[:, :3], SCALE[:3], SHIFT[:3])                       # i, f = σ; g = tanh
    i, f, g = y[:, 0], y[:, 1], y[:, 2]
    c = f * c_prev + i * g
    if "peephole" in p:
        y[:, 3] += p["peephole"][2 * H:] * c
    sigmoid(y[:, 3], out=y[:, 3])                                # o sees c_t through its peephole
    c_out = c
    if "ln_c_weight" in p:
        c_out, ln_c = layernorm_forward(c, p["ln_c_weight"], p["ln_c_bias"], 1)
        ln = (ln_x, ln_h, ln_c)
    tanh_c = np.tanh(c_out)
    return a, c, tanh_c, y[:, 3] * tanh_c, ln


def lstm_variant_step_backward(dstate, cache: LSTMVariantCache, w_hh, *extra, names: tuple, grads: dict, t=None):
    """Backward of one step: (dh_t, dc_t) -> (dxw, (dh_{t−1}, dc_{t−1})); adds this step's share of every
    recurrent parameter's gradient into ``grads`` (keys w_hh, b_hh and the extra names)."""
    p = dict(zip(names, extra))
    dh, dc_next = dstate
    dm = dh
    if "weight_hr" in p:                                         # h = m W_hrᵀ
        grads["weight_hr"] += dh.T @ cache.m
        dm = dh @ p["weight_hr"]
    if "peephole" in p or cache.ln is not None:
        dxw, dhw, dc_prev = _gated_backward(dm, dc_next, cache, p, grads)
    else:
        da, dc_prev = np.empty_like(cache.gates), np.empty_like(cache.c)
        (kernel("lstm_backward", da) or lstm_pointwise_backward)(dm, dc_next, cache.c_prev, cache.gates,
                                                                 cache.tanh_c, da, dc_prev)
        dxw = dhw = da
    if cache.ln is None:
        grads["b_hh"] += dhw.sum(axis=0)
    grads["w_hh"] += dhw.T @ cache.h_prev
    return dxw, (dhw @ w_hh, dc_prev)


def _gated_backward(dm, dc_next, cache: LSTMVariantCache, p: dict, grads: dict):
    """Backward of :func:`_gated_forward` from dm_t and dc_t: (dxw, dhw, dc_{t−1}), where dhw is the
    gradient of h_{t−1} W_hhᵀ; adds the peephole and layer-norm gradients into ``grads``."""
    _, c_prev, gates, c, tanh_c, _, ln = cache
    H = c.shape[-1]
    y = split_gates(gates)
    i, f, g, o = y[:, 0], y[:, 1], y[:, 2], y[:, 3]
    da = np.empty_like(gates)
    dy = split_gates(da)
    # m = o ⊙ tanh(c or LN(c)): back to o and to c_t
    np.multiply(dm, tanh_c, out=dy[:, 3])
    dy[:, 3] *= sigmoid_grad(o)                                  # da_o
    dc_out = dm * o * tanh_grad(tanh_c)
    if ln is not None:
        dc_out, dg, db = layernorm_backward(dc_out, ln[2], p["ln_c_weight"])
        grads["ln_c_weight"] += dg
        grads["ln_c_bias"] += db
    dc = dc_next + dc_out
    if "peephole" in p:                                          # a_o had p_o ⊙ c_t
        dc += dy[:, 3] * p["peephole"][2 * H:]
        grads["peephole"][2 * H:] += (dy[:, 3] * c).sum(axis=0)
    # c = f ⊙ c_prev + i ⊙ g
    np.multiply(dc, g, out=dy[:, 0])
    np.multiply(dc, c_prev, out=dy[:, 1])
    np.multiply(dc, i, out=dy[:, 2])
    dy[:, :2] *= sigmoid_grad(y[:, :2])
    dy[:, 2] *= tanh_grad(g)
    dc_prev = dc * f
    if "peephole" in p:                                          # a_i, a_f had p ⊙ c_prev
        dc_prev += (dy[:, :2] * p["peephole"][:2 * H].reshape(2, H)).sum(axis=1)
        grads["peephole"][:2 * H] += (dy[:, :2] * c_prev[:, None]).sum(axis=0).reshape(-1)
    if ln is None:
        return da, da, dc_prev
    dxw, dg, db = layernorm_backward(da, ln[0], p["ln_ih_weight"])
    grads["ln_ih_weight"] += dg
    grads["ln_ih_bias"] += db
    dhw, dg, db = layernorm_backward(da, ln[1], p["ln_hh_weight"])
    grads["ln_hh_weight"] += dg
    grads["ln_hh_bias"] += db
    return dxw, dhw, dc_prev


def lstm_variant_cell(proj: bool = False, peephole: bool = False, layer_norm: bool = False) -> Cell:
    """The LSTM cell with the chosen variants (see the module docstring)."""
    names = extra_names(proj, peephole, layer_norm)
    label = "+".join(["lstm"] + [n for n, on in (("proj", proj), ("peephole", peephole),
                                                 ("layer_norm", layer_norm)) if on])
    return Cell(label, 4, 2, partial(lstm_variant_step_forward, names=names),
                partial(lstm_variant_step_backward, names=names), None, None, extra=names)

