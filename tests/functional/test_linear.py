"""linear_forward / linear_backward: values against a per-step loop, float64 gradient check."""
import numpy as np
import pytest

from rnnkit.functional.linear import linear_backward, linear_forward
from tests.conftest import numeric_grad


def rel_error(a, n):
    den = np.maximum(np.maximum(np.abs(a), np.abs(n)), 1e-3 * np.abs(n).max())
    return float(np.max(np.abs(a - n) / den))


@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3), (3,)])
def test_forward_matches_a_loop_over_rows(rng, shape):
    x, w, b = rng.standard_normal(shape), rng.standard_normal((6, 3)), rng.standard_normal(6)
    out, _ = linear_forward(x, w, b)
    rows = x.reshape(-1, 3)
    expected = np.stack([[w[m] @ rows[n] + b[m] for m in range(6)] for n in range(len(rows))])
    assert out.shape == shape[:-1] + (6,)
    np.testing.assert_allclose(out, expected.reshape(out.shape), rtol=1e-12)


def test_no_bias(rng):
    x, w = rng.standard_normal((2, 5, 3)), rng.standard_normal((6, 3))
    out, cache = linear_forward(x, w, None)
    np.testing.assert_allclose(out, x @ w.T, rtol=1e-12)
    assert linear_backward(np.ones_like(out), cache)[2] is None


@pytest.mark.parametrize("bias", [True, False])
def test_gradients_float64(rng, bias):
    x, w = rng.standard_normal((2, 4, 3)), rng.standard_normal((5, 3))
    b = rng.standard_normal(5) if bias else None
    g = rng.standard_normal((2, 4, 5))

    def loss():
        return float(np.sum(g * linear_forward(x, w, b)[0]))

    _, cache = linear_forward(x, w, b)
    dx, dw, db = linear_backward(g, cache)
    assert rel_error(dx, numeric_grad(loss, x)) <= 1e-6
    assert rel_error(dw, numeric_grad(loss, w)) <= 1e-6
    if bias:
        assert rel_error(db, numeric_grad(loss, b)) <= 1e-6


def test_weight_gradient_is_the_sum_over_time_steps(rng):
    x, w, b = rng.standard_normal((2, 4, 3)), rng.standard_normal((5, 3)), rng.standard_normal(5)
    g = rng.standard_normal((2, 4, 5))
    _, dw, db = linear_backward(g, linear_forward(x, w, b)[1])
    np.testing.assert_allclose(dw, sum(g[:, t].T @ x[:, t] for t in range(4)), rtol=1e-12)
    np.testing.assert_allclose(db, g.sum(axis=(0, 1)), rtol=1e-12)


def test_float32_stays_float32(rng):
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    w, b = rng.standard_normal((5, 3)).astype(np.float32), np.zeros(5, np.float32)
    out, cache = linear_forward(x, w, b)
    assert out.dtype == np.float32
    assert all(a.dtype == np.float32 for a in linear_backward(np.ones_like(out), cache))
