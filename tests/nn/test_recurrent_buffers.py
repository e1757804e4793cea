"""The layers keep per-layer buffers between calls (for speed): nothing they return may share them."""
from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import CELLS


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("batch", [1, 3])
def test_a_second_step_equals_a_fresh_layer_and_returns_its_own_arrays(cell, batch, rng):
    layer = CELLS[cell](3, 4, num_layers=2, dtype="float64", seed=0)
    fresh = CELLS[cell](3, 4, num_layers=2, dtype="float64", seed=0)
    x1, x2 = rng.standard_normal((2, batch, 6, 3))
    dout = rng.standard_normal((batch, 6, 4))
    out1, _ = layer.forward(x1)
    dx1, _ = layer.backward(dout)
    kept = out1.copy(), dx1.copy()
    out2, state2 = layer.forward(x2)
    layer.zero_grad()
    dx2, dstate2 = layer.backward(dout)
    np.testing.assert_array_equal(out1, kept[0])   # the first step's results were not overwritten
    np.testing.assert_array_equal(dx1, kept[1])
    want_out, want_state = fresh.forward(x2)
    want_dx, want_dstate = fresh.backward(dout)
    as_tuple = (lambda s: s if isinstance(s, tuple) else (s,))
    for got, want in zip((out2, *as_tuple(state2), dx2, *as_tuple(dstate2), *layer.grads.values()),
                         (want_out, *as_tuple(want_state), want_dx, *as_tuple(want_dstate), *fresh.grads.values()),
                         strict=True):
        np.testing.assert_array_equal(got, want)
