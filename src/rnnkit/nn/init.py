"""Weight initialisers for the recurrent layers.

* ``"torch"`` (default): every weight and bias ~ U(−1/√H, 1/√H), as PyTorch's
  ``nn.RNN/LSTM/GRU.reset_parameters``.
* ``"keras"``: Keras' defaults — Glorot-uniform input weights
  (limit √(6 / (fan_in + fan_out)) over the whole fused (G·H, D) matrix),
  orthogonal recurrent weights, zero biases, and for the LSTM a forget-gate
  bias of 1 (``unit_forget_bias``).
"""
from __future__ import annotations

import numpy as np

INITS = ("torch", "keras")


def uniform(rng: np.random.Generator, shape, bound: float) -> np.ndarray:
    return rng.uniform(-bound, bound, size=shape)


def glorot_uniform(rng: np.random.Generator, shape) -> np.ndarray:
    fan_out, fan_in = shape
    return uniform(rng, shape, np.sqrt(6.0 / (fan_in + fan_out)))


def orthogonal(rng: np.random.Generator, shape) -> np.ndarray:
    """A (rows, cols) matrix with orthonormal columns (rows ≥ cols) or rows.

    As Keras' ``Orthogonal``: QR of a Gaussian matrix, signs fixed by diag(R)
    so the result is uniformly distributed.
    """
    rows, cols = shape
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    return q if rows >= cols else q.T


def recurrent_weights(rng, init: str, gates: int, in_size: int, hidden: int, forget_gate: int | None):
    """(w_ih, w_hh, b_ih, b_hh) in PyTorch's shapes for one layer and direction.

    ``forget_gate`` is the index of the forget-gate block (LSTM: 1) that
    Keras' init sets to 1, or None.
    """
    shape_ih, shape_hh, shape_b = (gates * hidden, in_size), (gates * hidden, hidden), (gates * hidden,)
    if init == "torch":
        k = 1.0 / np.sqrt(hidden)
        return tuple(uniform(rng, s, k) for s in (shape_ih, shape_hh, shape_b, shape_b))
    if init == "keras":
        b_ih = np.zeros(shape_b)
        if forget_gate is not None:
            b_ih[forget_gate * hidden:(forget_gate + 1) * hidden] = 1.0
        return glorot_uniform(rng, shape_ih), orthogonal(rng, shape_hh), b_ih, np.zeros(shape_b)
    raise ValueError(f"init: expected one of {INITS}, given {init!r}")
