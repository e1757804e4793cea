"""The LSTM's variant steps (projection, peepholes, layer norm): backward against central differences, the
equations they stand for, and the variant loop against the plain one."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnkit.functional.activations import sigmoid
from rnnkit.functional.layernorm import layernorm_forward
from rnnkit.functional.lstm import LSTM_CELL
from rnnkit.functional.lstm_variants import lstm_variant_cell
from rnnkit.functional.recurrent import recurrent_backward, recurrent_forward
from tests.functional.variant_steps import B, H, P, check_step, problem

LSTM_OPTIONS = [o for o in itertools.product([False, True], repeat=3) if any(o)]


@pytest.mark.parametrize("proj,peephole,layer_norm", LSTM_OPTIONS)
def test_lstm_variant_step_backward(proj, peephole, layer_norm, rng):
    cell = lstm_variant_cell(proj, peephole, layer_norm)
    check_step(cell, rng, (P if proj else H, H), P if proj else H)


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
