"""Losses and the softmax helpers. Each loss returns ``(loss, dlogits)``.

Dimensions: V = number of classes (vocabulary size); ``...`` = any leading
axes, e.g. (B, T) for a batch of sequences or (N,) for a batch of examples.
``mask`` marks the real entries (1 or True) and the padding (0 or False);
every loss is the mean over the real entries, R = Σ mask, and ``dlogits`` is
the gradient of that scalar with respect to the logits (zero on padding).

    log_softmax(z)_v = z_v - max(z) - log Σ_u exp(z_u - max(z))
    cross-entropy:   L = -(1/R) Σ_n m_n log softmax(z_n)[y_n]
                     dL/dz_n = (m_n / R) (softmax(z_n) - onehot(y_n))
    BCE on logits:   ℓ(z, y) = max(z, 0) - z y + log(1 + exp(-|z|))
                     dℓ/dz = σ(z) - y
    MSE:             L = (1/R) Σ m (p - t)^2,    dL/dp = (2 m / R) (p - t)

Everything is computed in the logits' dtype (float32 or float64); the loss is
a NumPy scalar of that dtype. Targets at padded positions are ignored, so they
may hold any value (e.g. -1 for a padded class id).
"""
from __future__ import annotations

import numpy as np

from rnnkit._checks import FLOAT_DTYPES, check_array


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Stable log-softmax along ``axis``."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Stable softmax along ``axis``."""
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _check_logits(name: str, logits) -> np.ndarray:
    arr = np.asarray(logits)
    if arr.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{name}: expected a float32 or float64 array, given dtype {arr.dtype}")
    return arr


def _check_mask(mask, shape: tuple, dtype: np.dtype, of: str) -> tuple[np.ndarray | None, int]:
    """Return (the mask as 0/1 in ``dtype`` or None for all-real, the number of real entries R)."""
    if mask is None:
        real = int(np.prod(shape))
        if real == 0:
            raise ValueError(f"{of}: expected at least one entry to average over, given an empty array")
        return None, real
    m = check_array("mask", mask, shape, np.dtype(np.float64))
    if not np.all((m == 0) | (m == 1)):
        raise ValueError(f"mask: expected 0/1 or bool values, given {np.unique(m)[:5].tolist()}")
    real = int(m.sum())
    if real == 0:
        raise ValueError(f"mask: expected at least one real (nonzero) entry, given no real entry in shape {m.shape}")
    return m.astype(dtype), real


def _weights(mask: np.ndarray | None, real: int, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """m / R in ``dtype``: the weight of each entry in the mean."""
    return np.full(shape, 1.0 / real, dtype=dtype) if mask is None else mask * (1.0 / real)


def _check_targets(targets, shape: tuple, num_classes: int, real_pos: np.ndarray) -> np.ndarray:
    """Integer class ids of ``shape``, each in 0..V-1 where ``real_pos`` is True."""
    t = np.asarray(targets)
    if not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"targets: expected integer class ids, given dtype {t.dtype}")
    t = check_array("targets", t, shape, t.dtype)
    bad = np.argwhere(real_pos & ((t < 0) | (t >= num_classes)))
    if bad.size:
        pos = tuple(int(i) for i in bad[0])
        raise ValueError(f"targets: expected class ids in 0..{num_classes - 1} (V = {num_classes}), "
                         f"given targets[{', '.join(map(str, pos))}] = {t[pos]}")
    return t


def softmax_cross_entropy(logits, targets, mask=None):
    """Mean cross-entropy over real positions.

    Args:
        logits: (..., V) float32/float64 unnormalised scores.
        targets: (...) int class ids in 0..V-1 (checked at real positions only).
        mask: optional (...) 0/1 or bool; 1 = real position.

    Returns:
        (loss scalar, dlogits (..., V)), both in the logits' dtype.
    """
    logits = _check_logits("logits", logits)
    if logits.ndim == 0:
        raise ValueError("logits: expected an array of shape (..., V), given a scalar")
    lead, num_classes = logits.shape[:-1], logits.shape[-1]
    mask, real = _check_mask(mask, lead, logits.dtype, "logits")
    real_pos = np.ones(lead, dtype=bool) if mask is None else mask != 0
    t = _check_targets(targets, lead, num_classes, real_pos)
    z = logits.reshape(-1, num_classes)                   # (N, V)
    y = np.where(real_pos, t, 0).reshape(-1)              # (N,) padding points at class 0
    w = _weights(mask, real, lead, logits.dtype).reshape(-1)  # (N,) m_n / R
    rows = np.arange(y.size)
    zmax = z.max(axis=1, keepdims=True)                   # (N, 1)
    dz = z - zmax
    np.exp(dz, out=dz)                                    # exp(z - max), in place: one (N, V) buffer
    sums = dz.sum(axis=1)                                 # (N,)
    loss = -np.sum(w * (z[rows, y] - zmax[:, 0] - np.log(sums)))  # log softmax(z_n)[y_n]
    dz *= (w / sums)[:, None]                             # (m_n / R) softmax(z_n)
    dz[rows, y] -= w                                      # - (m_n / R) onehot(y_n)
    return logits.dtype.type(loss), dz.reshape(logits.shape)


def binary_cross_entropy_with_logits(logits, targets, mask=None):
    """Mean log-loss of sigmoid(logits) against targets in [0, 1], over real entries.

    logits, targets and mask (optional, 0/1 or bool) all have the same shape.
    Returns (loss scalar, dlogits) in the logits' dtype.
    """
    z = _check_logits("logits", logits)
    y = check_array("targets", targets, z.shape, z.dtype)
    if not np.all((y >= 0) & (y <= 1)):
        bad = tuple(int(i) for i in np.argwhere((y < 0) | (y > 1))[0])
        raise ValueError(f"targets: expected values in [0, 1], given targets{list(bad)} = {y[bad]}")
    mask, real = _check_mask(mask, z.shape, z.dtype, "logits")
    w = _weights(mask, real, z.shape, z.dtype)
    e = np.exp(-np.abs(z))                                # in (0, 1]: never overflows
    loss = np.sum(w * (np.maximum(z, 0) - z * y + np.log1p(e)))
    sigmoid = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return z.dtype.type(loss), w * (sigmoid - y)


def mse(pred, target, mask=None):
    """Mean squared error over real entries (torch's MSELoss(reduction='mean') without a mask).

    pred, target and mask (optional, 0/1 or bool) all have the same shape.
    Returns (loss scalar, dpred) in pred's dtype.
    """
    p = _check_logits("pred", pred)
    t = check_array("target", target, p.shape, p.dtype)
    mask, real = _check_mask(mask, p.shape, p.dtype, "pred")
    w = _weights(mask, real, p.shape, p.dtype)
    diff = p - t
    return p.dtype.type(np.sum(w * diff * diff)), 2 * w * diff
