"""Bidirectional merge modes: values and backward against central differences."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.functional.merge import MERGE_MODES, merge_backward, merge_forward
from tests.conftest import numeric_grad


@pytest.mark.parametrize("mode", MERGE_MODES)
def test_merge_backward(mode, rng):
    a, b = rng.standard_normal((4, 3, 5)), rng.standard_normal((4, 3, 5))
    y, cache = merge_forward([a, b], mode)
    assert y.shape == ((4, 3, 10) if mode == "concat" else (4, 3, 5))
    up = rng.standard_normal(y.shape)
    da, db = merge_backward(up, cache)
    for got, wrt in ((da, a), (db, b)):
        want = numeric_grad(lambda: float(np.sum(up * merge_forward([a, b], mode)[0])), wrt)
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)


def test_one_direction_passes_through(rng):
    a = rng.standard_normal((2, 3, 4))
    y, cache = merge_forward([a], "sum")
    assert y is a and merge_backward(a, cache)[0] is a
