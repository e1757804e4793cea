"""rnnkit.nn.stepping: step and the sampler's step_draw."""
import numpy as np
import pytest

import rnnkit as rk
from rnnkit import _fast
from rnnkit.sampling import draw, next_token_probs

V, E, H = 11, 6, 8


@pytest.fixture
def lstm():
    return rk.LSTM(E, H, num_layers=2, seed=0).eval()


def _head(rng):
    return rng.standard_normal((V, H)).astype(np.float32), rng.standard_normal(V).astype(np.float32)


def _reference(layer, x, state, head, temperature, u):
    y, new = layer.step(x, state)
    return draw(next_token_probs((y @ head[0].T + head[1])[0], temperature), u), new


@pytest.mark.parametrize("temperature", [1.0, 0.7, 3.0])
def test_step_draw_is_step_the_head_and_draw_in_one_call(lstm, temperature):
    pytest.importorskip("numba")
    rng = np.random.default_rng(0)
    head, state, ref_state = _head(rng), None, None
    for _ in range(40):
        x, u = rng.standard_normal((1, E)).astype(np.float32), rng.random()
        index, state = lstm.step_draw(x, state, head, temperature, u)
        want, ref_state = _reference(lstm, x, ref_state, head, temperature, u)
        assert index == want
        for got, ref in zip(state, ref_state, strict=True):
            np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)


def test_step_draw_reaches_the_last_index_and_the_first(lstm):
    pytest.importorskip("numba")
    w, b = np.zeros((V, H), np.float32), np.zeros(V, np.float32)
    assert lstm.step_draw(np.zeros((1, E), np.float32), None, (w, b), 1.0, 0.0)[0] == 0
    assert lstm.step_draw(np.zeros((1, E), np.float32), None, (w, b), 1.0, 1 - 1e-12)[0] == V - 1


@pytest.mark.parametrize("make", [lambda: rk.GRU(E, H, seed=0), lambda: rk.LSTM(E, H, proj_size=4, seed=0),
                                  lambda: rk.LSTM(E, H, dtype="float64", seed=0)])
def test_step_draw_is_none_where_no_compiled_call_does_it(make):
    layer = make()
    head = (np.zeros((V, layer.output_size)), np.zeros(V))
    assert layer.step_draw(np.zeros((1, E)), None, head, 1.0, 0.5) is None


def test_step_draw_is_none_on_the_numpy_backend(lstm):
    previous = _fast.set_backend("numpy")
    try:
        assert lstm.step_draw(np.zeros((1, E), np.float32), None, _head(np.random.default_rng(0)), 1.0, 0.5) is None
    finally:
        _fast.set_backend(previous)


@pytest.mark.parametrize("x, head, temperature, u, message", [
    (np.zeros((2, E)), None, 1.0, 0.5, r"x_t: step_draw draws for one sequence: expected shape \(1, 6\)"),
    (np.zeros((1, E)), (np.zeros((V, H + 1)), np.zeros(V)), 1.0, 0.5, r"head\[0\]: expected shape \(\*, 8\)"),
    (np.zeros((1, E)), (np.zeros((V, H)), np.zeros(V + 1)), 1.0, 0.5, r"head\[1\]: expected shape \(11\)"),
    (np.zeros((1, E)), None, 0.0, 0.5, "expected temperature > 0 and u in"),
    (np.zeros((1, E)), None, 1.0, 1.0, "expected temperature > 0 and u in"),
])
def test_step_draw_refuses_bad_arguments_by_name(lstm, x, head, temperature, u, message):
    pytest.importorskip("numba")
    head = head or (np.zeros((V, H)), np.zeros(V))
    with pytest.raises(ValueError, match=message):
        lstm.step_draw(x, None, head, temperature, u)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("where, message", [(0, r"x_t: expected finite values, given nan at index \(0, 2\)"),
                                            (1, r"state\[0\]: expected finite values, given inf at index \(1, 0, 2\)"),
                                            (2, r"state\[1\]: expected finite values, given -inf at index \(1, 0, 2\)")])
def test_step_and_step_draw_name_an_input_that_is_not_finite(lstm, backend, where, message):
    if backend == "numba":
        pytest.importorskip("numba")
    inputs = [np.ones((1, E), np.float32), np.zeros((2, 1, H), np.float32), np.zeros((2, 1, H), np.float32)]
    inputs[where][(0, 2) if where == 0 else (1, 0, 2)] = (np.nan, np.inf, -np.inf)[where]
    previous = _fast.set_backend(backend)
    try:
        with pytest.raises(ValueError, match=message):
            lstm.step(inputs[0], tuple(inputs[1:]))
        with pytest.raises(ValueError, match=message):
            if lstm.step_draw(inputs[0], tuple(inputs[1:]), _head(np.random.default_rng(0)), 1.0, 0.5) is None:
                lstm.step(inputs[0], tuple(inputs[1:]))  # the sampler's fallback (the NumPy backend)
    finally:
        _fast.set_backend(previous)


def test_step_of_a_one_state_cell_names_its_state():
    gru = rk.GRU(E, H, seed=0)
    with pytest.raises(ValueError, match=r"state: expected finite values, given nan at index \(0, 0, 1\)"):
        gru.step(np.ones((1, E)), np.where(np.arange(H) == 1, np.nan, 0.0)[None, None])

