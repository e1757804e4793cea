"""Gradient clipping: by the global L2 norm and by value, in place.

Both act on a dict of gradient arrays, as given by ``model.gradients()``, and
return the global norm *before* clipping (for logging and divergence checks)::

    norm = sqrt(sum over every array g, every entry i, of g_i^2)   (in float64)

    clip_grad_norm:   g = g * max_norm / (norm + 1e-6)   for every g, if norm > max_norm
    clip_grad_value:  g_i = min(max(g_i, -clip_value), clip_value)

``clip_grad_norm`` follows PyTorch's ``torch.nn.utils.clip_grad_norm_`` (the
same 1e-6 guard). When the norm is not finite (an inf or nan gradient) both
functions leave every gradient unchanged and return the inf or nan, so the
caller can detect the divergence and skip the step; PyTorch instead scales by
a nan or zero factor (or raises with ``error_if_nonfinite=True``).

References: Pascanu, Mikolov & Bengio, "On the difficulty of training
recurrent neural networks" (2013); Karpathy's min-char-rnn clips by value.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np


def _check(grads: Mapping[str, np.ndarray], name: str, value) -> float:
    """Validate the threshold ``name`` and that every gradient can change in place."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if isinstance(value, bool) or not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name}: expected a finite number > 0, given {value!r}")
    for key, g in grads.items():
        if not isinstance(g, np.ndarray):
            raise TypeError(f"grads[{key!r}]: expected a NumPy array (clipped in place), given {type(g).__name__}")
    return v


def grad_norm(grads: Mapping[str, np.ndarray]) -> float:
    """The global L2 norm of all arrays in ``grads``, accumulated in float64 (0.0 for none)."""
    total = 0.0
    for g in grads.values():
        flat = np.asarray(g, dtype=np.float64).ravel()
        total += float(flat @ flat)
    return math.sqrt(total)


def clip_grad_norm(grads: Mapping[str, np.ndarray], max_norm: float) -> float:
    """Scale all gradients in place so that their global norm is at most ``max_norm``.

    Returns the norm before clipping; a non-finite norm is returned with the
    gradients left unchanged.

    Example::

        >>> import numpy as np
        >>> grads = {"w": np.array([3.0, 0.0]), "b": np.array([-4.0])}
        >>> clip_grad_norm(grads, max_norm=1.0)  # with a model: clip_grad_norm(model.gradients(), 1.0)
        5.0
        >>> grads["w"].round(6), grads["b"].round(6)
        (array([0.6, 0. ]), array([-0.8]))
    """
    max_norm = _check(grads, "max_norm", max_norm)
    norm = grad_norm(grads)
    if math.isfinite(norm) and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for g in grads.values():
            g *= scale
    return norm


def clip_grad_value(grads: Mapping[str, np.ndarray], clip_value: float) -> float:
    """Clamp every gradient entry in place to ``[-clip_value, clip_value]``.

    Returns the global norm before clipping; a non-finite norm is returned
    with the gradients left unchanged.
    """
    clip_value = _check(grads, "clip_value", clip_value)
    norm = grad_norm(grads)
    if math.isfinite(norm):
        for g in grads.values():
            np.clip(g, -clip_value, clip_value, out=g)
    return norm
