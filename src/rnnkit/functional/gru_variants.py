"""The layer-normalised GRU (Ba, Kiros & Hinton 2016), in PyTorch's reset-after form.

Legend: B batch, H hidden units; gates r, z, n stacked along the 3H axis as in
:mod:`rnnkit.functional.gru`. Each gate block of the input and of the
recurrent pre-activations is normalised on its own (:mod:`.layernorm`):

    [x_r, x_z, x_n] = LN(xw; γ_ih, β_ih)           xw = x_t W_ihᵀ (the module passes b_ih = 0)
    [u_r, u_z, u_n] = LN(h_{t−1} W_hhᵀ; γ_hh, β_hh)
    r_t = σ(x_r + u_r)    z_t = σ(x_z + u_z)    n_t = tanh(x_n + r_t ⊙ u_n)
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

β_ih + β_hh are the biases (bias_ih / bias_hh are not parameters). Extra
parameters, in order: ``ln_ih_weight``, ``ln_ih_bias``, ``ln_hh_weight``,
``ln_hh_bias`` (3H,). Steps follow the variant-cell protocol of
:mod:`rnnkit.functional.cell`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.functional.activations import sigmoid, sigmoid_grad, tanh_grad
from rnnkit.functional.cell import Cell
from rnnkit.functional.layernorm import LayerNormCache, layernorm_backward, layernorm_forward

NAMES = ("ln_ih_weight", "ln_ih_bias", "ln_hh_weight", "ln_hh_bias")


class GRULayerNormCache(NamedTuple):
    h_prev: np.ndarray         # (B, H)
    gates: np.ndarray          # (B, 3H) activated r, z, n
    u_n: np.ndarray            # (B, H) the normalised recurrent n block, what r_t multiplies
    ln_x: LayerNormCache
    ln_h: LayerNormCache


def gru_layer_norm_step_forward(xw, state, w_hh, b_hh, g_ih, b_ih, g_hh, b_hh_ln, t=None):
    """One step. xw (B, 3H); state = (h_{t−1},) -> ((h_t,), cache). (b_hh is not used: β_hh is the bias.)"""
    (h_prev,) = state
    H = h_prev.shape[-1]
    a_x, ln_x = layernorm_forward(xw, g_ih, b_ih, 3)
    u, ln_h = layernorm_forward(h_prev @ w_hh.T, g_hh, b_hh_ln, 3)
    gates = a_x
    sigmoid(gates[:, :2 * H] + u[:, :2 * H], out=gates[:, :2 * H])          # r, z
    u_n = u[:, 2 * H:]
    np.tanh(gates[:, 2 * H:] + gates[:, :H] * u_n, out=gates[:, 2 * H:])     # n
    z, n = gates[:, H:2 * H], gates[:, 2 * H:]
    h = n + z * (h_prev - n)
    return (h,), GRULayerNormCache(h_prev, gates, u_n, ln_x, ln_h)


def gru_layer_norm_step_backward(dstate, cache: GRULayerNormCache, w_hh, g_ih, b_ih, g_hh, b_hh_ln, grads: dict,
                                 t=None):
    """Backward of one step: (dh_t,) -> (dxw, (dh_{t−1},)); adds the step's parameter gradients into ``grads``."""
    (dh,) = dstate
    h_prev, gates, u_n, ln_x, ln_h = cache
    H = dh.shape[-1]
    r, z, n = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
    dx = np.empty_like(gates)                       # ∂L/∂ of the normalised input blocks
    # h = (1 − z) n + z h_prev
    np.multiply(dh * (1 - z), tanh_grad(n), out=dx[:, 2 * H:])               # through n = tanh(...)
    np.multiply(dh * (h_prev - n), sigmoid_grad(z), out=dx[:, H:2 * H])
    np.multiply(dx[:, 2 * H:] * u_n, sigmoid_grad(r), out=dx[:, :H])         # n had r ⊙ u_n
    du = dx.copy()
    du[:, 2 * H:] *= r
    dxw, dg, db = layernorm_backward(dx, ln_x, g_ih)
    grads["ln_ih_weight"] += dg
    grads["ln_ih_bias"] += db
    dhw, dg, db = layernorm_backward(du, ln_h, g_hh)
    grads["ln_hh_weight"] += dg
    grads["ln_hh_bias"] += db
    grads["w_hh"] += dhw.T @ h_prev
    return dxw, (dh * z + dhw @ w_hh,)


def gru_layer_norm_cell(reset_after: bool = True) -> Cell:
    """The layer-normalised GRU cell (reset-after form only)."""
    if not reset_after:
        raise ValueError("layer_norm: the layer-normalised GRU has PyTorch's reset-after form; "
                         "use reset_after=True")
    return Cell("gru+layer_norm", 3, 1, gru_layer_norm_step_forward, gru_layer_norm_step_backward, None,
                extra=NAMES)

