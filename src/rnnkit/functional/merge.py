"""How a bidirectional layer joins its two directions (Keras' ``Bidirectional(merge_mode=...)``).

Legend: T time steps, B batch, H units per direction; y→ and y← (T, B, H) are
the forward and reverse outputs.

    concat   y = [y→ ; y←]   (T, B, 2H)   PyTorch's and rnnkit's default
    sum      y = y→ + y←      (T, B, H)
    mul      y = y→ ⊙ y←      (T, B, H)
    ave      y = (y→ + y←)/2  (T, B, H)

Backward: concat splits dy; sum gives dy to both; mul gives dy ⊙ y← and
dy ⊙ y→; ave gives dy / 2 to both.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

MERGE_MODES = ("concat", "sum", "mul", "ave")


class MergeCache(NamedTuple):
    mode: str
    parts: tuple   # the direction outputs (kept for mul), or their widths


def merge_forward(parts: list, mode: str = "concat"):
    """The outputs of one layer's directions (1 or 2 arrays (T, B, H)) -> (y, cache)."""
    if len(parts) == 1:
        return parts[0], MergeCache("single", ())
    fwd, bwd = parts
    if mode == "concat":
        return np.concatenate(parts, axis=-1), MergeCache(mode, (fwd.shape[-1],))
    if mode == "mul":
        return fwd * bwd, MergeCache(mode, (fwd, bwd))
    y = fwd + bwd
    if mode == "ave":
        y *= 0.5
    return y, MergeCache(mode, ())


def merge_backward(dy: np.ndarray, cache: MergeCache) -> list:
    """dy -> the gradients of the direction outputs, in order."""
    mode, parts = cache
    if mode == "single":
        return [dy]
    if mode == "concat":
        return [dy[..., :parts[0]], dy[..., parts[0]:]]
    if mode == "mul":
        return [dy * parts[1], dy * parts[0]]
    return [dy * 0.5] * 2 if mode == "ave" else [dy, dy]
