"""Noise inside the recurrence: variational recurrent dropout, weight-drop and zoneout.

Legend: T time steps, B batch, H units of a state (P for a projected LSTM's h),
G gates. Each is off in evaluation (``training=False``), and every mask is
drawn from the caller's generator (uniforms in float64 whatever the dtype,
so one seed gives the same masks in float32 and float64).

Variational recurrent dropout (Gal & Ghahramani 2016; Keras' ``recurrent_dropout``):
one mask m (B, H) per sequence, the same at every step, on h_{t−1} where it
enters the recurrent product only,

    a_t = ... + (h_{t−1} ⊙ m) W_hhᵀ,      m = Bernoulli(1 − p) / (1 − p),

so for the LSTM and the RNN (where that product is h_{t−1}'s only way in)
the cell is wrapped: it is handed h_{t−1} ⊙ m, and dh_{t−1} is multiplied by m.
(The GRU's update also reads h_{t−1}, unmasked: its steps take the mask
themselves, :func:`rnnkit.functional.gru_variants.gru_variational_cell`.)

Weight-drop (DropConnect on W_hh, Merity et al. 2017, AWD-LSTM): one mask per
batch on the recurrent weights, W̃_hh = W_hh ⊙ M / (1 − p), shared by all
steps and sequences; dW_hh = dW̃_hh ⊙ M / (1 − p). The cell is unchanged.

Zoneout (Krueger et al. 2016): each unit of each state keeps its previous
value with probability p at each step,

    s_t = d_t ⊙ s_{t−1} + (1 − d_t) ⊙ s̃_t,   d_t ~ Bernoulli(p) (T, B, H) in training,
    s_t = p s_{t−1} + (1 − p) s̃_t           in evaluation (the expectation),

for every state (h, and c of the LSTM, each with its own p: the paper uses
a small p_h and a large p_c), s̃_t the cell's new state.
Backward: ds̃_t = (1 − d_t) ⊙ ds_t, and ds_{t−1} gains d_t ⊙ ds_t.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.functional.cell import Cell, as_variant


def keep_mask(rng: np.random.Generator, shape: tuple, p: float, dtype) -> np.ndarray:
    """Bernoulli(1 − p) / (1 − p) of ``shape`` in ``dtype``: an inverted-dropout mask."""
    mask = (rng.random(shape) >= p).astype(dtype)
    mask *= 1.0 / (1.0 - p)
    return mask


def weight_drop_forward(w_hh: np.ndarray, p: float, rng: np.random.Generator, training: bool = True):
    """W_hh (G·H, H) -> (W̃_hh, mask or None): DropConnect once per batch; W_hh itself when off."""
    if not training or p == 0:
        return w_hh, None
    mask = keep_mask(rng, w_hh.shape, p, w_hh.dtype)
    return w_hh * mask, mask


def weight_drop_backward(dw: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """dW̃_hh -> dW_hh: the same mask and scale."""
    return dw if mask is None else dw * mask


def variational_cell(cell: Cell, mask: np.ndarray) -> Cell:
    """``cell`` (LSTM or RNN, plain or variant) with h_{t−1} ⊙ mask (B, H) in its recurrent product."""
    base = as_variant(cell)

    def step_forward(xw, state, w_hh, b_hh, *extra, t=None):
        return base.step_forward(xw, (state[0] * mask,) + tuple(state[1:]), w_hh, b_hh, *extra, t=t)

    def step_backward(dstate, cache, w_hh, *extra, grads, t=None):
        dxw, dprev = base.step_backward(dstate, cache, w_hh, *extra, grads=grads, t=t)
        return dxw, (dprev[0] * mask,) + tuple(dprev[1:])

    return Cell(base.name + "+recurrent_dropout", base.gates, base.n_states, step_forward, step_backward, None,
                extra=base.extra)


class ZoneoutCache(NamedTuple):
    inner: NamedTuple   # the wrapped cell's cache
    keep: tuple         # per state: d_t (B, H), or the scalar p in evaluation


def zoneout_cell(cell: Cell, rates: tuple, masks: tuple | None) -> Cell:
    """``cell`` with zoneout at ``rates`` (p per state): ``masks`` a (T, B, H) 0/1 array per state (1 = keep
    the previous value), drawn for a training sequence in processing order; None: evaluation,
    s_t = p s_{t−1} + (1 − p) s̃_t."""
    base = as_variant(cell)

    def keep(t):
        return tuple(rates) if masks is None or t is None else tuple(m[t] for m in masks)

    def step_forward(xw, state, w_hh, b_hh, *extra, t=None):
        new, inner = base.step_forward(xw, state, w_hh, b_hh, *extra, t=t)
        d = keep(t)
        return tuple(s + dk * (s_prev - s) for s, s_prev, dk in zip(new, state, d)), ZoneoutCache(inner, d)

    def step_backward(dstate, cache, w_hh, *extra, grads, t=None):
        d = cache.keep
        dnew = tuple((1 - dk) * ds for ds, dk in zip(dstate, d))
        dxw, dprev = base.step_backward(dnew, cache.inner, w_hh, *extra, grads=grads, t=t)
        return dxw, tuple(dp + dk * ds for dp, ds, dk in zip(dprev, dstate, d))

    return Cell(base.name + "+zoneout", base.gates, base.n_states, step_forward, step_backward, None,
                extra=base.extra)


def zoneout_masks(rng: np.random.Generator, widths: tuple, T: int, B: int, rates: tuple, dtype) -> tuple:
    """One (T, B, width) 0/1 mask per state: 1 (keep the previous value) with that state's probability."""
    return tuple((rng.random((T, B, w)) < p).astype(dtype) for w, p in zip(widths, rates))
