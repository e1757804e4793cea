"""The optional compiled kernels (rnnkit[fast], numba) against the plain-NumPy reference.

Skipped when numba is missing; the rest of the suite then runs on NumPy alone.
"""
from __future__ import annotations

import numpy as np
import pytest

import rnnkit as rk
from rnnkit import _fast
from rnnkit.functional.gru import gru_pointwise_backward, gru_pointwise_forward
from rnnkit.functional.lstm import LSTM_CELL, lstm_pointwise_backward, lstm_pointwise_forward
from rnnkit.functional.recurrent import recurrent_backward, recurrent_forward
from tests.functional.training_case import train_case

numba = pytest.importorskip("numba")
from rnnkit._fast import kernels  # noqa: E402  (needs numba)

B, H = 5, 7


@pytest.fixture
def backend():
    """Switch the backend inside a test; the previous one is restored afterwards."""
    previous = _fast.set_backend("auto")
    yield _fast.set_backend
    _fast.set_backend(previous)


def test_tanh_is_within_4e_7_and_keeps_nan():
    x = np.linspace(-20, 20, 400_001, dtype=np.float32)
    y = np.array([kernels.tanh(v) for v in x[::97]], dtype=np.float32)
    assert np.max(np.abs(y - np.tanh(x[::97].astype(np.float64)))) < 4e-7
    assert np.isnan(kernels.tanh(np.float32("nan")))


def _rows(rng, *widths):
    return [rng.standard_normal((B, w)).astype(np.float32) for w in widths]


@pytest.mark.parametrize("which", ["lstm", "gru"])
def test_fused_steps_equal_the_numpy_reference(which):
    rng = np.random.default_rng(0)
    G = 4 if which == "lstm" else 3
    b = rng.standard_normal(G * H).astype(np.float32)
    if which == "lstm":
        fwd_in = [*_rows(rng, 4 * H, 4 * H), b, *_rows(rng, H, H, H, H)]
        pairs = [(kernels.lstm_forward, lstm_pointwise_forward, fwd_in)]
        bwd_in = [*_rows(rng, H, H, H), *_rows(rng, 4 * H), *_rows(rng, H, 4 * H, H)]
        bwd_in[3] = 1 / (1 + np.exp(-bwd_in[3]))  # activated gates in (0, 1)
        pairs.append((kernels.lstm_backward, lstm_pointwise_backward, bwd_in))
    else:
        fwd_in = [*_rows(rng, 3 * H, 3 * H), b, *_rows(rng, H, H, H)]
        bwd_in = [*_rows(rng, H, H), 1 / (1 + np.exp(-_rows(rng, 3 * H)[0])), *_rows(rng, H, 3 * H, 3 * H, H)]
        pairs = [(kernels.gru_forward, gru_pointwise_forward, fwd_in),
                 (kernels.gru_backward, gru_pointwise_backward, bwd_in)]
    for fused, reference, inputs in pairs:
        got, want = [a.copy() for a in inputs], [a.copy() for a in inputs]
        fused(*got)
        reference(*want)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("relu", [False, True])
def test_fused_rnn_steps_equal_numpy(relu):
    rng = np.random.default_rng(1)
    hw, xw, dh = _rows(rng, H, H, H)
    b = rng.standard_normal(H).astype(np.float32)
    h = hw.copy()
    kernels.rnn_forward(h, xw, b, relu)
    a = hw + xw + b
    want = np.maximum(a, 0) if relu else np.tanh(a)
    np.testing.assert_allclose(h, want, rtol=2e-6, atol=2e-6)
    da = np.empty_like(h)
    kernels.rnn_backward(dh, h, da, relu)
    np.testing.assert_allclose(da, dh * ((h > 0) if relu else 1 - h * h), rtol=2e-6, atol=2e-6)


def _train(layer, x, lengths, dout):
    """Everything a training step produces: outputs, final states, input, state and weight gradients."""
    out, state = layer.forward(x, lengths=lengths)
    layer.zero_grad()
    dx, dstate = layer.backward(dout)
    as_tuple = lambda s: s if isinstance(s, tuple) else (s,)  # noqa: E731
    grads = [g.copy() for g in layer.gradients().values()]  # the next call zeroes and refills the layer's own
    return [out, *as_tuple(state), dx, *as_tuple(dstate), *grads]


@pytest.mark.parametrize("make", [rk.LSTM, rk.GRU, lambda *a, **k: rk.GRU(*a, reset_after=False, **k),
                                  rk.RNN, lambda *a, **k: rk.RNN(*a, nonlinearity="relu", **k)])
def test_layers_give_the_same_results_on_both_backends(make, backend):
    rng = np.random.default_rng(2)
    layer = make(3, H, num_layers=2, bidirectional=True, seed=0)
    x = rng.standard_normal((4, 6, 3)).astype(np.float32)
    lengths, dout = [6, 2, 5, 1], rng.standard_normal((4, 6, 2 * H)).astype(np.float32)
    backend("numpy")
    want = _train(layer, x, lengths, dout)
    backend("numba")
    got = _train(layer, x, lengths, dout)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_float64_and_the_numpy_backend_never_use_kernels(backend):
    like32, like64 = np.zeros((2, 3), np.float32), np.zeros((2, 3))
    assert _fast.kernel("lstm_forward", like32) is kernels.lstm_forward
    assert _fast.kernel("lstm_forward", like64) is None
    backend("numpy")
    assert _fast.kernel("lstm_forward", like32) is None


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend: expected one of"):
        _fast.set_backend("cuda")


LOOPS = {"lstm": rk.LSTM, "gru": rk.GRU, "rnn": rk.RNN,
         "rnn_relu": lambda *a, **k: rk.RNN(*a, nonlinearity="relu", **k)}


def _case(seed, cell="lstm", batch=None):
    """A random training case: sizes, layers, direction, lengths (or none), initial state and dstate."""
    rng = np.random.default_rng(seed)
    B, T, D, Hs, L = (int(v) for v in (rng.integers(1, 5), rng.integers(1, 9), rng.integers(1, 6),
                                       rng.integers(1, 9), rng.integers(1, 3)))
    B = batch or B
    bi = bool(rng.integers(2))
    layer = LOOPS[cell](D, Hs, num_layers=L, bidirectional=bi, seed=seed)
    K = 2 if bi else 1
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    lengths = None if rng.integers(2) else rng.integers(1, T + 1, size=B)
    state = lambda: (f32(L * K, B, Hs), f32(L * K, B, Hs)) if cell == "lstm" else f32(L * K, B, Hs)  # noqa: E731
    return layer, f32(B, T, D), state(), lengths, f32(B, T, K * Hs), state()


@pytest.mark.parametrize("cell", sorted(LOOPS))
@pytest.mark.parametrize("seed, batch", [(seed, None) for seed in range(8)] + [(8, 1), (9, 1)])
def test_compiled_sequence_loops_equal_the_numpy_reference(cell, seed, batch, backend):
    """The whole-sequence loops (NumPy's BLAS called from numba) on random shapes, lengths, states;
    at batch 1 they take W_hh as it is (no transposed copy)."""
    case = _case(seed, cell, batch)
    name = "lstm" if cell == "lstm" else "gru" if cell == "gru" else "rnn"
    assert _fast.sequence_kernel(f"{name}_sequence_forward", np.zeros((1, 1, 4), np.float32)) is not None
    backend("numpy")
    want = train_case(*case)
    backend("numba")
    got = train_case(*case)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_without_a_usable_blas_the_step_loop_runs(backend, monkeypatch):
    from rnnkit._fast import blas
    case = _case(3)
    want = train_case(*case)
    monkeypatch.setattr(blas, "_found", {"pair": None})
    backend("numba")  # forget the kernels found so far
    assert _fast.sequence_kernel("lstm_sequence_forward", np.zeros((1, 1, 4), np.float32)) is None
    for g, w in zip(train_case(*case), want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_numpys_blas_is_found_and_checked():
    from rnnkit._fast import blas
    gemm, gemv = blas.sgemm_sgemv()
    assert blas._agrees_with_numpy(gemm, gemv)
    assert blas.addresses()[2] in (32, 64)


@pytest.mark.parametrize("transa, transb", [(False, False), (True, False), (False, True), (True, True)])
def test_compiled_code_calls_blas_by_address(transa, transb):
    """cblas.sgemm / sgemv, called from compiled code with the addresses, give NumPy's products."""
    from rnnkit._fast import blas, cblas
    from rnnkit._fast.kernels import jit

    @jit
    def gemm_and_gemv(addresses, ta, tb, M, N, K, a, b, c, x, y):
        cblas.sgemm(addresses, ta, tb, M, N, K, np.float32(2.0), a, a.shape[1], b, b.shape[1], np.float32(1.0), c, N)
        cblas.sgemv(addresses, cblas.NO_TRANS, M, N, np.float32(1.0), c, N, x, 1, np.float32(0.0), y, 1)
    rng = np.random.default_rng(0)
    M, N, K = 3, 5, 4
    a = rng.standard_normal((K, M) if transa else (M, K)).astype(np.float32)
    b = rng.standard_normal((N, K) if transb else (K, N)).astype(np.float32)
    c, x, y = np.ones((M, N), np.float32), rng.standard_normal(N).astype(np.float32), np.empty(M, np.float32)
    gemm_and_gemv(blas.addresses(), cblas.TRANS if transa else cblas.NO_TRANS,
                  cblas.TRANS if transb else cblas.NO_TRANS, M, N, K, a, b, c, x, y)
    want = 2 * (a.T if transa else a) @ (b.T if transb else b) + 1
    np.testing.assert_allclose(c, want, rtol=1e-5)
    np.testing.assert_allclose(y, want @ x, rtol=1e-5)


def test_bidirectional_directions_run_concurrently_with_the_same_results(backend, monkeypatch):
    from rnnkit._fast import parallel
    calls = []
    run_all = parallel.run_all
    monkeypatch.setattr(parallel, "run_all", lambda *fns: calls.append(len(fns)) or run_all(*fns))
    layer = rk.LSTM(3, H, num_layers=2, bidirectional=True, seed=0)
    rng = np.random.default_rng(5)
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    case = (layer, f32(4, 6, 3), (f32(4, 4, H), f32(4, 4, H)), [6, 2, 5, 1], f32(4, 6, 2 * H),
            (f32(4, 4, H), f32(4, 4, H)))
    backend("numpy")
    want = train_case(*case)
    assert calls == []
    backend("numba")
    from rnnkit._fast import blas
    threads = blas.set_threads()(3)                  # 3 BLAS threads before: 3 after
    got = train_case(*case)
    assert blas.set_threads()(threads) == 3
    assert calls == [2] * 4 and parallel.worth_it()  # two layers, forward and backward
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("M, N, K", [(32, 512, 128), (16, 1024, 256), (16, 2048, 512), (8, 512, 128), (3, 40, 9),
                                     (32, 128, 512), (32, 512, 2048), (64, 16, 100_000)])
def test_tiles_keep_each_product_within_the_small_kernels_limit(M, N, K):
    from rnnkit._fast.sequence import tile
    rows, cols = tile(10 ** 6, M, N, K)
    if M * N * K <= 10 ** 6 or 4 * 64 * K > 2 ** 19:   # small already, or no tile of 4 × 64 fits: one call
        assert (rows, cols) == (M, N)
    else:
        assert 4 <= rows <= min(M, 16)
        assert cols == N or (cols % 16 == 0 and cols >= 64)
        assert rows * cols * K <= 2 ** 19
    assert tile(0, M, N, K) == (M, N)                   # a BLAS without small-matrix kernels: one call


@pytest.mark.parametrize("M, N, K, beta", [(13, 1000, 300, 0.0), (40, 520, 130, 1.0), (1, 300, 200, 1.0)])
def test_a_tiled_product_equals_numpys(M, N, K, beta):
    """The step's product in tiles (forced: as if BLAS had small-matrix kernels), uneven edges included."""
    from rnnkit._fast import blas, sequence
    from rnnkit._fast.kernels import jit

    @jit
    def run(addresses, a, b, c):
        sequence.product(addresses, a.shape[0], b.shape[1], a.shape[1], a, b, np.float32(beta), c)
    rng = np.random.default_rng(M)
    a, b, c = (rng.standard_normal(shape).astype(np.float32) for shape in ((M, K), (K, N), (M, N)))
    want = a.astype(np.float64) @ b + beta * c
    run(blas.addresses()[:3] + (10 ** 6,), a, b, c)
    np.testing.assert_allclose(c, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cell", sorted(LOOPS))
def test_loops_with_tiled_products_equal_the_numpy_reference(cell, backend, monkeypatch):
    """Step products large enough to be tiled (16 × 640 × 160, 16 × 160 × 640) where BLAS has small-matrix
    kernels (forced here), padded rows included: the NumPy reference's results."""
    from rnnkit._fast import blas
    found, _ = blas.addresses() and blas._found["addresses"]      # found first, then the limit forced
    monkeypatch.setitem(blas._found, "addresses", (found, 10 ** 6))
    rng = np.random.default_rng(3)
    B, T, D, Hs = 16, 3, 5, 160
    f32 = lambda *shape: (0.3 * rng.standard_normal(shape)).astype(np.float32)  # noqa: E731
    state = lambda: (f32(1, B, Hs), f32(1, B, Hs)) if cell == "lstm" else f32(1, B, Hs)  # noqa: E731
    case = (LOOPS[cell](D, Hs, seed=0), f32(B, T, D), state(), rng.integers(1, T + 1, size=B), f32(B, T, Hs), state())
    backend("numpy")
    want = train_case(*case)
    backend("numba")
    threads = blas.set_threads()(1)                               # tiles are for one BLAS thread
    try:
        assert blas.addresses()[3] == 10 ** 6
        got = train_case(*case)
    finally:
        blas.set_threads()(threads)
    assert blas.addresses()[3] == (10 ** 6 if threads == 1 else 0)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def test_two_threads_asking_for_the_blas_addresses_at_once_both_get_them(monkeypatch):
    """The two loops of a bidirectional pair may look up BLAS for the first time together (a rank of an
    MPI run failed with KeyError when one saw the entry half set)."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from rnnkit._fast import blas
    limit, set_threads = blas.small_product_limit(), blas.set_threads()
    threads = set_threads(1)                                      # as inside a pair
    monkeypatch.setattr(blas, "_found", {})                       # nothing found yet
    monkeypatch.setattr(blas, "small_product_limit", lambda: time.sleep(0.05) or limit)
    try:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(blas.addresses)
            time.sleep(0.01)                                      # the second asks while the first looks
            second = pool.submit(blas.addresses)
            assert first.result() == second.result() is not None
    finally:
        set_threads(threads)


def test_a_pair_asked_for_inside_a_pair_runs_its_calls_one_after_the_other():
    """One pair at a time: the inner pair runs in its caller's thread, without waiting on the busy worker."""
    import threading

    from rnnkit._fast import blas, parallel
    threads = blas.set_threads()(2)
    try:
        inner = lambda: parallel.run_all(threading.get_ident, threading.get_ident)  # noqa: E731
        (a, b), (c, d) = parallel.run_all(inner, inner)
    finally:
        blas.set_threads()(threads)
    assert a == b and c == d and a != c


def test_a_forked_process_gets_its_own_worker_thread():
    """The pool's thread does not survive fork(): a child running a bidirectional layer must not wait on it."""
    import multiprocessing as mp
    layer = rk.LSTM(3, H, bidirectional=True, seed=0)
    x = np.random.default_rng(0).standard_normal((2, 4, 3)).astype(np.float32)
    want = layer.forward(x)[0]                                # the parent's pool exists from here on
    with mp.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(layer.forward, (x,)).get(timeout=60)[0]
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("layers, batch", [(1, 1), (2, 1), (3, 4)])
def test_a_compiled_stack_step_equals_the_layer_by_layer_step(layers, batch, backend, monkeypatch):
    """LSTM.step runs every layer in one compiled call (lstm_stack_step): the NumPy steps' results."""
    import rnnkit.nn.stepping as stepping_module
    lstm = rk.LSTM(5, 6, num_layers=layers, seed=1)
    rng = np.random.default_rng(2)
    xs = rng.standard_normal((4, batch, 5)).astype(np.float32)
    state0 = tuple(rng.standard_normal((layers, batch, 6)).astype(np.float32) for _ in range(2))

    def run():
        state, ys = state0, []
        for x in xs:
            y, state = lstm.step(x, state)
            ys.append(y)
        return ys + list(state)
    backend("numpy")
    want = run()
    backend("numba")
    calls, stack_step = [], stepping_module.lstm_stack_step
    monkeypatch.setattr(stepping_module, "lstm_stack_step", lambda *a: calls.append(stack_step(*a)) or calls[-1])
    got = run()
    assert calls == [-1] * 4                                      # one compiled call per time step, finite inputs
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_inside_pairs_only_blas_keeps_one_thread_and_large_products_split_in_two(monkeypatch):
    from rnnkit._fast import blas, parallel
    from rnnkit.functional.linear import linear_backward, linear_forward
    if parallel.CORES < 2 or blas.set_threads() is None:
        pytest.skip("pairs need two cores and OpenBLAS's thread control")
    calls, run_all = [], parallel.run_all
    monkeypatch.setattr(parallel, "run_all", lambda *fns: calls.append(len(fns)) or run_all(*fns))
    rng = np.random.default_rng(0)
    x, w, b, dy = (rng.standard_normal(s).astype(np.float32) for s in ((7, 300, 64), (65, 64), (65,), (7, 300, 65)))
    want = [linear_forward(x, w, b)[0], *linear_backward(dy, linear_forward(x, w, b)[1])]
    threads = blas.set_threads()(2)
    try:
        with parallel.pairs_only():
            with parallel.pairs_only():                          # re-entrant
                assert blas.get_threads()() == 1 and parallel.worth_it()
            assert blas.get_threads()() == 1
            y, cache = linear_forward(x, w, b)
            got = [y, *linear_backward(dy, cache)]
            small = parallel.matmul(x[0, :10], w.T)              # too small to split
        assert blas.get_threads()() == 2
    finally:
        blas.set_threads()(threads)
    assert calls == [2, 2, 2]                                    # y, dx and dW each in two halves
    np.testing.assert_allclose(small, x[0, :10] @ w.T, rtol=1e-5, atol=1e-5)
    for g, e in zip(got, want, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4)


def test_the_lstm_backward_writes_over_the_gates_and_serves_one_backward(backend):
    """The compiled LSTM backward writes dxw over the cached gates (one (T, B, 4H) buffer fewer): a second
    backward of the same forward is refused by name; a new forward may be differentiated again, and
    its gradients are the NumPy reference's."""
    rng = np.random.default_rng(3)
    x, dout = rng.standard_normal((6, 4, 3)).astype(np.float32), rng.standard_normal((6, 4, H)).astype(np.float32)
    w = [rng.standard_normal(s).astype(np.float32) for s in ((4 * H, 3), (4 * H, H), (4 * H,), (4 * H,))]
    state0, dstate = (np.zeros((4, H), np.float32),) * 2, (np.zeros((4, H), np.float32),) * 2
    workspace = {}

    def train():
        _, _, cache = recurrent_forward(LSTM_CELL, x, state0, *w, workspace=workspace)
        return cache, recurrent_backward(dout, dstate, cache)
    backend("numpy")
    _, (dx_want, _, grads_want) = train()
    backend("numba")
    cache, _ = train()
    with pytest.raises(RuntimeError, match="backward: this forward pass was differentiated already"):
        recurrent_backward(dout, dstate, cache)
    _, (dx, _, grads) = train()
    np.testing.assert_allclose(dx, dx_want, rtol=1e-5, atol=1e-5)
    for name, g in grads.items():
        np.testing.assert_allclose(g, grads_want[name], rtol=1e-5, atol=1e-5)


def test_with_more_cores_large_products_split_in_as_many_blocks(monkeypatch):
    from rnnkit._fast import blas, parallel
    if blas.set_threads() is None:
        pytest.skip("OpenBLAS's thread control is needed")
    monkeypatch.setattr(parallel, "CORES", 4)
    calls, run_all = [], parallel.run_all
    monkeypatch.setattr(parallel, "run_all", lambda *fns: calls.append(len(fns)) or run_all(*fns))
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((301, 128)).astype(np.float32), rng.standard_normal((128, 70)).astype(np.float32)
    threads = blas.set_threads()(3)
    try:
        with parallel.pairs_only():
            got = parallel.matmul(a, b)
    finally:
        blas.set_threads()(threads)
    assert calls == [3]
    np.testing.assert_allclose(got, a @ b, rtol=1e-5, atol=1e-5)
