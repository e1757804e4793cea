"""The GRU's variant steps (layer norm, variational recurrent dropout): backward against central differences
and the equations they stand for."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.functional.activations import sigmoid
from rnnkit.functional.gru import gru_cell
from rnnkit.functional.gru_variants import gru_layer_norm_cell, gru_variational_cell
from tests.functional.variant_steps import B, H, check_step, problem


def test_layer_norm_gru_step_backward(rng):
    check_step(gru_layer_norm_cell(), rng, (H,), H)


@pytest.mark.parametrize("layer_norm", [False, True])
def test_variational_gru_step_backward(layer_norm, rng):
    base = gru_layer_norm_cell() if layer_norm else gru_cell(True)
    check_step(gru_variational_cell(base, rng.uniform(0, 2, (B, H))), rng, (H,), H)


def test_variational_gru_masks_the_recurrent_product_only(rng):
    """Keras' GRU: (h_{t−1} ⊙ m) W_hhᵀ in the gates, the unmasked h_{t−1} in the update."""
    mask = rng.uniform(0, 2, (B, H))
    xw, w_hh, b_hh, _, (h0,) = problem(gru_cell(True), rng, (H,), H)
    (h,), _ = gru_variational_cell(gru_cell(True), mask).step_forward(xw, (h0,), w_hh, b_hh)
    a, u = xw.reshape(B, 3, H), ((h0 * mask) @ w_hh.T + b_hh).reshape(B, 3, H)
    r, z = sigmoid(a[:, 0] + u[:, 0]), sigmoid(a[:, 1] + u[:, 1])
    n = np.tanh(a[:, 2] + r * u[:, 2])
    np.testing.assert_allclose(h, (1 - z) * n + z * h0, atol=1e-14)
