"""Drawing the next token from a model's logits: temperature, top-k, top-p.

    p_i ∝ exp(z_i / τ)                  temperature τ (τ → 0: greedy, τ = 1: the model's own)
    top-k: keep the k largest p_i       top-p (nucleus): keep the smallest set with Σ p_i ≥ p

then renormalise and draw (the notes' "sampling novel sequences").
"""
from __future__ import annotations

import numpy as np

from rnnkit.errors import RnnkitError


def check_sampling(temperature: float, top_k: int | None, top_p: float | None) -> None:
    if not temperature > 0:
        raise RnnkitError(f"--temperature: expected a positive number, given {temperature!r}")
    if top_k is not None and top_k < 1:
        raise RnnkitError(f"--top-k: expected a positive integer, given {top_k!r}")
    if top_p is not None and not 0 < top_p <= 1:
        raise RnnkitError(f"--top-p: expected a number in (0, 1], given {top_p!r}")


def next_token_probs(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None,
                     top_p: float | None = None) -> np.ndarray:
    """(V,) logits -> (V,) float64 probabilities after temperature, top-k and top-p."""
    z = np.asarray(logits, dtype=np.float64)
    if temperature != 1:
        z = z / temperature
    p = np.exp(z - z.max())
    p /= p.sum()
    if top_k is not None and top_k < p.size:
        cut = np.partition(p, -top_k)[-top_k]
        p = np.where(p >= cut, p, 0.0)
        p /= p.sum()
    if top_p is not None and top_p < 1:
        order = np.argsort(-p, kind="stable")
        keep = np.cumsum(p[order]) - p[order] < top_p  # the first token is always kept
        mask = np.zeros_like(p, dtype=bool)
        mask[order[keep]] = True
        p = np.where(mask, p, 0.0)
        p /= p.sum()
    return p


def draw(probs: np.ndarray, u: float) -> int:
    """The index drawn from ``probs`` by the inverse CDF at u ∈ [0, 1) (``rng.random()``): the first
    whose cumulative probability exceeds u times the total (robust to rounding)."""
    c = np.cumsum(probs)
    return int(min(np.searchsorted(c, u * c[-1], side="right"), probs.size - 1))
