"""Argument checks shared by every public entry point.

Each check raises ``ValueError`` (or ``TypeError`` for a wrong kind of
object) naming the argument, what was expected and what was given. Nothing
is ever broadcast silently: shapes must match exactly.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
NUMERIC_KINDS = "biufc"  # bool, signed and unsigned integers, floats, complex: what np.number and np.bool_ cover


def as_float_dtype(dtype) -> np.dtype:
    """``"float32"``, ``"float64"`` or a NumPy float dtype -> ``np.dtype``."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"dtype: expected 'float32' or 'float64', given {dtype!r}") from exc
    if dt not in FLOAT_DTYPES:
        raise ValueError(f"dtype: expected 'float32' or 'float64', given {dtype!r}")
    return dt


def check_array(name: str, a, shape: Sequence[int | None], dtype: np.dtype, finite: bool = True) -> np.ndarray:
    """Return ``a`` as a ``dtype`` array of exactly ``shape`` (``None`` = any size).

    Raises ``ValueError`` naming ``name`` on a wrong rank, a wrong size or a
    non-finite value. (Called on every generation step: the messages are only
    built when they are raised.)
    """
    arr = np.asarray(a)
    kind = arr.dtype.kind
    if kind not in NUMERIC_KINDS:
        raise ValueError(f"{name}: expected a numeric array, given dtype {arr.dtype}")
    if not _fits(arr.shape, shape):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        if arr.ndim != len(shape):
            raise ValueError(f"{name}: expected a {len(shape)}-D array of shape {want}, given shape {arr.shape}")
        raise ValueError(f"{name}: expected shape {want}, given shape {arr.shape}")
    arr = arr.astype(dtype, copy=False)
    if finite and kind in "fc" and not np.isfinite(arr).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"{name}: expected finite values, given {arr[bad]} at index {bad}")
    return arr


def _fits(given: tuple, shape: Sequence[int | None]) -> bool:
    if len(given) != len(shape):
        return False
    for want, got in zip(shape, given):
        if want is not None and want != got:
            return False
    return True


def check_lengths(lengths, batch: int, steps: int) -> np.ndarray | None:
    """Validate per-sequence lengths: ``batch`` integers, each in ``1..steps``.

    Returns an ``int64`` array, or ``None`` when every length equals ``steps``
    (nothing is padded, so the layers can skip masking).
    """
    if lengths is None:
        return None
    arr = np.asarray(lengths)
    if arr.ndim != 1 or arr.shape[0] != batch:
        raise ValueError(f"lengths: expected {batch} lengths (one per sequence in the batch), given shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(arr == np.round(arr)):
            raise ValueError(f"lengths: expected integers, given {arr.tolist()}")
    arr = arr.astype(np.int64)
    bad = np.flatnonzero((arr < 1) | (arr > steps))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"lengths: expected every length in 1..{steps} (the time dimension of x), "
                         f"given lengths[{i}] = {arr[i]}")
    return None if np.all(arr == steps) else arr
