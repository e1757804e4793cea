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


def numeric_grad(f, a, eps=1e-6):
    """Central differences of the scalar f() with respect to every entry of a (perturbed in place)."""
    grad, flat = np.zeros(a.size), a.reshape(-1)
    for i in range(a.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad.reshape(a.shape)


def random_state(layer, batch, rng, scale=0.5):
    """A random initial state of the right form for ``layer``."""
    shape = (layer.num_layers * layer.num_directions, batch, layer.hidden_size)
    parts = [scale * rng.standard_normal(shape).astype(layer.dtype) for _ in range(layer.cell.n_states)]
    return parts[0] if len(parts) == 1 else tuple(parts)


def assert_interrupt_and_resume_exact(monkeypatch, objective_cls, train, make_config, at_call: int, total: int):
    """Ctrl-C at the ``at_call``-th step, then ``--resume``: weights equal an uninterrupted run bit for bit.

    ``make_config(name)`` gives the run's config with output directory ``name``;
    ``train(config, resume=None)`` is the task's train function.
    """
    import os
    import signal

    full = rk.load(train(make_config("full"))["run"], "last")
    original, calls = objective_cls.train_step, {"n": 0}

    def interrupting(self, batch):
        calls["n"] += 1
        if calls["n"] == at_call:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C in the middle of a step
        return original(self, batch)

    monkeypatch.setattr(objective_cls, "train_step", interrupting)
    first = train(make_config("cut"))
    assert first["stopped"] == "interrupted" and first["steps"] == at_call
    monkeypatch.setattr(objective_cls, "train_step", original)
    second = train(None, resume=first["run"])
    assert second["steps"] == total and second["stopped"] == "budget"
    resumed = rk.load(second["run"], "last")
    for k, v in full.state_dict().items():
        np.testing.assert_array_equal(v, resumed.state_dict()[k], err_msg=k)
