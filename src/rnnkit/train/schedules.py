"""Learning-rate schedules, as a function of the step and the fraction of the budget used.

    constant:  lr_t = lr
    step:      lr_t = lr · γ^⌊t / s⌋                (--lr-step s, --lr-gamma γ)
    cosine:    lr_t = lr · ½ (1 + cos(π p))         p ∈ [0, 1]: the fraction of the budget spent
"""
from __future__ import annotations

import math


def learning_rate(schedule: str, lr: float, step: int, progress: float,
                  lr_step: int = 1000, lr_gamma: float = 0.5) -> float:
    """The learning rate at ``step`` (0-based) with ``progress`` ∈ [0, 1] of the budget spent."""
    if schedule == "constant":
        return lr
    if schedule == "step":
        return lr * lr_gamma ** (step // lr_step)
    if schedule == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))
    raise ValueError(f"schedule: expected constant, step or cosine, given {schedule!r}")
