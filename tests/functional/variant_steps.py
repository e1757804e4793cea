"""Shared by the variant cells' tests: a random step problem and the check of a step's backward (every
gradient of the variant-cell protocol against central differences, float64)."""
from __future__ import annotations

import numpy as np

from tests.conftest import numeric_grad

B, H, P = 3, 4, 2
SHAPES = {"weight_hr": (P, H), "peephole": (3 * H,), "ln_ih_weight": (4 * H,), "ln_ih_bias": (4 * H,),
          "ln_hh_weight": (4 * H,), "ln_hh_bias": (4 * H,), "ln_c_weight": (H,), "ln_c_bias": (H,)}


def problem(cell, rng, widths, hh_width):
    G = cell.gates
    xw, w_hh, b_hh = rng.standard_normal((B, G * H)), rng.standard_normal((G * H, hh_width)) / 2, \
        rng.standard_normal(G * H)
    shapes = dict(SHAPES, ln_ih_weight=(G * H,), ln_ih_bias=(G * H,), ln_hh_weight=(G * H,), ln_hh_bias=(G * H,))
    extra = tuple(rng.standard_normal(shapes[n]) for n in cell.extra or ())
    state = tuple(rng.standard_normal((B, w)) for w in widths)
    return xw, w_hh, b_hh, extra, state


def check_step(cell, rng, widths, hh_width, t=None):
    xw, w_hh, b_hh, extra, state = problem(cell, rng, widths, hh_width)
    up = [rng.standard_normal((B, w)) for w in widths]

    def loss():
        new, _ = cell.step_forward(xw, state, w_hh, b_hh, *extra, t=t)
        return sum(float(np.sum(u * s)) for u, s in zip(up, new))

    _, cache = cell.step_forward(xw, state, w_hh, b_hh, *extra, t=t)
    grads = {"w_hh": np.zeros_like(w_hh), "b_hh": np.zeros_like(b_hh)}
    grads.update((n, np.zeros_like(e)) for n, e in zip(cell.extra, extra))
    dxw, dprev = cell.step_backward(tuple(up), cache, w_hh, *extra, grads=grads, t=t)
    pairs = [(dxw, xw), (grads["w_hh"], w_hh), (grads["b_hh"], b_hh), *zip(dprev, state),
             *((grads[n], e) for n, e in zip(cell.extra, extra))]
    for got, wrt in pairs:
        np.testing.assert_allclose(got, numeric_grad(loss, wrt, eps=1e-6), rtol=1e-6, atol=1e-8)
