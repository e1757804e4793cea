"""Keras 3 interop: weights recorded with Keras give Keras' outputs in rnnkit (both GRU forms, SimpleRNN,
bidirectional stacks), the export is the exact inverse, and malformed weight lists are refused."""
from __future__ import annotations

import numpy as np
import pytest

import rnnkit as rk
from rnnkit.interop import InteropError, recurrent_from_keras, to_keras_weights
from tests.interop.conftest import FIXTURES, records

KERAS = FIXTURES / "keras.npz"
CASES = {  # case -> (class, reset_after, layers, bidirectional)
    "lstm": (rk.LSTM, None, 1, False),
    "gru_reset_after": (rk.GRU, True, 1, False),
    "gru_reset_before": (rk.GRU, False, 1, False),
    "simple_rnn": (rk.RNN, None, 1, False),
    "simple_rnn_relu": (rk.RNN, None, 1, False),
    "lstm_bidir_stack": (rk.LSTM, None, 2, True),
    "gru_bidir_before": (rk.GRU, False, 1, True),
}


def keras_weights(rec: dict) -> list[list[np.ndarray]]:
    """``[layer.get_weights() for each recurrent layer]`` from ``weights.<layer>.<j>`` keys."""
    layers: dict[int, dict[int, np.ndarray]] = {}
    for key, value in rec.items():
        if key.startswith("weights."):
            _, layer, j = key.split(".")
            layers.setdefault(int(layer), {})[int(j)] = value
    return [[arrays[j] for j in sorted(arrays)] for _, arrays in sorted(layers.items())]


@pytest.mark.parametrize("case", CASES)
def test_keras_layers_give_keras_outputs(case):
    cls, reset_after, layers, bidirectional = CASES[case]
    rec = records(KERAS, case)
    weights = keras_weights(rec)
    model = cls.from_keras_weights(weights if layers > 1 else weights[0],
                                   nonlinearity="relu" if case.endswith("relu") else "tanh")
    assert type(model) is cls and (model.num_layers, model.bidirectional) == (layers, bidirectional)
    if reset_after is not None:
        assert model.reset_after is reset_after
    out, state = model.forward(rec["x"])
    assert np.max(np.abs(out - rec["out"])) < 1e-5
    h, c = state if isinstance(state, tuple) else (state, None)
    if "h_n" in rec:
        assert np.max(np.abs(h[-1] - rec["h_n"])) < 1e-5
    if "c_n" in rec:
        assert np.max(np.abs(c[-1] - rec["c_n"])) < 1e-5


@pytest.mark.parametrize("case", ["gru_reset_after", "lstm_bidir_stack", "simple_rnn"])
def test_export_returns_the_keras_arrays(case):
    weights = keras_weights(records(KERAS, case))
    back = to_keras_weights(recurrent_from_keras(weights))
    assert [[a.shape for a in layer] for layer in back] == [[a.shape for a in layer] for layer in weights]
    assert all(np.array_equal(a, b) for la, lb in zip(back, weights) for a, b in zip(la, lb))


@pytest.mark.parametrize("make", [
    lambda: rk.LSTM(4, 5, num_layers=2, bidirectional=True, seed=0),
    lambda: rk.GRU(4, 5, num_layers=2, seed=1),
    lambda: rk.GRU(4, 5, bidirectional=True, reset_after=False, seed=2),
    lambda: rk.RNN(4, 5, nonlinearity="relu", seed=3),
], ids=["lstm", "gru", "gru_textbook", "rnn_relu"])
def test_round_trip_keeps_outputs_with_both_biases(make):
    model = make()                                   # torch init: b_ih and b_hh both non-zero
    weights = model.to_keras_weights()
    assert len(weights) == model.num_layers and len(weights[0]) == 3 * model.num_directions
    back = type(model).from_keras_weights(weights, nonlinearity=getattr(model, "nonlinearity", "tanh"))
    x = np.random.default_rng(0).standard_normal((3, 6, 4)).astype(np.float32)
    assert np.max(np.abs(back.forward(x)[0] - model.forward(x)[0])) < 1e-6


def test_gru_bias_layouts():
    after = rk.GRU(4, 5, seed=0).to_keras_weights()[0]
    before = rk.GRU(4, 5, reset_after=False, seed=0).to_keras_weights()[0]
    assert after[2].shape == (2, 15) and before[2].shape == (15,)
    lstm = rk.LSTM(4, 5, seed=0)
    kernel, recurrent, bias = lstm.to_keras_weights()[0]
    assert kernel.shape == (4, 20) and recurrent.shape == (5, 20)
    np.testing.assert_allclose(bias, lstm.params["bias_ih_l0"] + lstm.params["bias_hh_l0"], rtol=1e-6)


def test_malformed_weights_list_every_problem():
    weights = keras_weights(records(KERAS, "lstm_bidir_stack"))
    weights[1][1] = weights[1][1][:, :8]
    weights[1][5] = weights[1][5][:10]
    with pytest.raises(InteropError) as err:
        recurrent_from_keras(weights)
    msg = str(err.value)
    assert "weights[1][1] recurrent_kernel: expected (6, 24), given (6, 8)" in msg
    assert "weights[1][5] bias: expected (24,), given (10,)" in msg


@pytest.mark.parametrize("weights, cls, message", [
    ("lstm", rk.GRU, "a LSTM layer's"),
    ([], None, "expected layer.get_weights"),
    ([[np.zeros((4, 20)), np.zeros((5, 20))]], None, "expected \\[kernel"),
    ([[np.zeros((4, 10)), np.zeros((5, 10)), np.zeros(10)]], None, "2 gate blocks"),
])
def test_refused(weights, cls, message):
    if weights == "lstm":
        weights = keras_weights(records(KERAS, "lstm"))
    with pytest.raises(InteropError, match=message):
        recurrent_from_keras(weights, cls)
