"""Embedding lookup: integer ids -> rows of a (V, E) table.

Dimensions: V = number of embeddings (vocabulary size), E = embedding size,
N = number of ids after flattening (B·T for a batch of sequences).

    y[..., :] = W[ids[...], :]             ids (...) -> y (..., E)

Backward: each row of W receives the sum of the upstream gradients of every
position that looked it up (an id repeated k times gets k contributions),

    dW[v] = Σ_{n : ids_n = v} dy_n,        dW[padding_idx] = 0.

The scatter-add sorts the ids and sums each run of equal ids with
``np.add.reduceat``. Measured on NumPy 2.4 (N = 700..3200, V = 65..30000,
E = 128..650), it was 1.2-4x faster than ``np.add.at`` in float32 and within
25% of it in float64, and 2-10x faster than one ``np.bincount`` per column; it
also does not rely on ``np.add.at``, which was >10x slower in older NumPy
(numpy/numpy#5922). One flattened ``np.bincount`` wins in float64 but always
accumulates in float64, so float32 pays for casting a (V, E) array.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class EmbeddingCache(NamedTuple):
    ids: np.ndarray          # (...) int
    num_embeddings: int      # V
    padding_idx: int | None  # row that gets no gradient, in 0..V-1


def check_ids(ids, num_embeddings: int) -> np.ndarray:
    """Return ``ids`` as an integer array; ValueError on a non-integer dtype or an id outside 0..V-1."""
    arr = np.asarray(ids)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"ids: expected an integer array, given dtype {arr.dtype}")
    bad = np.flatnonzero((arr < 0) | (arr >= num_embeddings))
    if bad.size:
        pos = np.unravel_index(bad[0], arr.shape)
        where = "[" + ", ".join(str(int(i)) for i in pos) + "]"
        raise ValueError(f"ids: expected ids in 0..{num_embeddings - 1} (num_embeddings = {num_embeddings}), "
                         f"given ids{where} = {arr[pos]}")
    return arr


def embedding_forward(ids, weight: np.ndarray, padding_idx: int | None = None):
    """Look up rows: ids (...) int, weight (V, E) -> (y (..., E), cache). Ids are range-checked."""
    ids = check_ids(ids, weight.shape[0])
    return weight[ids], EmbeddingCache(ids, weight.shape[0], padding_idx)


def embedding_backward(dout: np.ndarray, cache: EmbeddingCache) -> np.ndarray:
    """dout (..., E) -> dweight (V, E), in dout's dtype; there is no gradient for the ids."""
    ids, num_embeddings, padding_idx = cache
    dim = dout.shape[-1]
    dweight = np.zeros((num_embeddings, dim), dtype=dout.dtype)
    flat = ids.reshape(-1)  # (N,)
    if flat.size:
        order = np.argsort(flat, kind="stable")
        sorted_ids = flat[order]
        starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])  # first of each run
        # in the forward pass row v was copied to every position holding v, so now those rows add up
        dweight[sorted_ids[starts]] = np.add.reduceat(dout.reshape(-1, dim)[order], starts, axis=0)
    if padding_idx is not None:
        dweight[padding_idx] = 0
    return dweight
