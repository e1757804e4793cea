"""The GRU's variants: layer normalisation (Ba, Kiros & Hinton 2016) and variational recurrent dropout
(Gal & Ghahramani 2016, Keras' ``recurrent_dropout``), in PyTorch's reset-after form.

Legend: B batch, H hidden units; gates r, z, n stacked along the 3H axis as in
:mod:`rnnkit.functional.gru`. Each gate block of the input and of the
recurrent pre-activations is normalised on its own (:mod:`.layernorm`):

    [x_r, x_z, x_n] = LN(xw; γ_ih, β_ih)           xw = x_t W_ihᵀ (the module passes b_ih = 0)
    [u_r, u_z, u_n] = LN(h_{t−1} W_hhᵀ; γ_hh, β_hh)
    r_t = σ(x_r + u_r)    z_t = σ(x_z + u_z)    n_t = tanh(x_n + r_t ⊙ u_n)
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

β_ih + β_hh are the biases (bias_ih / bias_hh are not parameters). Extra
parameters, in order: ``ln_ih_weight``, ``ln_ih_bias``, ``ln_hh_weight``,
``ln_hh_bias`` (3H,).

Variational recurrent dropout: one mask m (B, H) per sequence on h_{t−1} where
it enters the recurrent product only; the update keeps the unmasked state, as
Keras' GRU does:

    h_{t−1} W_hhᵀ  becomes  (h_{t−1} ⊙ m) W_hhᵀ        h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

so dh_{t−1} = z_t ⊙ dh_t + (dhw W_hh) ⊙ m. Steps follow the variant-cell
protocol of :mod:`rnnkit.functional.cell`.
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from rnnkit.functional.activations import sigmoid, sigmoid_grad, tanh_grad
from rnnkit.functional.cell import Cell
from rnnkit.functional.gru import gru_pointwise_backward, gru_pointwise_forward
from rnnkit.functional.layernorm import LayerNormCache, layernorm_backward, layernorm_forward

NAMES = ("ln_ih_weight", "ln_ih_bias", "ln_hh_weight", "ln_hh_bias")


class GRULayerNormCache(NamedTuple):
    h_prev: np.ndarray         # (B, H)
    h_in: np.ndarray           # (B, H) what W_hh multiplied: h_{t−1}, or h_{t−1} ⊙ m
    gates: np.ndarray          # (B, 3H) activated r, z, n
    u_n: np.ndarray            # (B, H) the normalised recurrent n block, what r_t multiplies
    ln_x: LayerNormCache
    ln_h: LayerNormCache


def gru_layer_norm_step_forward(xw, state, w_hh, b_hh, g_ih, b_ih, g_hh, b_hh_ln, t=None, mask=None):
    """One step. xw (B, 3H); state = (h_{t−1},) -> ((h_t,), cache). (b_hh is not used: β_hh is the bias.)
    ``mask``: (B, H) variational recurrent dropout mask, or None."""
    (h_prev,) = state
    H = h_prev.shape[-1]
    h_in = h_prev if mask is None else h_prev * mask
    a_x, ln_x = layernorm_forward(xw, g_ih, b_ih, 3)
    u, ln_h = layernorm_forward(h_in @ w_hh.T, g_hh, b_hh_ln, 3)
    gates = a_x
    sigmoid(gates[:, :2 * H] + u[:, :2 * H], out=gates[:, :2 * H])          # r, z
    u_n = u[:, 2 * H:]
    np.tanh(gates[:, 2 * H:] + gates[:, :H] * u_n, out=gates[:, 2 * H:])     # n
    z, n = gates[:, H:2 * H], gates[:, 2 * H:]
    h = n + z * (h_prev - n)
    return (h,), GRULayerNormCache(h_prev, h_in, gates, u_n, ln_x, ln_h)


def gru_layer_norm_step_backward(dstate, cache: GRULayerNormCache, w_hh, g_ih, b_ih, g_hh, b_hh_ln, grads: dict,
                                 t=None, mask=None):
    """Backward of one step: (dh_t,) -> (dxw, (dh_{t−1},)); adds the step's parameter gradients into ``grads``."""
    (dh,) = dstate
    h_prev, h_in, gates, u_n, ln_x, ln_h = cache
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
    grads["w_hh"] += dhw.T @ h_in
    return dxw, (dh * z + _through_mask(dhw @ w_hh, mask),)


def _through_mask(dh_in: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The gradient of h_{t−1} from that of what W_hh multiplied (h_{t−1} ⊙ m)."""
    return dh_in if mask is None else dh_in * mask


class VariationalGRUCache(NamedTuple):
    h_prev: np.ndarray   # (B, H)
    h_in: np.ndarray     # (B, H) h_{t−1} ⊙ m
    gates: np.ndarray    # (B, 3H) activated r, z, n
    hn: np.ndarray       # (B, H) h_in W_hnᵀ + b_hn


def variational_gru_step_forward(xw, state, w_hh, b_hh, t=None, mask=None):
    """One reset-after step with (h_{t−1} ⊙ mask) in the recurrent product: ((h_t,), cache)."""
    (h_prev,) = state
    h_in = h_prev * mask
    gates, hn, h = xw.copy(), np.empty_like(h_prev), np.empty_like(h_prev)
    gru_pointwise_forward(gates, h_in @ w_hh.T, b_hh, h_prev, hn, h)    # the update takes h_prev unmasked
    return (h,), VariationalGRUCache(h_prev, h_in, gates, hn)


def variational_gru_step_backward(dstate, cache: VariationalGRUCache, w_hh, grads: dict, t=None, mask=None):
    """Backward of one step: (dh_t,) -> (dxw, (dh_{t−1},)), adding dW_hh, db_hh into ``grads``."""
    (dh,) = dstate
    da, dhw, dh_prev = np.empty_like(cache.gates), np.empty_like(cache.gates), np.empty_like(dh)
    gru_pointwise_backward(dh, cache.h_prev, cache.gates, cache.hn, da, dhw, dh_prev)   # dh_prev = z ⊙ dh
    dh_prev += _through_mask(dhw @ w_hh, mask)
    grads["w_hh"] += dhw.T @ cache.h_in
    grads["b_hh"] += dhw.sum(axis=0)
    return da, (dh_prev,)


def gru_variational_cell(cell: Cell, mask: np.ndarray) -> Cell:
    """The reset-after GRU (plain or layer-normalised ``cell``) with variational recurrent dropout ``mask`` (B, H)."""
    if cell.extra is None:
        return Cell("gru+recurrent_dropout", 3, 1, partial(variational_gru_step_forward, mask=mask),
                    partial(variational_gru_step_backward, mask=mask), None, extra=())
    return Cell(cell.name + "+recurrent_dropout", 3, 1, partial(cell.step_forward, mask=mask),
                partial(cell.step_backward, mask=mask), None, extra=cell.extra)


def gru_layer_norm_cell(reset_after: bool = True) -> Cell:
    """The layer-normalised GRU cell (reset-after form only)."""
    if not reset_after:
        raise ValueError("layer_norm: the layer-normalised GRU has PyTorch's reset-after form; "
                         "use reset_after=True")
    return Cell("gru+layer_norm", 3, 1, gru_layer_norm_step_forward, gru_layer_norm_step_backward, None,
                extra=NAMES)

