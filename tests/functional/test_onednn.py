"""oneDNN's sgemm for the layers' large products on one thread (rnnkit._fast.onednn)."""
import numpy as np
import pytest

import rnnkit as rk
from rnnkit import _fast
from rnnkit._fast import onednn
from tests.functional.training_case import train_case

blas = pytest.importorskip("rnnkit._fast.blas")
needs_onednn = pytest.mark.skipif(onednn.sgemm() is None, reason='oneDNN not installed: pip install "rnnkit[onednn]"')
needs_blas_threads = pytest.mark.skipif(blas.set_threads() is None, reason="needs OpenBLAS's thread control")


@pytest.fixture
def blas_threads():
    """Set BLAS's thread count for the test (put back after)."""
    previous = []

    def set_to(n):
        previous.append(blas.set_threads()(n))
    yield set_to
    if previous:
        blas.set_threads()(previous[0])


def _operands(rng, M, N, K, left_transposed, right_transposed):
    a = rng.standard_normal((K, M) if left_transposed else (M, K)).astype(np.float32)
    b = rng.standard_normal((N, K) if right_transposed else (K, N)).astype(np.float32)
    return (a.T if left_transposed else a), (b.T if right_transposed else b)


@needs_onednn
@needs_blas_threads
@pytest.mark.parametrize("left_transposed", [False, True])
@pytest.mark.parametrize("right_transposed", [False, True])
def test_a_large_product_on_one_thread_is_onednns_and_numpys(blas_threads, left_transposed, right_transposed):
    rng = np.random.default_rng(0)
    blas_threads(1)
    for M, N, K in [(96, 70, 64), (300, 257, 129), (1600, 512, 64)]:
        a, b = _operands(rng, M, N, K, left_transposed, right_transposed)
        assert onednn.used_for(a, b)
        out = np.full((M, N), np.nan, np.float32)
        assert _fast.matmul(a, b, out=out) is out
        np.testing.assert_allclose(out, a @ b, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(_fast.matmul(a, b), a @ b, rtol=1e-5, atol=1e-4)


@needs_onednn
@needs_blas_threads
def test_numpy_computes_what_onednn_is_not_used_for(blas_threads, monkeypatch):
    rng = np.random.default_rng(1)
    blas_threads(1)
    a, b = _operands(rng, 128, 128, 128, False, False)
    assert onednn.used_for(a, b)
    assert not onednn.used_for(a.astype(np.float64), b.astype(np.float64))   # float64
    assert not onednn.used_for(a[:8, :8], b[:8, :8])                          # too small to pay
    assert not onednn.used_for(np.hstack([a, a])[:, ::2], b)                  # neither layout
    blas_threads(2)
    assert not onednn.used_for(a, b)                                          # OpenBLAS shares it among threads
    blas_threads(1)
    previous = _fast.set_backend("numpy")
    try:
        assert not onednn.used_for(a, b)                                      # the plain-NumPy path
    finally:
        _fast.set_backend(previous)
    out = np.zeros((128, 256), np.float32)[:, ::2]                            # an out oneDNN cannot write
    np.testing.assert_allclose(_fast.matmul(a, b, out=out), a @ b, rtol=1e-5, atol=1e-4)
    monkeypatch.setitem(onednn._found, "functions", None)                          # as without the package
    assert not onednn.used_for(a, b)
    np.testing.assert_allclose(_fast.matmul(a, b), a @ b, rtol=1e-6)


@needs_onednn
@needs_blas_threads
@pytest.mark.parametrize("make, products", [(rk.LSTM, 4), (lambda *a, **k: rk.RNN(*a, nonlinearity="relu", **k), 4),
                                            (rk.GRU, 3)])  # the GRU's dW_hh: two products of column slices
def test_a_layers_training_step_is_the_same_with_onednn_and_without(make, products, blas_threads, monkeypatch):
    """One BLAS thread (as in the halves and in a training loop's pairs): the layer's large products go
    to oneDNN, and everything the step gives matches NumPy's products within float32 rounding."""
    rng = np.random.default_rng(2)
    blas_threads(1)
    layer = make(64, 48, num_layers=2, seed=0)
    x = rng.standard_normal((6, 80, 64)).astype(np.float32)
    lengths = rng.integers(1, 81, size=6)
    out, _ = layer.forward(x, lengths=lengths)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    calls, call = [], onednn._call
    monkeypatch.setattr(onednn, "_call", lambda *args: calls.append(args[1].shape) or call(*args))
    got = train_case(layer, x, None, lengths, dout, None)
    assert len(calls) == 2 * products                  # each layer: X W_ihᵀ, then dX, dW_ih (and dW_hh)
    monkeypatch.setitem(onednn._found, "functions", None)
    want = train_case(layer, x, None, lengths, dout, None)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def _product_in_child(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((200, 300)).astype(np.float32), rng.standard_normal((300, 100)).astype(np.float32)
    return float(np.max(np.abs(_fast.matmul(a, b) - a @ b)))


@needs_onednn
@needs_blas_threads
def test_a_forked_process_computes_with_onednn_too(blas_threads):
    """One OpenMP thread, no thread pool: a child forked after oneDNN ran in the parent does not hang."""
    import multiprocessing as mp
    blas_threads(1)
    assert _product_in_child(0) < 1e-3
    with mp.get_context("fork").Pool(1) as pool:
        assert pool.apply_async(_product_in_child, (1,)).get(timeout=60) < 1e-3


@needs_onednn
@needs_blas_threads
def test_the_callers_openmp_thread_count_is_left_as_it_was(blas_threads):
    """PyTorch's wheel loads the same libgomp: a count of 1 left behind would run its operators on one thread."""
    _, omp_set_num_threads, omp_get_max_threads = onednn.sgemm()
    blas_threads(1)
    previous = omp_get_max_threads()
    omp_set_num_threads(3)
    try:
        a, b = _operands(np.random.default_rng(3), 200, 300, 100, False, True)
        assert onednn.used_for(a, b)
        _fast.matmul(a, b)
        assert omp_get_max_threads() == 3
    finally:
        omp_set_num_threads(previous)
