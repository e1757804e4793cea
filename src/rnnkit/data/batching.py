"""Cutting data into batches.

Truncated BPTT streams (language models): the token sequence is cut into B
parallel streams of length L laid side by side, and each training step takes
the next ``bptt`` columns, so the state at the end of one chunk is the right
initial state for the next one in every stream:

    X = ids[o : o + B·L].reshape(B, L),  Y = ids[o + 1 : o + 1 + B·L].reshape(B, L)
    step k: x = X[:, k·bptt : (k+1)·bptt], y = the same columns of Y

Whole sequences (classifiers): ``bucket_batches`` groups examples of similar
length so that a right-padded batch (``pad_sequences``) wastes few steps. For
evaluation, ``length_batches`` sorts by length and cuts, and ``by_length`` runs
a function on those padded batches and gives each sequence its part back.
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np


def stream_length(n_tokens: int, batch_size: int, max_offset: int = 0) -> int:
    """L, the per-stream length, the same whatever the epoch's offset in [0, max_offset]."""
    return (n_tokens - 1 - max_offset) // batch_size


def stream_steps(n_tokens: int, batch_size: int, bptt: int) -> int:
    """Chunks per epoch for :func:`stream_batches` with offsets up to ``bptt − 1``."""
    return math.ceil(stream_length(n_tokens, batch_size, bptt - 1) / bptt)


def stream_batches(ids: np.ndarray, batch_size: int, bptt: int, offset: int = 0,
                   length: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (x, y) chunks of shape (B, ≤ bptt): inputs and next-token targets."""
    L = stream_length(len(ids), batch_size, offset) if length is None else length
    X = ids[offset:offset + batch_size * L].reshape(batch_size, L)
    Y = ids[offset + 1:offset + 1 + batch_size * L].reshape(batch_size, L)
    for k in range(0, L, bptt):
        yield X[:, k:k + bptt], Y[:, k:k + bptt]


def pad_sequences(seqs: list[np.ndarray], pad: int | float = 0, dtype=None) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad a list of (T_i, ...) arrays to (B, max T_i, ...); also return the lengths (B,)."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    first = np.asarray(seqs[0])
    out = np.full((len(seqs), int(lengths.max())) + first.shape[1:], pad, dtype=dtype or first.dtype)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    return out, lengths


def bucket_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator,
                   pool: int = 50) -> list[np.ndarray]:
    """Index batches of similar lengths, in a random order: ⌈N / batch_size⌉ of them.

    The indices are shuffled, cut into pools of ``pool`` batches, sorted by length within each pool
    (so a batch pads little) and cut into batches; the batch order is then shuffled again.
    """
    order = rng.permutation(len(lengths))
    size = batch_size * pool
    batches = []
    for start in range(0, len(order), size):
        chunk = order[start:start + size]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def length_batches(lengths, batch_size: int) -> list[np.ndarray]:
    """Index arrays of at most ``batch_size`` sequences of similar lengths (a stable sort by length, cut in
    order), every sequence in one of them."""
    order = np.argsort(lengths, kind="stable")
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


def by_length(seqs: list[np.ndarray], fn, batch_size: int) -> list[np.ndarray]:
    """``fn(padded (b, T, ...), lengths (b,)) -> (b, T, ...)`` run on :func:`length_batches` of ``seqs``;
    each sequence's (T_i, ...) part of the results, in the sequences' order."""
    out: list = [None] * len(seqs)
    for idx in length_batches([len(s) for s in seqs], batch_size):
        x, lengths = pad_sequences([seqs[i] for i in idx])
        result = fn(x, lengths)
        for row, i in enumerate(idx):
            out[i] = result[row, :lengths[row]]
    return out
