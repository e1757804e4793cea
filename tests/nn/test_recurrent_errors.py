"""Bad input to the recurrent layers: a ValueError naming the argument, never a broadcast."""
from __future__ import annotations

import numpy as np
import pytest

import rnnkit as rk


@pytest.fixture
def lstm():
    return rk.LSTM(3, 4, num_layers=2, seed=0)


X = np.zeros((2, 5, 3))


@pytest.mark.parametrize("x,match", [
    (np.zeros((5, 3)), r"x: expected a 3-D array of shape \(\*, \*, 3\), given shape \(5, 3\)"),
    (np.zeros((2, 5, 4)), r"x: expected shape \(\*, \*, 3\), given shape \(2, 5, 4\)"),
    (np.zeros((0, 5, 3)), r"x: expected at least one sequence"),
    (np.array([[[0, 0, np.nan]]]), r"x: expected finite values, given nan at index \(0, 0, 2\)"),
    (np.array([[[0, 0, np.inf]]]), r"x: expected finite values"),
    (np.array([[["a", "b", "c"]]]), r"x: expected a numeric array"),
])
def test_bad_x(lstm, x, match):
    with pytest.raises(ValueError, match=match):
        lstm.forward(x)


@pytest.mark.parametrize("lengths,match", [
    ([5], r"lengths: expected 2 lengths .*given shape \(1,\)"),
    ([5, 5, 5], r"lengths: expected 2 lengths"),
    ([5, 0], r"lengths: expected every length in 1..5 .*given lengths\[1\] = 0"),
    ([6, 5], r"lengths: expected every length in 1..5 .*given lengths\[0\] = 6"),
    ([2.5, 5], r"lengths: expected integers"),
    ([[5, 5]], r"lengths: expected 2 lengths"),
])
def test_bad_lengths(lstm, lengths, match):
    with pytest.raises(ValueError, match=match):
        lstm.forward(X, lengths=lengths)


def test_bad_state(lstm):
    good = np.zeros((2, 2, 4))
    with pytest.raises(ValueError, match=r"state\[0\]: expected shape \(2, 2, 4\), given shape \(1, 2, 4\)"):
        lstm.forward(X, state=(np.zeros((1, 2, 4)), good))
    with pytest.raises(ValueError, match=r"state: expected a tuple \(h, c\)"):
        lstm.forward(X, state=good)
    with pytest.raises(ValueError, match=r"state\[1\]: expected finite values"):
        lstm.forward(X, state=(good, np.full((2, 2, 4), np.nan)))
    gru = rk.GRU(3, 4)
    with pytest.raises(ValueError, match=r"state: expected shape \(1, 2, 4\), given shape \(1, 1, 4\)"):
        gru.forward(X, state=np.zeros((1, 1, 4)))


def test_bad_backward_arguments(lstm):
    with pytest.raises(RuntimeError, match="call forward first"):
        lstm.backward(np.zeros((2, 5, 4)))
    out, _ = lstm.forward(X)
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 5, 4\), given shape \(2, 5, 1\)"):
        lstm.backward(np.zeros((2, 5, 1)))
    with pytest.raises(ValueError, match=r"dstate\[1\]: expected a 3-D array of shape \(2, 2, 4\), given shape \(2, 4\)"):
        lstm.backward(np.zeros_like(out), dstate=(np.zeros((2, 2, 4)), np.zeros((2, 4))))
    lstm.backward(np.zeros_like(out))
    with pytest.raises(RuntimeError, match="call forward first"):
        lstm.backward(np.zeros_like(out))


def test_bad_step_arguments(lstm):
    with pytest.raises(ValueError, match=r"x_t: expected shape \(\*, 3\), given shape \(2, 4\)"):
        lstm.step(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="step: a bidirectional layer needs the whole sequence"):
        rk.GRU(3, 4, bidirectional=True).step(np.zeros((2, 3)))


@pytest.mark.parametrize("kwargs,match", [
    (dict(hidden_size=0), "hidden_size: expected a positive integer, given 0"),
    (dict(num_layers=1.5), "num_layers: expected a positive integer, given 1.5"),
    (dict(dropout=1.0), r"dropout: expected a probability in \[0, 1\), given 1.0"),
    (dict(init="xavier"), "init: expected one of"),
])
def test_bad_constructor_arguments(kwargs, match):
    args = dict(input_size=3, hidden_size=4) | kwargs
    with pytest.raises(ValueError, match=match):
        rk.LSTM(**args)


def test_bad_cell_options():
    with pytest.raises(ValueError, match="nonlinearity: expected 'tanh' or 'relu', given 'sigmoid'"):
        rk.RNN(3, 4, nonlinearity="sigmoid")
