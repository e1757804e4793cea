"""Inverted dropout: zero each entry with probability p, scale the rest by 1/(1-p).

Shapes: any; the mask has the shape of x. In training,

    m ~ Bernoulli(1 - p) elementwise,      y = x ⊙ m / (1 - p),

so E[y] = x and nothing needs rescaling at evaluation time, where y = x
(also when p = 0). Backward: dx = dy ⊙ m / (1 - p).

The uniforms are drawn in float64 whatever x's dtype, so one seed gives the
same mask for float32 and float64 inputs.

Reference: Srivastava et al., "Dropout: A Simple Way to Prevent Neural
Networks from Overfitting", JMLR 2014.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class DropoutCache(NamedTuple):
    mask: np.ndarray | None  # m / (1 - p) in x's dtype; None when dropout was the identity


def check_p(p) -> float:
    """Return ``p`` as a float; ValueError unless 0 <= p < 1."""
    if not isinstance(p, (int, float, np.integer, np.floating)) or not 0 <= p < 1:
        raise ValueError(f"p: expected a dropout probability in [0, 1), given {p!r}")
    return float(p)


def dropout_forward(x: np.ndarray, p: float, rng: np.random.Generator, training: bool = True):
    """x (...) -> (y (...), cache); y is x itself when not training or p == 0 (no random draw)."""
    p = check_p(p)
    if not training or p == 0:
        return x, DropoutCache(None)
    mask = (rng.random(x.shape) >= p).astype(x.dtype)  # 1 = keep, with probability 1 - p
    mask *= 1.0 / (1.0 - p)
    return x * mask, DropoutCache(mask)


def dropout_backward(dout: np.ndarray, cache: DropoutCache) -> np.ndarray:
    """dout (...) -> dx (...): the same mask and scale as the forward pass."""
    return dout if cache.mask is None else dout * cache.mask
