"""A unidirectional layer over the two halves of its batch at once (rnnkit.functional.halves)."""
import numpy as np
import pytest

import rnnkit as rk
from rnnkit import _fast
from rnnkit.functional import halves
from tests.functional.training_case import train_case

pytest.importorskip("numba", reason='the halves run the compiled loops: pip install "rnnkit[fast]"')
blas = pytest.importorskip("rnnkit._fast.blas")
parallel = pytest.importorskip("rnnkit._fast.parallel")
if parallel.CORES < 2 or blas.set_threads() is None:
    pytest.skip("halves need two cores and OpenBLAS's thread control", allow_module_level=True)

CELLS = {"lstm": rk.LSTM, "gru": rk.GRU, "rnn_relu": lambda *a, **k: rk.RNN(*a, nonlinearity="relu", **k)}


@pytest.fixture
def two_blas_threads():
    """BLAS at two threads, as on a 2-core machine by default (the halves run only then); put back after."""
    previous = blas.set_threads()(2)
    yield
    blas.set_threads()(previous)


@pytest.fixture
def pairs(monkeypatch):
    """The number of functions each run_pair call was given, in order."""
    calls, run_pair = [], parallel.run_pair
    monkeypatch.setattr(parallel, "run_pair", lambda *fns: calls.append(len(fns)) or run_pair(*fns))
    return calls


def _case(cell, B, seed=0, padded=True):
    rng = np.random.default_rng(seed)
    T, D, H, L = 7, 5, 24, 2
    f32 = lambda *shape: (0.5 * rng.standard_normal(shape)).astype(np.float32)  # noqa: E731
    state = lambda: (f32(L, B, H), f32(L, B, H)) if cell == "lstm" else f32(L, B, H)  # noqa: E731
    lengths = rng.integers(1, T + 1, size=B) if padded else None
    return CELLS[cell](D, H, num_layers=L, seed=seed), f32(B, T, D), state(), lengths, f32(B, T, H), state()


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("B, padded", [(16, True), (37, True), (20, False)])
def test_the_halves_give_the_numpy_references_results(cell, B, padded, two_blas_threads, pairs):
    """Odd batches, padded rows, initial states and final-state gradients: the halves' outputs, dx and
    weight gradients are the whole batch's, computed by the NumPy reference."""
    case = _case(cell, B, padded=padded)
    previous = _fast.set_backend("numpy")
    try:
        want = train_case(*case)
        assert pairs == []
        _fast.set_backend("numba")
        got = train_case(*case)
    finally:
        _fast.set_backend(previous)
    assert pairs == [2] * 4                    # two layers, forward and backward, each as two halves
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_a_small_batch_one_thread_or_a_variant_is_not_split(two_blas_threads, pairs):
    x = np.zeros((2 * halves.MIN_ROWS - 1, 3, 5), np.float32)
    rk.LSTM(5, 8).forward(x)
    rk.LSTM(5, 8, layer_norm=True).forward(np.zeros((32, 3, 5), np.float32))
    blas.set_threads()(1)                       # one BLAS thread asked for (an MPI rank per core): one core
    rk.LSTM(5, 8).forward(np.zeros((32, 3, 5), np.float32))
    assert pairs == []


def test_the_halves_keep_their_buffers_apart_between_calls(two_blas_threads):
    """Each half reuses its own buffers: a second call of another batch size gives fresh, right results."""
    layer = rk.GRU(4, 6, seed=1)
    rng = np.random.default_rng(2)
    first, second = (rng.standard_normal((B, 5, 4)).astype(np.float32) for B in (32, 18))
    want = [rk.GRU(4, 6, seed=1).forward(x)[0] for x in (first, second)]
    got = [layer.forward(x)[0].copy() for x in (first, second, first)]
    for g, w in zip(got, want + want[:1]):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)
