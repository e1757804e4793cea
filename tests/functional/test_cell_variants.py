"""The variant cells' steps: backward against central differences, and the equations they stand for."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnkit.functional.activations import sigmoid
from rnnkit.functional.gru import gru_cell
from rnnkit.functional.gru_variants import gru_layer_norm_cell, gru_variational_cell
from rnnkit.functional.layernorm import layernorm_forward
from rnnkit.functional.lstm import LSTM_CELL
from rnnkit.functional.lstm_variants import lstm_variant_cell
from rnnkit.functional.recurrent import recurrent_backward, recurrent_forward
from rnnkit.functional.recurrent_noise import variational_cell, zoneout_cell
from rnnkit.functional.rnn import rnn_cell
from tests.conftest import numeric_grad

B, H, P = 3, 4, 2
SHAPES = {"weight_hr": (P, H), "peephole": (3 * H,), "ln_ih_weight": (4 * H,), "ln_ih_bias": (4 * H,),
          "ln_hh_weight": (4 * H,), "ln_hh_bias": (4 * H,), "ln_c_weight": (H,), "ln_c_bias": (H,)}
LSTM_OPTIONS = [o for o in itertools.product([False, True], repeat=3) if any(o)]


def problem(cell, rng, widths, hh_width):
    G = cell.gates
    xw, w_hh, b_hh = rng.standard_normal((B, G * H)), rng.standard_normal((G * H, hh_width)) / 2, \
        rng.standard_normal(G * H)
    shapes = dict(SHAPES, ln_ih_weight=(G * H,), ln_ih_bias=(G * H,), ln_hh_weight=(G * H,), ln_hh_bias=(G * H,))
    extra = tuple(rng.standard_normal(shapes[n]) for n in cell.extra or ())
    state = tuple(rng.standard_normal((B, w)) for w in widths)
    return xw, w_hh, b_hh, extra, state


def check_step(cell, rng, widths, hh_width, t=None):
    xw, w_hh, b_hh, extra, state = problem(cell, rng, widths, hh_width)
    up = [rng.standard_normal((B, w)) for w in widths]

    def loss():
        new, _ = cell.step_forward(xw, state, w_hh, b_hh, *extra, t=t)
        return sum(float(np.sum(u * s)) for u, s in zip(up, new))

    _, cache = cell.step_forward(xw, state, w_hh, b_hh, *extra, t=t)
    grads = {"w_hh": np.zeros_like(w_hh), "b_hh": np.zeros_like(b_hh)}
    grads.update((n, np.zeros_like(e)) for n, e in zip(cell.extra, extra))
    dxw, dprev = cell.step_backward(tuple(up), cache, w_hh, *extra, grads=grads, t=t)
    pairs = [(dxw, xw), (grads["w_hh"], w_hh), (grads["b_hh"], b_hh), *zip(dprev, state),
             *((grads[n], e) for n, e in zip(cell.extra, extra))]
    for got, wrt in pairs:
        np.testing.assert_allclose(got, numeric_grad(loss, wrt, eps=1e-6), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("proj,peephole,layer_norm", LSTM_OPTIONS)
def test_lstm_variant_step_backward(proj, peephole, layer_norm, rng):
    cell = lstm_variant_cell(proj, peephole, layer_norm)
    check_step(cell, rng, (P if proj else H, H), P if proj else H)


def test_layer_norm_gru_step_backward(rng):
    check_step(gru_layer_norm_cell(), rng, (H,), H)


@pytest.mark.parametrize("layer_norm", [False, True])
def test_variational_gru_step_backward(layer_norm, rng):
    base = gru_layer_norm_cell() if layer_norm else gru_cell(True)
    check_step(gru_variational_cell(base, rng.uniform(0, 2, (B, H))), rng, (H,), H)


def test_variational_gru_masks_the_recurrent_product_only(rng):
    """Keras' GRU: (h_{t−1} ⊙ m) W_hhᵀ in the gates, the unmasked h_{t−1} in the update."""
    mask = rng.uniform(0, 2, (B, H))
    xw, w_hh, b_hh, _, (h0,) = problem(gru_cell(True), rng, (H,), H)
    (h,), _ = gru_variational_cell(gru_cell(True), mask).step_forward(xw, (h0,), w_hh, b_hh)
    a, u = xw.reshape(B, 3, H), ((h0 * mask) @ w_hh.T + b_hh).reshape(B, 3, H)
    r, z = sigmoid(a[:, 0] + u[:, 0]), sigmoid(a[:, 1] + u[:, 1])
    n = np.tanh(a[:, 2] + r * u[:, 2])
    np.testing.assert_allclose(h, (1 - z) * n + z * h0, atol=1e-14)


@pytest.mark.parametrize("base", ["lstm", "lstm_proj", "rnn"])
def test_noise_wrappers_step_backward(base, rng):
    cell = {"lstm": LSTM_CELL, "lstm_proj": lstm_variant_cell(True), "rnn": rnn_cell("tanh")}[base]
    widths = {"lstm": (H, H), "lstm_proj": (P, H), "rnn": (H,)}[base]
    mask = rng.uniform(0, 2, (B, widths[0]))
    check_step(variational_cell(cell, mask), rng, widths, widths[0])
    masks = tuple((rng.random((1, B, w)) < 0.5).astype(float) for w in widths)
    check_step(zoneout_cell(variational_cell(cell, mask), (0.5, 0.5), masks), rng, widths, widths[0], t=0)
    check_step(zoneout_cell(cell, (0.3, 0.6)[:len(widths)], None), rng, widths, widths[0])


def test_peephole_step_is_onnx_s_lstm_equations(rng):
    """i = σ(a_i + P_i ⊙ c_{t−1}), f = σ(a_f + P_f ⊙ c_{t−1}), c = f c_{t−1} + i g, o = σ(a_o + P_o ⊙ c_t)."""
    cell = lstm_variant_cell(peephole=True)
    xw, w_hh, b_hh, (p,), (h0, c0) = problem(cell, rng, (H, H), H)
    (h, c), _ = cell.step_forward(xw, (h0, c0), w_hh, b_hh, p)
    a = (xw + h0 @ w_hh.T + b_hh).reshape(B, 4, H)
    p_i, p_f, p_o = p.reshape(3, H)
    i, f = sigmoid(a[:, 0] + p_i * c0), sigmoid(a[:, 1] + p_f * c0)
    c_want = f * c0 + i * np.tanh(a[:, 2])
    np.testing.assert_allclose(c, c_want, atol=1e-14)
    np.testing.assert_allclose(h, sigmoid(a[:, 3] + p_o * c_want) * np.tanh(c_want), atol=1e-14)


def test_layer_norm_lstm_step_is_ba_et_al(rng):
    cell = lstm_variant_cell(layer_norm=True)
    xw, w_hh, b_hh, extra, (h0, c0) = problem(cell, rng, (H, H), H)
    g_ih, b_ih, g_hh, b_hh_ln, g_c, b_c = extra
    (h, c), _ = cell.step_forward(xw, (h0, c0), w_hh, b_hh, *extra)
    a = layernorm_forward(xw, g_ih, b_ih, 4)[0] + layernorm_forward(h0 @ w_hh.T, g_hh, b_hh_ln, 4)[0]
    a = a.reshape(B, 4, H)
    c_want = sigmoid(a[:, 1]) * c0 + sigmoid(a[:, 0]) * np.tanh(a[:, 2])
    np.testing.assert_allclose(c, c_want, atol=1e-14)
    np.testing.assert_allclose(h, sigmoid(a[:, 3]) * np.tanh(layernorm_forward(c_want, g_c, b_c, 1)[0]), atol=1e-14)


def test_variant_with_every_option_off_is_the_plain_lstm_through_the_layer(rng):
    """The variant loop (allocating steps, per-step gradient sums) equals the plain loop, lengths and reversal."""
    T, D = 5, 3
    x, s0 = rng.standard_normal((T, B, D)), (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    w = (rng.standard_normal((4 * H, D)), rng.standard_normal((4 * H, H)) / 2, rng.standard_normal(4 * H),
         rng.standard_normal(4 * H))
    lengths, dout = np.array([5, 2, 4]), rng.standard_normal((T, B, H))
    ds = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    runs = []
    for cell in (LSTM_CELL, lstm_variant_cell()):
        out, (h, c), cache = recurrent_forward(cell, x, s0, *w, lengths=lengths, reverse=True)
        out, h, c = out.copy(), h.copy(), c.copy()
        dx, (dh0, dc0), grads = recurrent_backward(dout, ds, cache)
        runs.append({"out": out, "h": h, "c": c, "dx": dx.copy(), "dh0": dh0, "dc0": dc0, **grads})
    plain, variant = runs
    assert plain.keys() == variant.keys()
    for k in plain:
        np.testing.assert_allclose(variant[k], plain[k], atol=1e-12, err_msg=k)
