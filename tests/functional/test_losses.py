"""Losses: values against naive formulas (with masks), float64 gradient checks, stability, errors."""
import math

import numpy as np
import pytest

from rnnkit.functional.losses import binary_cross_entropy_with_logits, log_softmax, mse, softmax, softmax_cross_entropy


def check_grad(loss_fn, z, analytic, eps=1e-5):
    """Central differences of loss_fn(z)[0] against ``analytic``; returns the max relative error.

    eps = 1e-5, not 1e-6: the loss is one O(1) scalar, so its rounding error
    (~1e-16 / eps) dominates the O(eps^2) truncation error at 1e-6.
    """
    numeric, flat = np.zeros(z.size), z.reshape(-1)
    for i in range(z.size):
        old = flat[i]
        flat[i] = old + eps
        plus = float(loss_fn(z)[0])
        flat[i] = old - eps
        minus = float(loss_fn(z)[0])
        flat[i] = old
        numeric[i] = (plus - minus) / (2 * eps)
    den = np.maximum(np.maximum(np.abs(analytic.reshape(-1)), np.abs(numeric)), 1e-3 * np.abs(numeric).max())
    return float(np.max(np.abs(analytic.reshape(-1) - numeric) / den))


def naive_cross_entropy(logits, targets, mask):
    total, count = 0.0, 0
    for pos in np.ndindex(targets.shape):
        if mask[pos]:
            z = logits[pos]
            total -= z[targets[pos]] - math.log(sum(math.exp(v) for v in z))
            count += 1
    return total / count


# -- softmax helpers ---------------------------------------------------------------
def test_softmax_and_log_softmax_match_naive_and_are_stable(rng):
    z = rng.standard_normal((3, 5))
    naive = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    np.testing.assert_allclose(softmax(z), naive, rtol=1e-12)
    np.testing.assert_allclose(log_softmax(z), np.log(naive), rtol=1e-12)
    big = np.array([[1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(softmax(big), [[1, 0, 0]], atol=1e-300)
    np.testing.assert_allclose(log_softmax(big), [[0, -1000, -2000]])
    assert softmax(z.astype(np.float32)).dtype == np.float32


# -- cross-entropy ------------------------------------------------------------------
@pytest.mark.parametrize("lead", [(6,), (2, 4)])
def test_cross_entropy_value_and_gradient_with_mask(rng, lead):
    logits = rng.standard_normal(lead + (5,)) * 3
    targets = rng.integers(0, 5, lead)
    mask = rng.random(lead) < 0.7
    mask.reshape(-1)[0] = True
    loss, dlogits = softmax_cross_entropy(logits, targets, mask)
    assert math.isclose(loss, naive_cross_entropy(logits, targets, mask), rel_tol=1e-12)
    assert not dlogits[~mask].any()  # padding gets zero gradient
    assert check_grad(lambda z: softmax_cross_entropy(z, targets, mask), logits, dlogits) <= 1e-6
    loss01, d01 = softmax_cross_entropy(logits, targets, mask.astype(int))
    assert loss01 == loss and np.array_equal(d01, dlogits)


def test_cross_entropy_without_mask_is_the_mean_over_all_tokens(rng):
    logits, targets = rng.standard_normal((2, 3, 4)), rng.integers(0, 4, (2, 3))
    loss, dlogits = softmax_cross_entropy(logits, targets)
    assert math.isclose(loss, naive_cross_entropy(logits, targets, np.ones((2, 3))), rel_tol=1e-12)
    assert check_grad(lambda z: softmax_cross_entropy(z, targets), logits, dlogits) <= 1e-6


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]])
    loss, dlogits = softmax_cross_entropy(logits, np.array([0, 1]))
    assert math.isclose(loss, math.log(2) / 2, rel_tol=1e-12)
    assert np.isfinite(dlogits).all()
    np.testing.assert_allclose(dlogits, [[0, 0, 0], [0, -0.25, 0.25]], atol=1e-15)


def test_cross_entropy_float32(rng):
    logits = rng.standard_normal((2, 3, 4)).astype(np.float32)
    targets = rng.integers(0, 4, (2, 3))
    loss, dlogits = softmax_cross_entropy(logits, targets)
    assert loss.dtype == np.float32 and dlogits.dtype == np.float32
    ref, _ = softmax_cross_entropy(logits.astype(np.float64), targets)
    assert math.isclose(loss, ref, rel_tol=1e-6)


def test_cross_entropy_ignores_targets_at_padding(rng):
    logits = rng.standard_normal((2, 3, 4))
    targets = np.array([[1, 2, -1], [3, -1, -1]])
    mask = targets >= 0
    loss, dlogits = softmax_cross_entropy(logits, targets, mask)
    assert math.isclose(loss, naive_cross_entropy(logits, np.maximum(targets, 0), mask), rel_tol=1e-12)


@pytest.mark.parametrize("targets, mask, match", [
    (np.array([[0, 1, 4], [0, 0, 0]]), None, r"targets: expected class ids in 0\.\.3 \(V = 4\), given targets\[0, 2\] = 4"),
    (np.array([[0, 1, 2], [-1, 0, 0]]), None, r"targets\[1, 0\] = -1"),
    (np.zeros((2, 3), int), np.zeros((2, 3)), r"mask: expected at least one real"),
    (np.zeros((2, 3), int), np.full((2, 3), 2), r"mask: expected 0/1 or bool values"),
    (np.zeros((2, 4), int), None, r"targets: expected shape \(2, 3\), given shape \(2, 4\)"),
    (np.zeros((2, 3), int), np.ones(3), r"mask: expected a 2-D array"),
    (np.zeros((2, 3)), None, r"targets: expected integer class ids, given dtype float64"),
])
def test_cross_entropy_errors(rng, targets, mask, match):
    with pytest.raises(ValueError, match=match):
        softmax_cross_entropy(rng.standard_normal((2, 3, 4)), targets, mask)


def test_cross_entropy_rejects_integer_logits():
    with pytest.raises(ValueError, match=r"logits: expected a float32 or float64 array, given dtype int64"):
        softmax_cross_entropy(np.zeros((2, 3), np.int64), np.zeros(2, int))


# -- binary cross-entropy -----------------------------------------------------------
def naive_bce(z, y, mask):
    total = 0.0
    for pos in np.ndindex(z.shape):
        if mask[pos]:
            s = 1 / (1 + math.exp(-z[pos]))
            total -= y[pos] * math.log(s) + (1 - y[pos]) * math.log(1 - s)
    return total / mask.sum()


def test_bce_value_and_gradient_with_mask(rng):
    z, y = rng.standard_normal((3, 4)) * 3, rng.random((3, 4))
    mask = np.array([[1, 1, 0, 1], [0, 1, 1, 1], [1, 0, 0, 0]])
    loss, dz = binary_cross_entropy_with_logits(z, y, mask)
    assert math.isclose(loss, naive_bce(z, y, mask), rel_tol=1e-12)
    assert not dz[mask == 0].any()
    assert check_grad(lambda a: binary_cross_entropy_with_logits(a, y, mask), z, dz) <= 1e-6
    full, _ = binary_cross_entropy_with_logits(z, y)
    assert math.isclose(full, naive_bce(z, y, np.ones((3, 4))), rel_tol=1e-12)


def test_bce_is_stable_for_huge_logits():
    z, y = np.array([1000.0, -1000.0, 1000.0]), np.array([1.0, 0.0, 0.0])
    loss, dz = binary_cross_entropy_with_logits(z, y)
    assert math.isclose(loss, 1000 / 3, rel_tol=1e-12)
    np.testing.assert_allclose(dz, [0, 0, 1 / 3], atol=1e-300)
    l32, d32 = binary_cross_entropy_with_logits(z.astype(np.float32), y)
    assert l32.dtype == np.float32 and d32.dtype == np.float32 and np.isfinite(d32).all()


def test_bce_targets_must_be_in_zero_one():
    with pytest.raises(ValueError, match=r"targets: expected values in \[0, 1\], given targets\[1\] = 1.5"):
        binary_cross_entropy_with_logits(np.zeros(3), np.array([0.0, 1.5, 1.0]))


# -- mean squared error -------------------------------------------------------------
def test_mse_value_and_gradient_with_mask(rng):
    p, t = rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 3, 2))
    mask = rng.random((2, 3, 2)) < 0.6
    mask[0, 0, 0] = True
    loss, dp = mse(p, t, mask)
    naive = sum((p[i] - t[i]) ** 2 for i in np.ndindex(p.shape) if mask[i]) / mask.sum()
    assert math.isclose(loss, naive, rel_tol=1e-12)
    assert not dp[~mask].any()
    assert check_grad(lambda a: mse(a, t, mask), p, dp) <= 1e-6


def test_mse_without_mask_is_torch_mean_and_float32(rng):
    p, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    loss, dp = mse(p, t)
    assert math.isclose(loss, np.mean((p - t) ** 2), rel_tol=1e-12)
    np.testing.assert_allclose(dp, 2 * (p - t) / 12, rtol=1e-12)
    l32, d32 = mse(p.astype(np.float32), t)
    assert l32.dtype == np.float32 and d32.dtype == np.float32


def test_empty_input_has_no_mean():
    with pytest.raises(ValueError, match=r"logits: expected at least one entry to average over"):
        softmax_cross_entropy(np.zeros((0, 4)), np.zeros(0, int))


def test_mse_shape_mismatch():
    with pytest.raises(ValueError, match=r"target: expected shape \(4, 3\), given shape \(4, 2\)"):
        mse(np.zeros((4, 3)), np.zeros((4, 2)))
