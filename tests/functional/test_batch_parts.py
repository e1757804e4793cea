"""A unidirectional layer over parts of its batch at once, one core each (rnnkit.functional.batch_parts)."""
import os

import numpy as np
import pytest

import rnnkit as rk
from rnnkit import _fast
from rnnkit.functional import batch_parts
from tests.functional.training_case import train_case

pytest.importorskip("numba", reason='the parts run the compiled loops: pip install "rnnkit[fast]"')
blas = pytest.importorskip("rnnkit._fast.blas")
parallel = pytest.importorskip("rnnkit._fast.parallel")
if parallel.CORES < 2 or blas.set_threads() is None:
    pytest.skip("parts need two cores and OpenBLAS's thread control", allow_module_level=True)

CELLS = {"lstm": rk.LSTM, "gru": rk.GRU, "rnn_relu": lambda *a, **k: rk.RNN(*a, nonlinearity="relu", **k)}


@pytest.fixture
def two_blas_threads():
    """BLAS at two threads, as on a 2-core machine by default (the parts run only then); put back after."""
    previous = blas.set_threads()(2)
    yield
    blas.set_threads()(previous)


@pytest.fixture
def four_cores(monkeypatch):
    """As on a machine with four cores and BLAS at four threads (here they share the machine's cores)."""
    monkeypatch.setattr(parallel, "CORES", 4)
    previous = blas.set_threads()(4)
    yield
    blas.set_threads()(previous)


@pytest.fixture
def pairs(monkeypatch):
    """The number of functions each run_all call was given, in order."""
    calls, run_all = [], parallel.run_all
    monkeypatch.setattr(parallel, "run_all", lambda *fns: calls.append(len(fns)) or run_all(*fns))
    return calls


def _numpy_then_numba(case, pairs):
    """The NumPy reference's results (no group run), then the compiled loops'."""
    previous = _fast.set_backend("numpy")
    try:
        want = train_case(*case)
        assert pairs == []
        _fast.set_backend("numba")
        got = train_case(*case)
    finally:
        _fast.set_backend(previous)
    return got, want


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
    got, want = _numpy_then_numba(_case(cell, B, padded=padded), pairs)
    assert pairs == [2] * 4                    # two layers, forward and backward, each as two halves
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("B, parts", [(24, 3), (37, 4), (100, 4)])
def test_more_cores_split_the_batch_in_more_parts(cell, B, parts, four_cores, pairs):
    """With four cores, as many parts as cores allow with at least MIN_ROWS rows each: the same results."""
    got, want = _numpy_then_numba(_case(cell, B), pairs)
    assert pairs == [parts] * 4
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_a_small_batch_one_thread_or_a_variant_is_not_split(two_blas_threads, pairs):
    x = np.zeros((2 * batch_parts.MIN_ROWS - 1, 3, 5), np.float32)
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


def test_the_parts_keep_their_buffers_apart_when_their_number_changes(four_cores):
    """4 parts, then 2 (18 rows), then 4 again: each part's buffers are its own, the results fresh."""
    layer = rk.LSTM(4, 6, seed=1)
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal((B, 5, 4)).astype(np.float32) for B in (32, 18, 40)]
    want = [rk.LSTM(4, 6, seed=1).forward(x)[0] for x in xs]
    for g, w in zip([layer.forward(x)[0].copy() for x in xs], want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)


def test_as_many_parts_at_once_as_blas_was_given_threads_and_the_process_cores(four_cores):
    blas.set_threads()(3)                       # OPENBLAS_NUM_THREADS=3 on a 4-core machine: 3 at most
    assert parallel.width() == 3
    with parallel.pairs_only():                 # BLAS at one thread inside, the width it had outside
        assert (blas.get_threads()(), parallel.width()) == (1, 3)
    assert parallel.split_points(37, 3) == [0, 12, 24, 37]
    assert parallel._usable_cores() == (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                        else os.cpu_count())


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_from_four_cores_the_directions_split_their_batch_one_after_the_other(cell, four_cores, pairs):
    """Two cores: the directions side by side (groups of 2). Four: each direction in 4 parts, in turn."""
    rng = np.random.default_rng(4)
    B, T, D, H = 33, 6, 5, 12
    f32 = lambda *shape: (0.5 * rng.standard_normal(shape)).astype(np.float32)  # noqa: E731
    state = lambda: (f32(4, B, H), f32(4, B, H)) if cell == "lstm" else f32(4, B, H)  # noqa: E731
    case = (CELLS[cell](D, H, num_layers=2, bidirectional=True, seed=0), f32(B, T, D), state(),
            rng.integers(1, T + 1, size=B), f32(B, T, 2 * H), state())
    got, want = _numpy_then_numba(case, pairs)
    assert pairs == [4] * 8                     # two layers, two directions, forward and backward
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    blas.set_threads()(2)
    pairs.clear()
    train_case(*case)
    assert pairs == [2] * 4                     # each layer's two directions at once, forward and backward
