"""dropout_forward / dropout_backward: identity, keep rate, scaling, determinism, gradient."""
import numpy as np
import pytest

from rnnkit.functional.dropout import dropout_backward, dropout_forward


def test_identity_when_not_training_or_p_is_zero():
    x = np.random.default_rng(0).standard_normal((3, 4))
    for p, training in [(0.5, False), (0.0, True)]:
        out, cache = dropout_forward(x, p, np.random.default_rng(1), training)
        np.testing.assert_array_equal(out, x)
        dout = np.ones_like(x)
        np.testing.assert_array_equal(dropout_backward(dout, cache), dout)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_zeroes_about_p_and_scales_the_rest(p):
    x = np.random.default_rng(0).uniform(1, 2, (200, 500))  # never zero
    out, _ = dropout_forward(x, p, np.random.default_rng(1), True)
    dropped = out == 0
    assert abs(dropped.mean() - p) < 0.01  # 100k draws: std of the rate is < 0.002
    np.testing.assert_allclose(out[~dropped], x[~dropped] / (1 - p), rtol=1e-15)


def test_same_seed_same_mask_and_dtypes_agree():
    x = np.ones((50, 40))
    a, _ = dropout_forward(x, 0.3, np.random.default_rng(7), True)
    b, _ = dropout_forward(x, 0.3, np.random.default_rng(7), True)
    c, _ = dropout_forward(x, 0.3, np.random.default_rng(8), True)
    f32, _ = dropout_forward(x.astype(np.float32), 0.3, np.random.default_rng(7), True)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert f32.dtype == np.float32
    np.testing.assert_array_equal(f32 == 0, a == 0)


def test_backward_applies_the_same_mask_float64():
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    out, cache = dropout_forward(x, 0.4, np.random.default_rng(3), True)
    dx = dropout_backward(g, cache)
    numeric, flat, eps = np.zeros(x.size), x.reshape(-1), 1e-6
    for i in range(x.size):  # the same seed for every evaluation: the same mask
        old = flat[i]
        flat[i] = old + eps
        plus = np.sum(g * dropout_forward(x, 0.4, np.random.default_rng(3), True)[0])
        flat[i] = old - eps
        minus = np.sum(g * dropout_forward(x, 0.4, np.random.default_rng(3), True)[0])
        flat[i] = old
        numeric[i] = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(dx.reshape(-1), numeric, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(dx == 0, out == 0)


def test_float32_backward_stays_float32():
    x = np.ones((3, 4), np.float32)
    out, cache = dropout_forward(x, 0.5, np.random.default_rng(0), True)
    assert out.dtype == np.float32 and dropout_backward(np.ones_like(out), cache).dtype == np.float32


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan"), "0.5"])
def test_p_must_be_in_zero_one(p):
    with pytest.raises(ValueError, match=r"p: expected a dropout probability in \[0, 1\)"):
        dropout_forward(np.ones(3), p, np.random.default_rng(0), True)
