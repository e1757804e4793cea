"""Module.load_state_dict refuses what it cannot load: not a mapping, non-finite weights (issue 13)."""
from __future__ import annotations

import numpy as np
import pytest

import rnnkit as rk
from rnnkit.nn.layers import Embedding, Linear

MODULES = {
    "lstm": lambda: rk.LSTM(3, 4, num_layers=2, bidirectional=True),
    "gru": lambda: rk.GRU(3, 4),
    "rnn": lambda: rk.RNN(3, 4),
    "linear": lambda: Linear(3, 4),
    "embedding": lambda: Embedding(5, 3),
}


@pytest.mark.parametrize("kind", sorted(MODULES))
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_refused_and_nothing_changes(kind, bad):
    module = MODULES[kind]()
    before = {k: v.copy() for k, v in module.state_dict().items()}
    state = {k: v.copy() for k, v in before.items()}
    name = sorted(state)[-1]
    state[name].flat[0] = bad
    with pytest.raises(ValueError, match=f"not finite: {name} holds NaN or infinity"):
        module.load_state_dict(state)
    for k, v in module.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize("kind", sorted(MODULES))
@pytest.mark.parametrize("given", [[], [("weight", np.zeros(3))], "weights", None])
def test_a_state_dict_must_be_a_mapping(kind, given):
    with pytest.raises(TypeError, match="state_dict: expected a mapping of names to arrays, given"):
        MODULES[kind]().load_state_dict(given)
