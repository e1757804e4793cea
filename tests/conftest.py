"""Shared test helpers: seeded random data and the cells under test."""
from __future__ import annotations

import numpy as np
import pytest

import rnnkit as rk

# (name, constructor) of every recurrent cell the library offers
CELLS = {
    "rnn_tanh": lambda *a, **k: rk.RNN(*a, nonlinearity="tanh", **k),
    "rnn_relu": lambda *a, **k: rk.RNN(*a, nonlinearity="relu", **k),
    "lstm": rk.LSTM,
    "gru": rk.GRU,
    "gru_reset_before": lambda *a, **k: rk.GRU(*a, reset_after=False, **k),
}


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def random_state(layer, batch, rng, scale=0.5):
    """A random initial state of the right form for ``layer``."""
    shape = (layer.num_layers * layer.num_directions, batch, layer.hidden_size)
    parts = [scale * rng.standard_normal(shape).astype(layer.dtype) for _ in range(layer.cell.n_states)]
    return parts[0] if len(parts) == 1 else tuple(parts)
