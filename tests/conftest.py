"""Shared test helpers: seeded random data and the cells under test."""
from __future__ import annotations

from pathlib import Path

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
    """A random initial state of the right form for ``layer`` (h proj_size wide with a projection)."""
    LK, widths = layer.num_layers * layer.num_directions, (layer.output_size, layer.hidden_size)
    parts = [scale * rng.standard_normal((LK, batch, w)).astype(layer.dtype) for w in widths[:layer.cell.n_states]]
    return parts[0] if len(parts) == 1 else tuple(parts)


def assert_lengths_match_running_alone(layer, x, lengths) -> None:
    """A padded batch gives each sequence's outputs and final h as if it ran alone, and zeros past its end."""
    out, state = layer.forward(x, lengths=lengths)
    h_n = state[0] if isinstance(state, tuple) else state
    for b, n in enumerate(lengths):
        out_b, state_b = layer.forward(x[b:b + 1, :n])
        h_b = state_b[0] if isinstance(state_b, tuple) else state_b
        np.testing.assert_allclose(out[b, :n], out_b[0], atol=1e-12)
        np.testing.assert_array_equal(out[b, n:], 0.0)
        np.testing.assert_allclose(h_n[:, b], h_b[:, 0], atol=1e-12)


def assert_forward_equals_steps(layer, x, state0) -> None:
    """forward over the whole sequence gives the outputs and final state of ``step`` called once per time step."""
    out, final = layer.forward(x, state=state0)
    state = state0
    for t in range(x.shape[1]):
        y, state = layer.step(x[:, t], state)
        np.testing.assert_allclose(y, out[:, t], atol=1e-12)
    as_tuple = (lambda s: s if isinstance(s, tuple) else (s,))  # noqa: E731
    for a, b in zip(as_tuple(final), as_tuple(state), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)


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


def fuzzed_bytes(*valid: bytes):
    """A hypothesis strategy for untrusted files: random bytes, and the ``valid`` examples truncated,
    with bytes overwritten, or with random bytes inserted."""
    from hypothesis import strategies as st

    def truncated(data):
        return st.integers(0, len(data)).map(lambda k: data[:k])

    def overwritten(data):
        edits = st.lists(st.tuples(st.integers(0, max(len(data) - 1, 0)), st.integers(0, 255)), min_size=1,
                         max_size=4)
        return edits.map(lambda es: _apply(data, es))

    def inserted(data):
        return st.tuples(st.integers(0, len(data)), st.binary(min_size=1, max_size=8)).map(
            lambda t: data[:t[0]] + t[1] + data[t[0]:])

    options = [st.binary(max_size=300)]
    for data in valid:
        options += [truncated(data), overwritten(data), inserted(data)]
    return st.one_of(options)


def _apply(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for i, b in edits:
        if out:
            out[i % len(out)] = b
    return bytes(out)


def directory_snapshot(path) -> dict:
    """{relative name: bytes} of every file under ``path``: to show a reader wrote nothing."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(Path(path).rglob("*")) if p.is_file()}


def read_in_tmp(name: str, data: bytes, reader, error: type[Exception]):
    """``reader(path)`` on a fresh file ``name`` holding ``data``: its result, or the ``error`` it raised
    (whose message must name the file and say something about it). Asserts the reader wrote nothing."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        before = directory_snapshot(tmp)
        try:
            result = reader(path)
        except error as exc:
            assert str(path) in str(exc) and len(str(exc)) > len(str(path)) + 5, str(exc)
            result = exc
        assert directory_snapshot(tmp) == before
        return result


# the project's shared data (../shared/data next to the repository), read only by tests that skip without it
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
