"""Gradient clipping: the global norm and both clips against hand computations, in-place
updates, dtypes, non-finite gradients and argument errors."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

from rnnkit.optim import clip_grad_norm, clip_grad_value, grad_norm


def grads345():
    """Gradients of global norm sqrt(9 + 16 + 144) = 13, spread over arrays of three shapes."""
    return {"w": np.array([[3.0, 0.0], [0.0, -4.0]]), "b": np.array([12.0]), "s": np.array(0.0)}


def test_grad_norm_by_hand():
    assert grad_norm(grads345()) == 13.0
    assert grad_norm({}) == 0.0


def test_clip_grad_norm_scales_every_array_in_place():
    grads = grads345()
    refs = dict(grads)
    assert clip_grad_norm(grads, max_norm=6.5) == 13.0  # the norm before clipping
    scale = 6.5 / (13.0 + 1e-6)  # PyTorch's clip_grad_norm_ guard
    for k, want in grads345().items():
        assert grads[k] is refs[k]
        np.testing.assert_allclose(grads[k], want * scale, rtol=1e-15)
    assert grad_norm(grads) == pytest.approx(6.5, rel=1e-6)


@pytest.mark.parametrize("max_norm", [13.0, 20.0])
def test_clip_grad_norm_leaves_small_gradients_alone(max_norm):
    grads = grads345()
    assert clip_grad_norm(grads, max_norm) == 13.0
    for k, want in grads345().items():
        np.testing.assert_array_equal(grads[k], want)


def test_float32_gradients_stay_float32_and_the_norm_is_taken_in_float64():
    # squares of these overflow float32 (max 3.4e38), not float64
    grads = {"w": np.array([3e19, 4e19], np.float32)}
    norm = clip_grad_norm(grads, max_norm=1.0)
    assert norm == pytest.approx(5e19, rel=1e-7)
    assert grads["w"].dtype == np.float32
    np.testing.assert_allclose(grads["w"], [0.6, 0.8], rtol=1e-6)


def test_clip_grad_value_clamps_in_place_and_returns_the_norm_before():
    grads = grads345()
    refs = dict(grads)
    assert clip_grad_value(grads, clip_value=3.5) == 13.0
    for k, want in grads345().items():
        assert grads[k] is refs[k]
        np.testing.assert_array_equal(grads[k], np.minimum(np.maximum(want, -3.5), 3.5))
    np.testing.assert_array_equal(grads["w"], [[3.0, 0.0], [0.0, -3.5]])
    grads32 = {"w": np.array([-2.0, 0.5], np.float32)}
    clip_grad_value(grads32, 1)
    assert grads32["w"].dtype == np.float32 and grads32["w"].tolist() == [-1.0, 0.5]


@pytest.mark.parametrize("bad, is_nan", [(np.inf, False), (-np.inf, False), (np.nan, True)])
@pytest.mark.parametrize("clip", [lambda g: clip_grad_norm(g, 1.0), lambda g: clip_grad_value(g, 1.0)])
def test_non_finite_gradients_are_reported_and_left_unchanged(clip, bad, is_nan):
    grads = grads345()
    grads["b"][0] = bad
    norm = clip(grads)
    assert math.isnan(norm) if is_nan else norm == math.inf
    np.testing.assert_array_equal(grads["w"], grads345()["w"])
    np.testing.assert_array_equal(grads["b"], [bad])


@pytest.mark.parametrize("clip, name", [(clip_grad_norm, "max_norm"), (clip_grad_value, "clip_value")])
@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), "big"])
def test_bad_thresholds(clip, name, value):
    with pytest.raises(ValueError, match=re.escape(f"{name}: expected a finite number > 0, given {value!r}")):
        clip(grads345(), value)


def test_gradients_must_be_arrays():
    with pytest.raises(TypeError, match=r"grads\['w'\]: expected a NumPy array \(clipped in place\), given list"):
        clip_grad_norm({"w": [1.0, 2.0]}, 1.0)
