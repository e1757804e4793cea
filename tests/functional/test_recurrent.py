"""The layer over time: reversal within lengths, masking, and BPTT."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.functional.gru import gru_cell
from rnnkit.functional.lstm import LSTM_CELL
from rnnkit.functional.recurrent import recurrent_backward, recurrent_forward, reversal_index
from rnnkit.functional.rnn import rnn_cell

CELLS = {"rnn_tanh": rnn_cell("tanh"), "rnn_relu": rnn_cell("relu"), "lstm": LSTM_CELL,
         "gru": gru_cell(True), "gru_reset_before": gru_cell(False)}


def test_reversal_index_reverses_within_each_length_and_is_an_involution():
    idx = reversal_index(np.array([3, 1, 4]), 4, 3)
    np.testing.assert_array_equal(idx, [[2, 0, 3], [1, 1, 2], [0, 2, 1], [3, 3, 0]])
    np.testing.assert_array_equal(idx[idx, np.arange(3)], np.broadcast_to(np.arange(4)[:, None], (4, 3)))


def _weights(rng, D, H):
    return (rng.standard_normal((4 * H, D)) / 2, rng.standard_normal((4 * H, H)) / 2,
            rng.standard_normal(4 * H) / 2, rng.standard_normal(4 * H) / 2)


def test_reverse_without_lengths_is_forward_on_flipped_time():
    rng = np.random.default_rng(0)
    T, B, D, H = 6, 2, 3, 4
    x, w = rng.standard_normal((T, B, D)), _weights(rng, D, H)
    s0 = (np.zeros((B, H)), np.zeros((B, H)))
    out_r, fin_r, _ = recurrent_forward(LSTM_CELL, x, s0, *w, reverse=True)
    out_f, fin_f, _ = recurrent_forward(LSTM_CELL, x[::-1], s0, *w)
    np.testing.assert_allclose(out_r, out_f[::-1], atol=1e-12)
    np.testing.assert_allclose(fin_r[1], fin_f[1], atol=1e-12)


def test_padded_steps_get_no_gradient_and_pass_the_state_gradient_through():
    rng = np.random.default_rng(1)
    T, B, D, H = 5, 2, 3, 4
    x, w = rng.standard_normal((T, B, D)), _weights(rng, D, H)
    s0 = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    lengths = np.array([5, 2])
    out, fin, cache = recurrent_forward(LSTM_CELL, x, s0, *w, lengths=lengths)
    assert not out[2:, 1].any()
    dout = rng.standard_normal(out.shape)
    dfin = (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
    dx, ds0, _ = recurrent_backward(dout, dfin, cache)
    assert not dx[2:, 1].any()
    # the short sequence alone, with its final-state gradient, gives the same input gradients
    out1, _, cache1 = recurrent_forward(LSTM_CELL, x[:2, 1:], tuple(s[1:] for s in s0), *w)
    dx1, ds1, _ = recurrent_backward(dout[:2, 1:], tuple(d[1:] for d in dfin), cache1)
    np.testing.assert_allclose(dx[:2, 1:], dx1, atol=1e-12)
    np.testing.assert_allclose(ds0[1][1:], ds1[1], atol=1e-12)


@pytest.mark.parametrize("name", CELLS)
def test_a_reused_workspace_gives_the_results_of_fresh_buffers(name):
    """Two calls through one workspace (its arrays reused, not re-zeroed) equal calls without one."""
    cell, rng, ws = CELLS[name], np.random.default_rng(2), {}
    T, B, D, H = 5, 3, 2, 4
    G = cell.gates
    w = (rng.standard_normal((G * H, D)), rng.standard_normal((G * H, H)) / 2,
         rng.standard_normal(G * H), rng.standard_normal(G * H))
    for lengths, reverse in [(None, False), (np.array([5, 2, 4]), True)]:
        x, dout = rng.standard_normal((T, B, D)), rng.standard_normal((T, B, H))
        s0 = tuple(rng.standard_normal((B, H)) for _ in range(cell.n_states))
        ds = tuple(rng.standard_normal((B, H)) for _ in range(cell.n_states))
        runs = []
        for workspace in (None, ws):
            out, fin, cache = recurrent_forward(cell, x, s0, *w, lengths=lengths, reverse=reverse, workspace=workspace)
            runs.append((out.copy(), *fin, *recurrent_backward(dout, ds, cache)[:2]))
        for got, want in zip(runs[1], runs[0], strict=True):
            np.testing.assert_array_equal(np.concatenate(got) if isinstance(got, tuple) else got,
                                          np.concatenate(want) if isinstance(want, tuple) else want)
    assert {"xw", "dxw", "state0", "scratch", "dx"} <= set(ws)


def test_outputs_that_view_the_cache_are_read_only():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((4, 2, 3)), _weights(rng, 3, 5)
    out, (h, c), _ = recurrent_forward(LSTM_CELL, x, (np.zeros((2, 5)), np.zeros((2, 5))), *w)
    for a in (out, h, c):
        with pytest.raises(ValueError, match="read-only"):
            a += 1
