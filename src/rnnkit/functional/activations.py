"""Element-wise activations used inside the cells, with their derivatives.

The derivatives are written in terms of the activation's *output* y, which
the forward pass already holds, so nothing else needs caching:

    σ(a) = 1 / (1 + e^{−a}) = ½ (1 + tanh(a/2))     σ'(a) = y (1 − y)
    tanh(a)                                          tanh'(a) = 1 − y² = (1 + y)(1 − y)
    relu(a) = max(a, 0)                              relu'(a) = [y > 0]

σ and tanh are one family, y = s·tanh(s·a) + m with (s, m) = (½, ½) or
(1, 0), whose derivative is (y − lo)(1 − y) with lo = 0 or −1: ``squash``
and ``squash_grad`` apply it to several gates at once, each with its own
(s, m) or lo. Every function takes ``out=`` (the result may be written over
its input) so the cells can work in preallocated buffers.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=None)
def per_gate(values: tuple, dtype: np.dtype) -> np.ndarray:
    """(G,) constants as a read-only (G, 1) array that broadcasts over (..., G, H)."""
    a = np.array(values, dtype=dtype)[:, None]
    a.flags.writeable = False
    return a


def squash(a: np.ndarray, scale: tuple, shift: tuple) -> np.ndarray:
    """In place on a (..., G, H): a_k = scale_k·tanh(scale_k·a_k) + shift_k for each gate k."""
    s = per_gate(scale, a.dtype)
    a *= s
    np.tanh(a, out=a)
    a *= s
    a += per_gate(shift, a.dtype)
    return a


def squash_grad(y: np.ndarray, lower: tuple) -> np.ndarray:
    """(y_k − lower_k)(1 − y_k) on y (..., G, H): σ' for lower 0, tanh' for lower −1."""
    d = np.subtract(y, per_gate(lower, y.dtype))
    d *= np.subtract(1, y)
    return d


def sigmoid(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic sigmoid through tanh: one transcendental, no overflow for large |a|."""
    out = np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def sigmoid_grad(y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """σ'(a) from y = σ(a)."""
    out = np.subtract(1, y, out=out)
    out *= y
    return out


def tanh_grad(y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """tanh'(a) from y = tanh(a)."""
    out = np.multiply(y, y, out=out)
    return np.subtract(1, out, out=out)


def relu(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.maximum(a, 0, out=out)


def relu_grad(y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """relu'(a) from y = relu(a) (0 at a = 0, as PyTorch), in y's dtype."""
    return np.greater(y, 0, out=np.empty_like(y) if out is None else out, casting="unsafe")
