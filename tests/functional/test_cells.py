"""Each cell's step_backward against central differences of its step_forward (float64)."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.functional.cell import step_of
from rnnkit.functional.gru import gru_cell
from rnnkit.functional.lstm import LSTM_CELL
from rnnkit.functional.rnn import rnn_cell
from tests.conftest import numeric_grad

CELLS = {"rnn_tanh": rnn_cell("tanh"), "rnn_relu": rnn_cell("relu"), "lstm": LSTM_CELL,
         "gru": gru_cell(True), "gru_reset_before": gru_cell(False)}
B, H = 3, 4


@pytest.mark.parametrize("name", CELLS)
def test_step_backward_matches_finite_differences(name):
    cell = CELLS[name]
    rng = np.random.default_rng(0)
    G = cell.gates
    xw, w_hh, b_hh = rng.standard_normal((B, G * H)), rng.standard_normal((G * H, H)) / 2, rng.standard_normal(G * H)
    state = tuple(rng.standard_normal((B, H)) for _ in range(cell.n_states))
    up = [rng.standard_normal((B, H)) for _ in range(cell.n_states)]

    def loss():
        new, _ = cell.step_forward(xw, state, w_hh, b_hh)
        return sum(float(np.sum(u * s)) for u, s in zip(up, new))

    _, cache = cell.step_forward(xw, state, w_hh, b_hh)
    dxw, dprev = cell.step_backward(tuple(up), cache, w_hh)
    np.testing.assert_allclose(dxw, numeric_grad(loss, xw, eps=1e-5), rtol=1e-6, atol=1e-8)
    one_step = type(cache)(*(a[None] for a in cache))  # a sequence cache of length 1
    dw_hh, db_hh = cell.hh_grads(dxw[None], one_step, dxw.sum(axis=0))
    np.testing.assert_allclose(db_hh, numeric_grad(loss, b_hh, eps=1e-5), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dw_hh, numeric_grad(loss, w_hh, eps=1e-5), rtol=1e-6, atol=1e-8)
    for s, ds in zip(state, dprev, strict=True):
        np.testing.assert_allclose(ds, numeric_grad(loss, s, eps=1e-5), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", CELLS)
def test_steps_into_buffers_equal_fresh_steps(name):
    """With ``out=`` (the layer's way: the gates written over xw) a step gives the same arrays."""
    cell = CELLS[name]
    rng = np.random.default_rng(1)
    G = cell.gates
    xw, w_hh, b_hh = rng.standard_normal((B, G * H)), rng.standard_normal((G * H, H)), rng.standard_normal(G * H)
    state = tuple(rng.standard_normal((B, H)) for _ in range(cell.n_states))
    up = tuple(rng.standard_normal((B, H)) for _ in range(cell.n_states))
    new, cache = cell.step_forward(xw, state, w_hh, b_hh)
    dxw, dprev = cell.step_backward(up, cache, w_hh)

    states = tuple(np.stack([s, np.full_like(s, np.nan)]) for s in state)  # (T+1, B, H), T = 1
    xw_buf = xw[None].copy()
    steps = cell.sequence_cache(xw_buf, states, np.full((1, B, H), np.nan))
    out = (tuple(s[1] for s in states), step_of(steps, 0))
    new_b, cache_b = cell.step_forward(xw_buf[0], state, w_hh, b_hh, out=out)
    out_b = (np.full_like(dxw, np.nan), tuple(np.full_like(d, np.nan) for d in dprev))
    dxw_b, dprev_b = cell.step_backward(up, cache_b, w_hh, out=out_b)
    for got, want in zip((*new_b, *cache_b, dxw_b, *dprev_b), (*new, *cache, dxw, *dprev), strict=True):
        np.testing.assert_array_equal(got, want)
    assert dxw_b is out_b[0] and all(o is n for o, n in zip(out[0], new_b, strict=True))


def test_lstm_gate_order_is_i_f_g_o():
    """With all pre-activations zero but one gate block, only that gate moves."""
    H1 = 1
    w_hh, b_hh = np.zeros((4, H1)), np.zeros(4)
    c_prev = np.ones((1, H1))
    big = 50.0
    # forget gate saturated open, input gate shut: c_t = c_{t-1}
    xw = np.array([[-big, big, 0.0, big]])
    (h, c), _ = LSTM_CELL.step_forward(xw, (np.zeros((1, H1)), c_prev), w_hh, b_hh)
    np.testing.assert_allclose(c, c_prev)
    np.testing.assert_allclose(h, np.tanh(1.0))
    # input gate open, forget gate shut, candidate g = tanh(big) = 1
    xw = np.array([[big, -big, big, big]])
    (_, c), _ = LSTM_CELL.step_forward(xw, (np.zeros((1, H1)), c_prev), w_hh, b_hh)
    np.testing.assert_allclose(c, 1.0)
