"""Masks of the recurrent noise: weight-drop, variational masks, zoneout masks."""
from __future__ import annotations

import numpy as np

from rnnkit.functional.recurrent_noise import keep_mask, weight_drop_backward, weight_drop_forward, zoneout_masks


def test_weight_drop_masks_once_and_scales(rng):
    w = rng.standard_normal((40, 10))
    dropped, mask = weight_drop_forward(w, 0.25, np.random.default_rng(0))
    assert set(np.unique(mask)) == {0.0, 1 / 0.75}
    np.testing.assert_array_equal(dropped, w * mask)
    np.testing.assert_array_equal(weight_drop_backward(np.ones_like(w), mask), mask)
    assert 0.15 < (mask == 0).mean() < 0.35


def test_weight_drop_off_in_eval_and_at_zero(rng):
    w = rng.standard_normal((4, 2))
    for p, training in ((0.5, False), (0.0, True)):
        same, mask = weight_drop_forward(w, p, rng, training)
        assert same is w and mask is None and weight_drop_backward(w, None) is w


def test_masks_are_seeded_and_dtype_independent():
    a = keep_mask(np.random.default_rng(3), (5, 6), 0.3, np.float32)
    b = keep_mask(np.random.default_rng(3), (5, 6), 0.3, np.float64)
    np.testing.assert_allclose(a, b, rtol=1e-7)
    z = zoneout_masks(np.random.default_rng(3), (2, 4), 7, 3, (0.4, 0.4), np.float64)
    assert [m.shape for m in z] == [(7, 3, 2), (7, 3, 4)]
    assert set(np.unique(np.concatenate([m.ravel() for m in z]))) == {0.0, 1.0}
