"""What the layer over time needs to know about a recurrent cell.

A cell maps (state_{t−1}, xw_t) -> state_t, where xw_t = x_t W_ihᵀ + b_ih is
the input projection the layer computes for all time steps in one matrix
product. The recurrent projection hw_t = h_{t−1} W_hhᵀ + b_hh happens inside
the step. States are tuples: ``(h,)`` for RNN and GRU, ``(h, c)`` for LSTM;
the output of the step is always ``state[0]``.

Every cell provides:

* ``step_forward(xw, state, w_hh, b_hh, out=None) -> (state, cache)``
* ``step_backward(dstate, cache, w_hh, out=None) -> (dxw, dstate_prev)``:
  the gradients with respect to the input projection xw_t and the previous
  state.
* ``sequence_cache(xw, states, scratch) -> cache``: the cache of a whole
  sequence, each field with a leading T axis, laid over the layer's
  buffers: xw (T, B, G·H) (which a cell may overwrite, e.g. with its
  activated gates), states, a tuple of (T+1, B, H) arrays with the initial
  state at [0] and state_t at [t+1], and scratch (T, B, H) for one more
  field of the cell's own. ``step_of(cache, t)`` is step t's cache.
* ``hh_grads(dxw, cache, db_ih) -> (dW_hh, db_hh)``: the recurrent weight
  gradient summed over all steps in ONE matrix product, from the stacked
  dxw (T, B, G·H) and the sequence cache; db_ih = Σ dxw is given because
  it often is db_hh too.

Optionally, a cell may run a whole sequence in one call (a compiled loop):

* ``sequence_forward(xw, states, cache, w_hh_t, b_hh, mask, first_padded) -> bool``
  fills the states and the cache as the step loop would (w_hh_t (H, G·H) is
  W_hhᵀ, C-contiguous, or at batch 1 W_hh's own transposed view; mask (T, B, 1) or None; steps from first_padded on may
  be padded, and first_padded is T when mask is None) and returns True, or
  returns False to let the layer run the steps.
* ``sequence_backward(dout, dstate, cache, w_hh, dxw, mask, first_padded)``
  fills dxw (T, B, G·H) and returns the initial state's gradient tuple, or
  None to let the layer run the steps. dstate's arrays may be overwritten.
  A cell whose compiled loop reads each step's gates before it writes their
  gradients sets ``dxw_over_gates``: where that loop runs, the layer passes
  the cache's ``gates`` as dxw (one (T, B, G·H) buffer fewer), and the
  cache then serves one backward only.

A plain cell whose pre-activations are the plain sum xw_t + h_{t−1} W_hhᵀ + b_hh
(RNN, LSTM; not the reset-after GRU, whose b_hn is scaled by r) sets
``biases_add``: the layer then leaves b_ih out of xw and hands the step
b_ih + b_hh as its bias (one pass over xw fewer; db_ih = db_hh either way).

``out=`` works as in NumPy: a structure shaped like the return value whose
arrays receive the results (the layer passes slices of its per-sequence
buffers, so no step allocates its results); ``None`` allocates them. A
cache in ``out`` must hold the step's inputs (h_prev, ...) already.

Variant cells (:mod:`rnnkit.functional.lstm_variants`, ``gru_variants``, and
the wrappers of :mod:`rnnkit.functional.recurrent_noise`) have parameters
beyond the four, named by ``extra`` (a tuple; None marks a plain cell), and
a simpler protocol the layer over time recognises by it:

* ``step_forward(xw, state, w_hh, b_hh, *extra, t=None) -> (state, cache)``
  allocates its results; t is the step's index in processing order (for
  per-step noise such as zoneout masks; None when stepping for generation).
* ``step_backward(dstate, cache, w_hh, *extra, grads, t=None) -> (dxw, dstate_prev)``
  adds the step's share of the gradients of w_hh, b_hh and the extra
  parameters into the dict ``grads`` (keys "w_hh", "b_hh" and the ``extra``
  names), so ``hh_grads`` and the sequence functions are not used.

A state's arrays may differ in width (a projected LSTM's h is (B, P), its c
(B, H)); the layer sizes its buffers from the initial state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from rnnkit._fast import matmul


def step_of(cache: NamedTuple, t: int) -> NamedTuple:
    """Step t of a sequence cache: every field indexed at t."""
    return type(cache)(*(a[t] for a in cache))


def hh_grads_from_h_prev(dxw: np.ndarray, cache: NamedTuple, db_ih: np.ndarray):
    """dW_hh = Σ_t dxw_tᵀ h_{t−1} in one GEMM over (T·B) rows, db_hh = db_ih: for cells where
    h_{t−1} W_hhᵀ + b_hh enters the gates by a plain sum (RNN, LSTM)."""
    H = cache.h_prev.shape[-1]
    return matmul(dxw.reshape(-1, dxw.shape[-1]).T, cache.h_prev.reshape(-1, H)), db_ih.copy()


def loop_mask(mask: np.ndarray | None, first_padded: int) -> tuple[np.ndarray, int]:
    """The mask as the compiled loops take it: (T, B) booleans, or an empty (1, 0) array when nothing
    is padded (then first_padded is T: the loops never read it)."""
    return (np.empty((1, 0), bool) if mask is None else mask[..., 0]), first_padded


@dataclass(frozen=True)
class Cell:
    """A recurrent cell: its name, gate count G, state count and step functions."""

    name: str
    gates: int
    n_states: int
    step_forward: Callable
    step_backward: Callable
    sequence_cache: Callable | None
    hh_grads: Callable = hh_grads_from_h_prev
    sequence_forward: Callable | None = None
    sequence_backward: Callable | None = None
    extra: tuple[str, ...] | None = None
    dxw_over_gates: bool = False
    biases_add: bool = False


def as_variant(cell: Cell) -> Cell:
    """A plain cell under the variant-cell protocol (allocating steps that add their own w_hh and b_hh
    gradients, from ``hh_grads`` on a one-step cache), for the wrappers that change a step from outside."""
    if cell.extra is not None:
        return cell

    def step_forward(xw, state, w_hh, b_hh, t=None):
        return cell.step_forward(xw, state, w_hh, b_hh)

    def step_backward(dstate, cache, w_hh, grads, t=None):
        dxw, dprev = cell.step_backward(dstate, cache, w_hh)
        dw_hh, db_hh = cell.hh_grads(dxw[None], type(cache)(*(a[None] for a in cache)), dxw.sum(axis=0))
        grads["w_hh"] += dw_hh
        grads["b_hh"] += db_hh
        return dxw, dprev

    return Cell(cell.name, cell.gates, cell.n_states, step_forward, step_backward, None, extra=())
