"""Block-wise layer normalisation: the equations, and the backward against central differences."""
from __future__ import annotations

import numpy as np

from rnnkit.functional.layernorm import EPS, layernorm_backward, layernorm_forward
from tests.conftest import numeric_grad


def test_each_block_is_normalised_on_its_own(rng):
    a = rng.standard_normal((3, 4 * 5)) * 3 + np.repeat([1.0, -2.0, 5.0, 0.0], 5)
    y, _ = layernorm_forward(a, np.ones(20), np.zeros(20), 4)
    blocks = y.reshape(3, 4, 5)
    np.testing.assert_allclose(blocks.mean(axis=-1), 0, atol=1e-12)
    want = (a.reshape(3, 4, 5).var(axis=-1) / (a.reshape(3, 4, 5).var(axis=-1) + EPS))
    np.testing.assert_allclose(blocks.var(axis=-1), want, rtol=1e-12)


def test_backward_matches_finite_differences(rng):
    a, gamma, beta = rng.standard_normal((3, 12)), rng.standard_normal(12), rng.standard_normal(12)
    up = rng.standard_normal((3, 12))

    def loss():
        return float(np.sum(up * layernorm_forward(a, gamma, beta, 3)[0]))

    _, cache = layernorm_forward(a, gamma, beta, 3)
    da, dgamma, dbeta = layernorm_backward(up, cache, gamma)
    for got, wrt in ((da, a), (dgamma, gamma), (dbeta, beta)):
        np.testing.assert_allclose(got, numeric_grad(loss, wrt, eps=1e-6), rtol=1e-6, atol=1e-8)
