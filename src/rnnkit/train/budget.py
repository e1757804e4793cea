"""How long a run trains: epochs, optimizer steps and wall-clock seconds, whichever ends first.

A run given none of ``--epochs``, ``--max-steps`` and ``--time-limit`` trains for its task's default
number of epochs. The totals are for the whole run, so a resumed run goes on to the same end.
"""
from __future__ import annotations

from dataclasses import dataclass

from rnnkit.train.config import TrainConfig
from rnnkit.train.state import TrainState


@dataclass(frozen=True)
class Budget:
    """The limits of one run (``None``: no such limit) and the steps of one epoch."""

    epochs: int | None
    max_steps: int | None
    time_limit: float | None
    steps_per_epoch: int

    @classmethod
    def of(cls, config: TrainConfig, steps_per_epoch: int, default_epochs: int) -> "Budget":
        no_budget = config.epochs is None and config.max_steps is None and config.time_limit is None
        return cls(default_epochs if no_budget else config.epochs, config.max_steps, config.time_limit,
                   max(1, steps_per_epoch))

    @property
    def total_steps(self) -> int | None:
        """The step at which training ends, if a step limit applies (the nearer of epochs and max_steps)."""
        limits = [n for n in (self.max_steps, self.epochs and self.epochs * self.steps_per_epoch) if n]
        return min(limits) if limits else None

    def fraction(self, state: TrainState) -> float:
        """How much of the budget ``state`` has used, in [0, 1] (the larger of steps and time)."""
        total, limit = self.total_steps, self.time_limit
        parts = [state.step / total] if total else []
        parts += [state.elapsed / limit] if limit else []
        return max(parts) if parts else 0.0

    def spent(self, state: TrainState) -> bool:
        """Whether a run at ``state`` has reached a limit."""
        total, limit = self.total_steps, self.time_limit
        return bool((total and state.step >= total) or (limit and state.elapsed >= limit))
