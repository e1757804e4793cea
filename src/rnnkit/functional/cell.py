"""What the layer over time needs to know about a recurrent cell.

A cell maps (state_{t−1}, xw_t) -> state_t, where xw_t = x_t W_ihᵀ + b_ih is
the input projection the layer computes for all time steps in one matrix
product. The recurrent projection hw_t = h_{t−1} W_hhᵀ + b_hh happens inside
the step. States are tuples: ``(h,)`` for RNN and GRU, ``(h, c)`` for LSTM;
the output of the step is always ``state[0]``.

Every cell provides:

* ``step_forward(xw, state, w_hh, b_hh) -> (state, cache)``
* ``step_backward(dstate, cache, w_hh) -> (dxw, dhw, dstate_prev)``: the
  gradients with respect to the input projection xw_t, the recurrent
  pre-activation hw_t, and the previous state.
* ``hh_weight_grad(dhw, caches) -> dW_hh``: the recurrent weight gradient
  summed over all steps in ONE matrix product, dW_hh = Σ_t dhw_tᵀ u_t where
  u_t is what W_hh multiplied at step t (h_{t−1}, or r_t ⊙ h_{t−1} for the
  textbook GRU's candidate block).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np


def hh_grad_from_h_prev(dhw: np.ndarray, caches: Sequence) -> np.ndarray:
    """dW_hh = Σ_t dhw_tᵀ h_{t−1}: (T, B, G·H) x (T, B, H) -> (G·H, H), one GEMM."""
    h_prev = np.stack([c.h_prev for c in caches])
    return dhw.reshape(-1, dhw.shape[-1]).T @ h_prev.reshape(-1, h_prev.shape[-1])


@dataclass(frozen=True)
class Cell:
    """A recurrent cell: its name, gate count G, state count and step functions."""

    name: str
    gates: int
    n_states: int
    step_forward: Callable
    step_backward: Callable
    hh_weight_grad: Callable = hh_grad_from_h_prev
