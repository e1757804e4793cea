"""The recurrent noise: weight-drop, the masks, and the variational and zoneout wrappers' steps against central
differences."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.functional.lstm import LSTM_CELL
from rnnkit.functional.lstm_variants import lstm_variant_cell
from rnnkit.functional.recurrent_noise import (keep_mask, variational_cell, weight_drop_backward, weight_drop_forward,
                                              zoneout_cell, zoneout_masks)
from rnnkit.functional.rnn import rnn_cell
from tests.functional.variant_steps import B, H, P, check_step


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


@pytest.mark.parametrize("base", ["lstm", "lstm_proj", "rnn"])
def test_noise_wrappers_step_backward(base, rng):
    cell = {"lstm": LSTM_CELL, "lstm_proj": lstm_variant_cell(True), "rnn": rnn_cell("tanh")}[base]
    widths = {"lstm": (H, H), "lstm_proj": (P, H), "rnn": (H,)}[base]
    mask = rng.uniform(0, 2, (B, widths[0]))
    check_step(variational_cell(cell, mask), rng, widths, widths[0])
    masks = tuple((rng.random((1, B, w)) < 0.5).astype(float) for w in widths)
    check_step(zoneout_cell(variational_cell(cell, mask), (0.5, 0.5), masks), rng, widths, widths[0], t=0)
    check_step(zoneout_cell(cell, (0.3, 0.6)[:len(widths)], None), rng, widths, widths[0])
