"""The stacked/bidirectional recurrent layers: gradients, lengths, steps, states."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import rnnkit as rk
from tests.conftest import CELLS, assert_forward_equals_steps, assert_lengths_match_running_alone, random_state

B, T, D, H = 3, 5, 3, 4
LENGTHS = [5, 2, 4]  # unsorted, with the full length and a short one


@pytest.mark.parametrize("cell,bidirectional,num_layers,with_lengths",
                         list(itertools.product(CELLS, [False, True], [1, 2], [False, True])))
def test_gradcheck_every_configuration(cell, bidirectional, num_layers, with_lengths, rng):
    layer = CELLS[cell](D, H, num_layers=num_layers, bidirectional=bidirectional, dtype="float64", seed=0)
    x = rng.standard_normal((B, T, D))
    state = random_state(layer, B, rng)
    lengths = LENGTHS if with_lengths else None
    errors = rk.gradcheck_errors(layer, x, state=state, lengths=lengths)
    assert set(errors) >= set(layer.params) | {"x"}
    assert any(k.startswith("state") for k in errors)
    assert max(errors.values()) <= 1e-6, errors


def test_gradcheck_with_dropout_between_layers(rng):
    lstm = rk.LSTM(D, H, num_layers=3, bidirectional=True, dropout=0.5, dtype="float64", seed=0)
    x = rng.standard_normal((B, T, D))
    assert rk.gradcheck(lstm, x, lengths=LENGTHS) <= 1e-6


@pytest.mark.parametrize("cell", CELLS)
def test_lengths_match_running_each_sequence_alone(cell, rng):
    layer = CELLS[cell](D, H, num_layers=2, bidirectional=True, dtype="float64", seed=1)
    assert_lengths_match_running_alone(layer, rng.standard_normal((B, T, D)), LENGTHS)


@pytest.mark.parametrize("cell", CELLS)
def test_layer_equals_a_loop_of_steps(cell, rng):
    layer = CELLS[cell](D, H, num_layers=2, dtype="float64", seed=2)
    x = rng.standard_normal((B, T, D))
    assert_forward_equals_steps(layer, x, random_state(layer, B, rng))


def test_textbook_gru_matches_the_notes_equations(rng):
    """R_t, Z_t, H̃_t = tanh(X_t W_xh + (R_t ⊙ H_{t−1}) W_hh + b_h), H_t = Z_t ⊙ H_{t−1} + (1 − Z_t) ⊙ H̃_t."""
    gru = rk.GRU(D, H, reset_after=False, dtype="float64", seed=3)
    x = rng.standard_normal((B, T, D))
    p = gru.params
    W_x = {g: p["weight_ih_l0"][k * H:(k + 1) * H].T for k, g in enumerate("rzh")}   # (D, H) as X W_x·
    W_h = {g: p["weight_hh_l0"][k * H:(k + 1) * H].T for k, g in enumerate("rzh")}
    b = {g: p["bias_ih_l0"][k * H:(k + 1) * H] + p["bias_hh_l0"][k * H:(k + 1) * H] for k, g in enumerate("rzh")}

    def sigma(a):
        return 1 / (1 + np.exp(-a))

    Hs = np.zeros((B, H))
    expected = []
    for t in range(T):
        X = x[:, t]
        R = sigma(X @ W_x["r"] + Hs @ W_h["r"] + b["r"])
        Z = sigma(X @ W_x["z"] + Hs @ W_h["z"] + b["z"])
        H_tilde = np.tanh(X @ W_x["h"] + (R * Hs) @ W_h["h"] + b["h"])
        Hs = Z * Hs + (1 - Z) * H_tilde
        expected.append(Hs)
    out, h_n = gru.forward(x)
    np.testing.assert_allclose(out, np.stack(expected, axis=1), atol=1e-12)
    np.testing.assert_allclose(h_n[0], Hs, atol=1e-12)


def test_the_two_gru_forms_differ(rng):
    x = rng.standard_normal((B, T, D))
    after, _ = rk.GRU(D, H, seed=4, dtype="float64").forward(x)
    before, _ = rk.GRU(D, H, seed=4, dtype="float64", reset_after=False).forward(x)
    assert np.abs(after - before).max() > 1e-3


def test_shapes_and_names_follow_pytorch():
    lstm = rk.LSTM(32, 64, num_layers=2, bidirectional=True, dropout=0.2, seed=0)
    x = np.random.default_rng(0).standard_normal((8, 100, 32)).astype(np.float32)
    lengths = [100, 97, 60, 100, 1, 50, 99, 100]
    out, (h_n, c_n) = lstm.forward(x, lengths=lengths)
    assert out.shape == (8, 100, 128) and out.dtype == np.float32
    assert h_n.shape == c_n.shape == (4, 8, 64)
    dx, (dh0, dc0) = lstm.backward(np.ones_like(out), dstate=(h_n, c_n))
    assert dx.shape == x.shape and dh0.shape == dc0.shape == (4, 8, 64)
    sd = lstm.state_dict()
    assert sd["weight_ih_l0"].shape == (256, 32)
    assert sd["weight_hh_l1_reverse"].shape == (256, 64)
    assert sd["weight_ih_l1"].shape == (256, 128)
    assert sd["bias_hh_l1_reverse"].shape == (256,)
    assert len(sd) == 16
    gru = rk.GRU(5, 7, num_layers=2)
    assert gru.params["weight_hh_l1"].shape == (21, 7)
    assert rk.RNN(5, 7).params["weight_ih_l0"].shape == (7, 5)


def test_load_state_dict_casts_and_round_trips():
    a = rk.GRU(3, 4, num_layers=2, seed=0, dtype="float32")
    b = rk.GRU(3, 4, num_layers=2, seed=1, dtype="float64")
    b.load_state_dict(a.state_dict())
    assert all(v.dtype == np.float64 for v in b.params.values())
    x = np.random.default_rng(0).standard_normal((2, 4, 3))
    np.testing.assert_allclose(a.forward(x)[0], b.forward(x)[0], atol=1e-6)


def test_load_state_dict_lists_every_mismatch():
    lstm = rk.LSTM(3, 4)
    sd = lstm.state_dict()
    sd.pop("bias_hh_l0")
    sd["weight_ih_l0"] = np.zeros((16, 5))
    sd["extra"] = np.zeros(1)
    with pytest.raises(ValueError) as err:
        lstm.load_state_dict(sd)
    msg = str(err.value)
    assert "missing: bias_hh_l0" in msg and "unexpected: extra" in msg
    assert "weight_ih_l0 expected (16, 3), given (16, 5)" in msg


def test_init_torch_uniform_bound():
    lstm = rk.LSTM(10, 25, seed=0)
    assert all(np.abs(v).max() <= 1 / 5 for v in lstm.params.values())
    assert all(np.abs(v).max() > 0.19 for v in lstm.params.values())


def test_init_keras():
    lstm = rk.LSTM(10, 8, init="keras", seed=0, dtype="float64")
    w_hh = lstm.params["weight_hh_l0"]
    np.testing.assert_allclose(w_hh.T @ w_hh, np.eye(8), atol=1e-12)  # orthonormal columns
    b = lstm.params["bias_ih_l0"]
    np.testing.assert_array_equal(b[8:16], 1.0)
    assert not b[:8].any() and not b[16:].any() and not lstm.params["bias_hh_l0"].any()
    limit = np.sqrt(6 / (10 + 32))
    assert np.abs(lstm.params["weight_ih_l0"]).max() <= limit
    rnn = rk.RNN(4, 6, init="keras", dtype="float64", seed=0)
    np.testing.assert_allclose(rnn.params["weight_hh_l0"] @ rnn.params["weight_hh_l0"].T, np.eye(6), atol=1e-12)


def test_seed_is_deterministic_and_dropout_only_in_training(rng):
    x = rng.standard_normal((2, 6, D))
    a = rk.LSTM(D, H, num_layers=2, dropout=0.5, seed=7)
    b = rk.LSTM(D, H, num_layers=2, dropout=0.5, seed=7)
    np.testing.assert_array_equal(a.forward(x)[0], b.forward(x)[0])
    a.eval()
    first = a.forward(x)[0]
    np.testing.assert_array_equal(first, a.forward(x)[0])
    a.train()
    assert np.abs(a.forward(x)[0] - first).max() > 0


def test_dtype_option():
    assert rk.RNN(2, 3, dtype=np.float64).forward(np.zeros((1, 2, 2)))[0].dtype == np.float64
    with pytest.raises(ValueError, match="dtype"):
        rk.RNN(2, 3, dtype="int32")


def test_gradients_accumulate_and_zero_grad(rng):
    rnn = rk.RNN(D, H, dtype="float64", seed=0)
    x = rng.standard_normal((B, T, D))
    out, _ = rnn.forward(x)
    rnn.backward(np.ones_like(out))
    once = rnn.grads["weight_hh_l0"].copy()
    out, _ = rnn.forward(x)
    rnn.backward(np.ones_like(out))
    np.testing.assert_allclose(rnn.grads["weight_hh_l0"], 2 * once)
    rnn.zero_grad()
    assert not rnn.grads["weight_hh_l0"].any()
