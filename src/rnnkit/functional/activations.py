"""Element-wise activations used inside the cells, with their derivatives.

The derivatives are written in terms of the activation's *output* y, which
the forward pass already holds, so nothing else needs caching:

    σ(a) = 1 / (1 + e^{−a}) = ½ (1 + tanh(a/2))     σ'(a) = y (1 − y)
    tanh(a)                                          tanh'(a) = 1 − y²
    relu(a) = max(a, 0)                              relu'(a) = [y > 0]
"""
from __future__ import annotations

import numpy as np


def sigmoid(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic sigmoid through tanh: one transcendental, no overflow for large |a|."""
    out = np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1
    out *= 0.5
    return out


def sigmoid_grad(y: np.ndarray) -> np.ndarray:
    """σ'(a) from y = σ(a)."""
    return y * (1 - y)


def tanh_grad(y: np.ndarray) -> np.ndarray:
    """tanh'(a) from y = tanh(a)."""
    return 1 - y * y


def relu(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0)


def relu_grad(y: np.ndarray) -> np.ndarray:
    """relu'(a) from y = relu(a) (0 at a = 0, as PyTorch)."""
    return (y > 0).astype(y.dtype)
